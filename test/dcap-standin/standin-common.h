/*
 * STAND-IN for Intel's DCAP quote-generation libraries, for tests on machines without SGX.
 * It copies the shape of Intel's libraries (sonames, DT_NEEDED edges, exported symbols, C ABI,
 * early returns), not their cryptography: its "quotes" are well-formed v3 byte structures whose
 * signatures are patterns. Never ship it.
 *
 * Shared by the stand-in libraries (every helper is static: each .so carries its own copy and the
 * version scripts keep them out of the dynamic symbol table).
 *
 * Two files drive it, both named by environment variables the test sets for the daemon:
 *   SQH_DCAP_STANDIN_SCRIPT  read on every call; lines "<function> ret=0xE016 delay_ms=200".
 *                            ret replaces the function's normal result, delay_ms sleeps first.
 *   SQH_DCAP_STANDIN_RECORD  every call appends one line: "fn=<name> t0=<ns> t1=<ns> conc=<n>
 *                            ret=0x.... in.<arg>=<hex|null|number> out.<arg>=<hex>".
 */
#ifndef SQH_DCAP_STANDIN_COMMON_H
#define SQH_DCAP_STANDIN_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char *buf;
  size_t len, cap;
} rec_t;

static inline void rec_put(rec_t *r, const char *s, size_t n) {
  if (r->len + n + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 256;
    while (r->len + n + 1 > cap) cap *= 2;
    char *nb = realloc(r->buf, cap);
    if (!nb) return;
    r->buf = nb;
    r->cap = cap;
  }
  memcpy(r->buf + r->len, s, n);
  r->len += n;
  r->buf[r->len] = 0;
}

static inline void rec_str(rec_t *r, const char *s) { rec_put(r, s, strlen(s)); }

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void rec_begin(rec_t *r, const char *fn, uint64_t t0) {
  char tmp[160];
  r->buf = NULL;
  r->len = r->cap = 0;
  snprintf(tmp, sizeof tmp, "fn=%s pid=%d t0=%llu", fn, (int)getpid(), (unsigned long long)t0);
  rec_str(r, tmp);
}

static inline void rec_num(rec_t *r, const char *key, unsigned long long v) {
  char tmp[128];
  snprintf(tmp, sizeof tmp, " %s=%llu", key, v);
  rec_str(r, tmp);
}

/* Bytes as lowercase hex; NULL pointers as "null". */
static inline void rec_bytes(rec_t *r, const char *key, const void *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  rec_str(r, " ");
  rec_str(r, key);
  rec_str(r, "=");
  if (!p) {
    rec_str(r, "null");
    return;
  }
  const uint8_t *b = p;
  char pair[2];
  for (size_t i = 0; i < n; i++) {
    pair[0] = digits[b[i] >> 4];
    pair[1] = digits[b[i] & 15];
    rec_put(r, pair, 2);
  }
}

static inline void rec_text(rec_t *r, const char *key, const char *s) {
  rec_str(r, " ");
  rec_str(r, key);
  rec_str(r, "=");
  rec_str(r, s ? s : "null");
}

/* One write(2) per line with O_APPEND: lines from one process never interleave. */
static inline void rec_end(rec_t *r, unsigned ret, uint64_t t1, int conc) {
  char tmp[96];
  snprintf(tmp, sizeof tmp, " t1=%llu conc=%d ret=0x%04X\n", (unsigned long long)t1, conc, ret);
  rec_str(r, tmp);
  const char *path = getenv("SQH_DCAP_STANDIN_RECORD");
  if (path && *path && r->buf) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ssize_t w = write(fd, r->buf, r->len);
      (void)w;
      close(fd);
    }
  }
  free(r->buf);
  r->buf = NULL;
}

typedef struct {
  int has_ret;
  unsigned ret;
  long delay_ms;
} script_t;

/* The first line of the script file that names `fn`. The file is re-read on every call, so a test
 * can change the behaviour of a running daemon. */
static inline script_t script_for(const char *fn) {
  script_t s = {0, 0, 0};
  const char *path = getenv("SQH_DCAP_STANDIN_SCRIPT");
  if (!path || !*path) return s;
  FILE *f = fopen(path, "r");
  if (!f) return s;
  char line[512];
  size_t fnlen = strlen(fn);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, fn, fnlen) != 0 || (line[fnlen] != ' ' && line[fnlen] != '\n' && line[fnlen] != 0)) continue;
    for (char *tok = strtok(line + fnlen, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
      if (strncmp(tok, "ret=", 4) == 0) {
        s.has_ret = 1;
        s.ret = (unsigned)strtoul(tok + 4, NULL, 0);
      } else if (strncmp(tok, "delay_ms=", 9) == 0) {
        s.delay_ms = strtol(tok + 9, NULL, 0);
      }
    }
    break;
  }
  fclose(f);
  return s;
}

static inline void script_delay(const script_t *s) {
  if (s->delay_ms <= 0) return;
  struct timespec ts = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* Deterministic filler: recognisable in hex dumps, different per seed. */
static inline void fill_pattern(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 31u);
}

static inline void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The packed QPL structures (sgx_ql_lib_common.h): the QE3 stand-in calls the QPL with them, the QPL stand-in answers. */
#pragma pack(push, 1)
typedef struct {
  uint8_t *p_qe3_id;
  uint32_t qe3_id_size;
  uint8_t *p_platform_cpu_svn;
  uint16_t *p_platform_pce_isv_svn;
  uint8_t *p_encrypted_ppid;
  uint32_t encrypted_ppid_size;
  uint8_t crypto_suite;
  uint16_t pce_id;
} pck_cert_id_t;
typedef struct {
  uint32_t version;
  uint8_t cert_cpu_svn[16];
  uint16_t cert_pce_isv_svn;
  uint32_t cert_data_size;
  uint8_t *p_cert_data;
} ql_config_t;
#pragma pack(pop)

#endif
