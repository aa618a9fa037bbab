/*
 * STAND-IN for Intel's libsgx_dcap_ql.so.1 (see standin-common.h). Linked like Intel's
 * (QuoteGeneration/quote_wrapper/ql/linux/Makefile): DT_NEEDED on libsgx_qe3_logic.so, then
 * libsgx_pce_logic.so.1, so loading it makes qe3_logic's PCE references resolve.
 *
 * Its constructor reads SGX_AESM_ADDR like Intel's _sgx_dcap_ql_init: when set, the library works
 * out of process and sgx_ql_set_path answers SGX_QL_UNSUPPORTED_MODE (0xE03E).
 */
#include <sys/stat.h>
#include "standin-common.h"

#define SGX_QL_ERROR_UNEXPECTED 0xE001u
#define SGX_QL_ERROR_INVALID_PARAMETER 0xE002u
#define SGX_QL_UNSUPPORTED_MODE 0xE03Eu

extern unsigned sgx_ql_init_quote(const uint8_t *, uint8_t *, _Bool, size_t *, uint8_t *);
extern unsigned sgx_ql_get_quote_size(const uint8_t *, uint32_t *);
extern unsigned sgx_ql_get_quote(const uint8_t *, const uint8_t *, uint8_t *, uint8_t *, uint32_t);
extern unsigned sgx_ql_get_keyid(uint8_t *);
extern unsigned sgx_ql_set_enclave_load_policy(unsigned);
extern unsigned sgx_set_qe3_path(const char *);
extern unsigned sgx_set_qpl_path(const char *);
extern unsigned sgx_set_ide_path(const char *);
extern unsigned sgx_set_pce_path(const char *);

static int out_of_process;
static uint8_t default_key_id[256];

/* Exported like Intel's (dcap_ql_wrapper.lds). */
void *sgx_trace_logger_callback_ql = NULL;

__attribute__((constructor)) static void standin_dcap_ql_init(void) {
  uint64_t t0 = now_ns();
  out_of_process = getenv("SGX_AESM_ADDR") != NULL;
  sgx_ql_get_keyid(default_key_id);
  rec_t r;
  rec_begin(&r, "dcap_ql_constructor", t0);
  rec_text(&r, "sgx_aesm_addr", out_of_process ? "set" : "unset");
  rec_end(&r, 0, now_ns(), 1);
}

unsigned sgx_qe_set_enclave_load_policy(unsigned policy) {
  return out_of_process ? SGX_QL_UNSUPPORTED_MODE : sgx_ql_set_enclave_load_policy(policy);
}

unsigned sgx_qe_get_target_info(uint8_t *ti) {
  if (!ti) return SGX_QL_ERROR_INVALID_PARAMETER;
  memset(ti, 0, 512);
  size_t size = 0;
  unsigned e = sgx_ql_init_quote(NULL, NULL, 0, &size, NULL);
  if (e) return e;
  if (size != 32) return SGX_QL_ERROR_UNEXPECTED;
  uint8_t pub[32];
  return sgx_ql_init_quote(NULL, ti, 0, &size, pub);
}

unsigned sgx_qe_get_quote_size(uint32_t *size) {
  if (!size) return SGX_QL_ERROR_INVALID_PARAMETER;
  return sgx_ql_get_quote_size(NULL, size);
}

unsigned sgx_qe_get_quote(const uint8_t *report, uint32_t quote_size, uint8_t *quote) {
  if (!report || !quote) return SGX_QL_ERROR_INVALID_PARAMETER;
  return sgx_ql_get_quote(report, NULL, NULL, quote, quote_size);
}

unsigned sgx_qe_cleanup_by_policy(void) { return out_of_process ? SGX_QL_UNSUPPORTED_MODE : 0; }

/* sgx_dcap_ql_wrapper.cpp: checked path setter (NULL, stat, regular file or link). */
unsigned sgx_ql_set_path(unsigned type, const char *path) {
  uint64_t t0 = now_ns();
  rec_t r;
  rec_begin(&r, "sgx_ql_set_path", t0);
  rec_num(&r, "in.type", type);
  rec_text(&r, "in.path", path);
  script_t sc = script_for("sgx_ql_set_path");
  unsigned ret;
  struct stat st;
  if (out_of_process) ret = SGX_QL_UNSUPPORTED_MODE;
  else if (sc.has_ret) ret = sc.ret;
  else if (!path || lstat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (type == 0) ret = sgx_set_qe3_path(path);
  else if (type == 1) ret = sgx_set_pce_path(path) == 0xF000u ? 0 : SGX_QL_ERROR_INVALID_PARAMETER;
  else if (type == 2) ret = sgx_set_qpl_path(path);
  else if (type == 3) ret = sgx_set_ide_path(path);
  else ret = SGX_QL_ERROR_INVALID_PARAMETER;
  rec_end(&r, ret, now_ns(), 1);
  return ret;
}

unsigned sgx_ql_set_trace_callback(void *cb, unsigned level) {
  (void)level;
  sgx_trace_logger_callback_ql = cb;
  return 0;
}
