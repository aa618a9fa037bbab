/*
 * STAND-IN for Intel's libsgx_qe3_logic.so (see standin-common.h): the sgx_ql_* core family that
 * aesmd's ECDSA bundle calls. Like Intel's library it has undefined references to the PCE functions
 * and no DT_NEEDED on libsgx_pce_logic.so.1 (they bind through whoever loads it: libsgx_dcap_ql.so.1),
 * and it dlopen()s the quote provider library by Intel's names.
 *
 * Behaviour copied from QuoteGeneration/quote_wrapper/quote/{sgx_ql_core_wrapper,qe_logic}.cpp:
 * the early returns, the size query, 0xE00F until the key is initialised, quote size 1052 + cert data
 * (1456 with no QPL: an encrypted PPID, cert type 3), qe_report written only when asked for.
 */
#include <dlfcn.h>
#include <pthread.h>
#include "standin-common.h"

#define SGX_QL_SUCCESS 0x0000u
#define SGX_QL_ERROR_UNEXPECTED 0xE001u
#define SGX_QL_ERROR_INVALID_PARAMETER 0xE002u
#define SGX_QL_UNSUPPORTED_LOADING_POLICY 0xE00Cu
#define SGX_QL_INTERFACE_UNAVAILABLE 0xE00Du
#define SGX_QL_PLATFORM_LIB_UNAVAILABLE 0xE00Eu
#define SGX_QL_ATT_KEY_NOT_INITIALIZED 0xE00Fu
#define SGX_QL_ATT_KEY_CERT_DATA_INVALID 0xE010u
#define SGX_QL_NO_PLATFORM_CERT_DATA 0xE011u
#define SGX_QL_OUT_OF_EPC 0xE012u
#define SGX_QL_ENCLAVE_LOAD_ERROR 0xE016u
#define SGX_QL_KEY_CERTIFCATION_ERROR 0xE018u
#define SGX_QL_ERROR_INVALID_PRIVILEGE 0xE035u

/* Provided by libsgx_pce_logic.so.1 (left undefined here, as in Intel's qe3_logic). */
extern unsigned sgx_pce_get_target(uint8_t *p_target, uint16_t *p_isv_svn);
extern unsigned sgx_get_pce_info(const uint8_t *p_report, const uint8_t *p_public_key, uint32_t key_size, uint8_t crypto_suite,
                                 uint8_t *p_encrypted_ppid, uint32_t buf_size, uint32_t *p_out_size, uint16_t *p_pce_isvn,
                                 uint16_t *p_pce_id, uint8_t *p_signature_scheme);
extern unsigned sgx_pce_sign_report(const uint16_t *isv_svn, const uint8_t *cpu_svn, const uint8_t *p_report, uint8_t *p_signature,
                                    uint32_t signature_buf_size, uint32_t *p_signature_out_size);
extern unsigned sgx_set_pce_enclave_load_policy(unsigned policy);

/* Exported like Intel's (qe3_logic.lds lists them). */
void *sgx_trace_logger_callback = NULL;
unsigned sgx_trace_loglevel = 0;

static const uint8_t QE3_MRSIGNER[32] = {0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a,
                                         0x00, 0x56, 0xac, 0x8d, 0xed, 0x70, 0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff};
static const uint8_t INTEL_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static unsigned qe_policy;
static int qe_loaded;
static unsigned key_generation; /* 0: no attestation key yet (fresh process) */
static char qe3_path[260], qpl_path[260], ide_path[260];
static int in_flight;

/* Every exported call counts itself: conc > 1 in a record means two calls overlapped. */
#define CALL_BEGIN(name)                                           \
  uint64_t t0 = now_ns();                                          \
  int conc = __atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);  \
  rec_t r;                                                         \
  rec_begin(&r, name, t0);                                         \
  script_t sc = script_for(name);                                  \
  script_delay(&sc);                                               \
  unsigned ret = SGX_QL_SUCCESS;

#define CALL_END()                                                          \
  {                                                                         \
    int still = __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST);              \
    __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);                    \
    rec_end(&r, ret, now_ns(), still > conc ? still : conc);                \
  }                                                                         \
  return ret;

/* sgx_ql_core_wrapper.cpp's key-id checks (id, version, mrsigner length and value, prod id, algorithm). */
static int key_id_ok(const uint8_t *k) {
  if (!k) return 1;
  if (k[0] | k[1] | k[2] | k[3]) return 0;
  if (k[4] != 32 || k[5] != 0) return 0;
  if (memcmp(k + 6, QE3_MRSIGNER, 32) != 0) return 0;
  if (k[54] != 1 || k[55] | k[56] | k[57]) return 0;
  if (k[154] != 2 || k[155] | k[156] | k[157]) return 0;
  return 1;
}

/* qe_logic.cpp translate_pce_errors(). */
static unsigned translate_pce(unsigned e) {
  switch (e) {
    case 0xF000: return SGX_QL_SUCCESS;
    case 0xF003: return SGX_QL_OUT_OF_EPC;
    case 0xF004: return SGX_QL_INTERFACE_UNAVAILABLE;
    case 0xF007: return SGX_QL_ERROR_INVALID_PRIVILEGE;
    case 0xF008: return SGX_QL_KEY_CERTIFCATION_ERROR;
    default: return SGX_QL_ERROR_UNEXPECTED;
  }
}

typedef unsigned (*get_config_fn)(const pck_cert_id_t *, ql_config_t **);
typedef unsigned (*free_config_fn)(ql_config_t *);
typedef unsigned (*global_init_fn)(void);

/* qe_logic.cpp get_qpl_handle(): a set path is dlopen()ed as is; otherwise Intel's two names, and
 * sgx_qpl_global_init when exported (a failure closes the library). */
static void *open_qpl(void) {
  if (qpl_path[0]) return dlopen(qpl_path, RTLD_LAZY);
  void *h = dlopen("libdcap_quoteprov.so.1", RTLD_LAZY);
  if (!h) h = dlopen("libdcap_quoteprov.so", RTLD_LAZY);
  if (!h) return NULL;
  global_init_fn init = (global_init_fn)dlsym(h, "sgx_qpl_global_init");
  if (init && init() != SGX_QL_SUCCESS) {
    dlclose(h);
    return NULL;
  }
  return h;
}

static const uint8_t QE_ID[16] = {0x51, 0xe1, 0x0e, 0x1d, 0x5a, 0x17, 0x15, 0x1d, 0x3e, 0x00, 0x9e, 0x1d, 0x51, 0xe1, 0x0e, 0x1d};
static const uint8_t RAW_CPU_SVN[16] = {0x0f, 0x0f, 0x02, 0x04, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

/* Platform cert data from the QPL: SGX_QL_PLATFORM_LIB_UNAVAILABLE when none is usable (then the
 * raw TCB, i.e. the encrypted PPID, is used); any other QPL error is passed through unchanged. */
static unsigned qpl_cert_data(int with_ppid, uint8_t **out, uint32_t *out_size) {
  void *h = open_qpl();
  if (!h) return SGX_QL_PLATFORM_LIB_UNAVAILABLE;
  get_config_fn get = (get_config_fn)dlsym(h, "sgx_ql_get_quote_config");
  free_config_fn fr = (free_config_fn)dlsym(h, "sgx_ql_free_quote_config");
  if (!get || !fr) {
    dlclose(h);
    return SGX_QL_PLATFORM_LIB_UNAVAILABLE;
  }
  uint8_t ppid[384];
  uint16_t pce_svn = 13;
  fill_pattern(ppid, sizeof ppid, 0x77);
  pck_cert_id_t id = {(uint8_t *)QE_ID, 16, (uint8_t *)RAW_CPU_SVN, &pce_svn, with_ppid ? ppid : NULL, with_ppid ? 384 : 0, 1, 0};
  ql_config_t *cfg = NULL;
  unsigned e = get(&id, &cfg);
  if (e == SGX_QL_SUCCESS) {
    if (!cfg || !cfg->p_cert_data || cfg->version != 1) e = SGX_QL_NO_PLATFORM_CERT_DATA;
    else if (cfg->cert_data_size < 500 || cfg->cert_data_size > 12294) e = SGX_QL_ATT_KEY_CERT_DATA_INVALID;
    else {
      *out = malloc(cfg->cert_data_size);
      memcpy(*out, cfg->p_cert_data, cfg->cert_data_size);
      *out_size = cfg->cert_data_size;
    }
  }
  if (cfg) fr(cfg);
  dlclose(h);
  return e;
}

/* load_qe's work: raw sgx_status_t results, as Intel's. */
static unsigned do_load_qe(void) {
  script_t s = script_for("enclave_load");
  if (s.has_ret) return s.ret;
  qe_loaded = 1;
  return 0;
}

/* sgx_ql_core_wrapper.cpp: raw SDK statuses become quote3_error_t. */
static unsigned translate_load(unsigned e) {
  if (e == 0 || (e >= 0xE001 && e <= 0xE0FF)) return e;
  if (e == 0x4004) return SGX_QL_ERROR_INVALID_PRIVILEGE;
  if (e == 0x0004) return 0xE014;
  if ((e & 0xF000) == 0x2000 || e == 0x3002) return SGX_QL_ENCLAVE_LOAD_ERROR;
  return SGX_QL_ERROR_UNEXPECTED;
}

unsigned sgx_ql_set_enclave_load_policy(unsigned policy) {
  CALL_BEGIN("sgx_ql_set_enclave_load_policy");
  rec_num(&r, "in.policy", policy);
  if (sc.has_ret) ret = sc.ret;
  else if (policy > 1) ret = SGX_QL_UNSUPPORTED_LOADING_POLICY;
  else {
    qe_policy = policy;
    sgx_set_pce_enclave_load_policy(policy);
    if (policy == 1) qe_loaded = 0;
  }
  CALL_END();
}

unsigned sgx_ql_get_keyid(uint8_t *p /* sgx_att_key_id_ext_t, 256 */) {
  CALL_BEGIN("sgx_ql_get_keyid");
  if (!p) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (sc.has_ret) ret = sc.ret;
  else {
    memset(p, 0, 256);
    p[4] = 32;
    memcpy(p + 6, QE3_MRSIGNER, 32);
    p[54] = 1;
    p[154] = 2;
    rec_bytes(&r, "out.att_key_id_ext", p, 256);
  }
  CALL_END();
}

unsigned load_qe(uint64_t *p_eid, uint8_t *p_attr /* sgx_misc_attribute_t, 24 */, uint8_t *p_token /* 1024 */) {
  CALL_BEGIN("load_qe");
  if (sc.has_ret) ret = sc.ret;
  else if (!p_eid || !p_attr || !p_token) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if ((ret = do_load_qe()) == 0) {
    *p_eid = 0x51e10e1dull;
    memset(p_attr, 0, 24);
    put_u64(p_attr, 0x15);     /* secs_attr.flags: INITTED | MODE64BIT | PROVISION_KEY */
    put_u64(p_attr + 8, 0xe7); /* secs_attr.xfrm */
    memset(p_token, 0, 1024);
    rec_bytes(&r, "out.misc_attr", p_attr, 24);
  }
  CALL_END();
}

static void qe_target_info(uint8_t *ti) {
  memset(ti, 0, 512);
  fill_pattern(ti, 32, 0x51); /* mr_enclave */
  put_u64(ti + 32, 0x15);     /* attributes.flags */
  put_u64(ti + 40, 0xe7);     /* attributes.xfrm */
}

unsigned sgx_ql_init_quote(const uint8_t *p_att_key_id, uint8_t *p_qe_target_info, _Bool refresh_att_key, size_t *p_pub_key_id_size,
                           uint8_t *p_pub_key_id) {
  CALL_BEGIN("sgx_ql_init_quote");
  rec_bytes(&r, "in.att_key_id", p_att_key_id, 158);
  rec_num(&r, "in.target_info_ptr", p_qe_target_info != NULL);
  rec_num(&r, "in.refresh", refresh_att_key);
  if (p_pub_key_id_size) rec_num(&r, "in.pub_key_id_size", *p_pub_key_id_size);
  else rec_text(&r, "in.pub_key_id_size", NULL);
  rec_num(&r, "in.pub_key_id_ptr", p_pub_key_id != NULL);
  if (!p_pub_key_id_size || !key_id_ok(p_att_key_id)) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (!p_pub_key_id) *p_pub_key_id_size = 32; /* size query: nothing else happens */
  else if (*p_pub_key_id_size != 32 || !p_qe_target_info) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (sc.has_ret) ret = sc.ret;
  else {
    uint8_t pce_ti[512];
    uint16_t pce_svn;
    ret = translate_pce(sgx_pce_get_target(pce_ti, &pce_svn));
    if (ret == 0) ret = translate_load(do_load_qe());
    if (ret == 0 && (key_generation == 0 || refresh_att_key)) {
      uint8_t ppid[384], sig[64];
      uint32_t ppid_size = 0, sig_size = 0;
      uint16_t isvn = 0, pce_id = 0;
      uint8_t scheme = 0;
      ret = translate_pce(sgx_get_pce_info(NULL, NULL, 384, 1, ppid, sizeof ppid, &ppid_size, &isvn, &pce_id, &scheme));
      if (ret == 0) {
        uint8_t *cert = NULL;
        uint32_t cert_size = 0;
        unsigned q = qpl_cert_data(1, &cert, &cert_size);
        free(cert);
        if (q != SGX_QL_SUCCESS && q != SGX_QL_PLATFORM_LIB_UNAVAILABLE) ret = q;
      }
      if (ret == 0) ret = translate_pce(sgx_pce_sign_report(&isvn, RAW_CPU_SVN, NULL, sig, sizeof sig, &sig_size));
      if (ret == 0) key_generation++;
    }
    if (ret == 0) {
      qe_target_info(p_qe_target_info);
      fill_pattern(p_pub_key_id, 32, (uint8_t)(0x90 + key_generation));
      rec_bytes(&r, "out.target_info", p_qe_target_info, 512);
      rec_bytes(&r, "out.pub_key_id", p_pub_key_id, 32);
    }
  }
  if (p_pub_key_id_size) rec_num(&r, "out.pub_key_id_size", *p_pub_key_id_size);
  CALL_END();
}

/* Size and cert data of the quote the current key would produce. */
static unsigned quote_shape(uint8_t **cert, uint32_t *cert_size, uint16_t *cert_type) {
  if (key_generation == 0) return SGX_QL_ATT_KEY_NOT_INITIALIZED;
  unsigned q = qpl_cert_data(0, cert, cert_size);
  if (q == SGX_QL_PLATFORM_LIB_UNAVAILABLE) {
    /* No QPL: sgx_ql_ppid_rsa3072_encrypted_cert_info_t (enc PPID 384, CPUSVN 16, PCE ISVSVN, PCE ID). */
    *cert = malloc(404);
    fill_pattern(*cert, 384, 0x77);
    memcpy(*cert + 384, RAW_CPU_SVN, 16);
    put_u16(*cert + 400, 13);
    put_u16(*cert + 402, 0);
    *cert_size = 404;
    *cert_type = 3;
    return SGX_QL_SUCCESS;
  }
  *cert_type = 5;
  return q;
}

unsigned sgx_ql_get_quote_size(const uint8_t *p_att_key_id, uint32_t *p_quote_size) {
  CALL_BEGIN("sgx_ql_get_quote_size");
  rec_bytes(&r, "in.att_key_id", p_att_key_id, 158);
  if (!p_quote_size || !key_id_ok(p_att_key_id)) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (sc.has_ret) ret = sc.ret;
  else {
    uint8_t pce_ti[512];
    uint16_t pce_svn, type = 0;
    uint8_t *cert = NULL;
    uint32_t cert_size = 0;
    ret = translate_pce(sgx_pce_get_target(pce_ti, &pce_svn));
    if (ret == 0) ret = translate_load(do_load_qe());
    if (ret == 0) ret = quote_shape(&cert, &cert_size, &type);
    free(cert);
    if (ret == 0) {
      *p_quote_size = 1052 + cert_size;
      rec_num(&r, "out.quote_size", *p_quote_size);
    }
  }
  CALL_END();
}

unsigned sgx_ql_get_quote(const uint8_t *p_app_report /* 432 */, const uint8_t *p_att_key_id, uint8_t *p_qe_report_info /* 960 */,
                          uint8_t *p_quote, uint32_t quote_size) {
  CALL_BEGIN("sgx_ql_get_quote");
  rec_bytes(&r, "in.report", p_app_report, 432);
  rec_bytes(&r, "in.att_key_id", p_att_key_id, 158);
  rec_bytes(&r, "in.qe_report_info", p_qe_report_info, 960);
  rec_num(&r, "in.quote_ptr", p_quote != NULL);
  rec_num(&r, "in.quote_size", quote_size);
  if (!key_id_ok(p_att_key_id) || !p_app_report || !p_quote) ret = SGX_QL_ERROR_INVALID_PARAMETER;
  else if (sc.has_ret) ret = sc.ret;
  else if ((ret = translate_load(do_load_qe())) == 0) {
    uint8_t *cert = NULL;
    uint32_t cert_size = 0;
    uint16_t type = 0;
    ret = quote_shape(&cert, &cert_size, &type);
    uint32_t total = 1052 + cert_size;
    if (ret == 0 && quote_size < total) ret = SGX_QL_ERROR_INVALID_PARAMETER;
    if (ret == 0) {
      uint8_t *q = p_quote;
      put_u16(q, 3);
      put_u16(q + 2, 2);
      put_u32(q + 4, 0);
      put_u16(q + 8, 8);   /* qe_svn */
      put_u16(q + 10, 13); /* pce_svn */
      memcpy(q + 12, INTEL_VENDOR_ID, 16);
      memset(q + 28, 0, 20);
      memcpy(q + 28, QE_ID, 16);
      memcpy(q + 48, p_app_report, 384);
      put_u32(q + 432, total - 436);
      fill_pattern(q + 436, 64, 0x11);                                   /* signature (a pattern: no crypto here) */
      fill_pattern(q + 500, 64, (uint8_t)(0xa0 + key_generation));       /* attest_pub_key */
      memset(q + 564, 0, 384);                                           /* qe_report body */
      memcpy(q + 564, RAW_CPU_SVN, 16);
      fill_pattern(q + 564 + 64, 32, 0x51);                              /* QE3 mr_enclave */
      memcpy(q + 564 + 128, QE3_MRSIGNER, 32);
      put_u16(q + 564 + 256, 1);                                         /* isv_prod_id */
      put_u16(q + 564 + 258, 8);                                         /* isv_svn */
      fill_pattern(q + 564 + 320, 32, 0x33);                             /* report_data */
      fill_pattern(q + 948, 64, 0x44);                                   /* qe_report signature */
      put_u16(q + 1012, 32);
      for (int i = 0; i < 32; i++) q[1014 + i] = (uint8_t)i;             /* fixed auth data 00..1f */
      put_u16(q + 1046, type);
      put_u32(q + 1048, cert_size);
      memcpy(q + 1052, cert, cert_size);
      rec_bytes(&r, "out.quote", q, total);
      if (p_qe_report_info) {
        /* qe_report: a REPORT for app_enclave_target_info. Its report_data carries the nonce and the
         * first 16 bytes of the target's mr_enclave, so a test can see which input bytes were read. */
        uint8_t *rep = p_qe_report_info + 528;
        memset(rep, 0, 432);
        memcpy(rep, RAW_CPU_SVN, 16);
        fill_pattern(rep + 64, 32, 0x51);
        memcpy(rep + 320, p_qe_report_info, 16);
        memcpy(rep + 336, p_qe_report_info + 16, 16);
        fill_pattern(rep + 384, 32, 0x66); /* key_id */
        fill_pattern(rep + 416, 16, 0x88); /* mac */
        rec_bytes(&r, "out.qe_report_info", p_qe_report_info, 960);
      }
    }
    free(cert);
  }
  CALL_END();
}

static unsigned set_path(char *dst, const char *p) {
  if (strlen(p) >= 260) return SGX_QL_ERROR_INVALID_PARAMETER;
  strcpy(dst, p);
  return SGX_QL_SUCCESS;
}

/* Like Intel's: no NULL check and no stat (sgx_ql_set_path in dcap_ql does both). */
unsigned sgx_set_qe3_path(const char *p) {
  CALL_BEGIN("sgx_set_qe3_path");
  rec_text(&r, "in.path", p);
  ret = set_path(qe3_path, p);
  CALL_END();
}
unsigned sgx_set_qpl_path(const char *p) {
  CALL_BEGIN("sgx_set_qpl_path");
  rec_text(&r, "in.path", p);
  ret = set_path(qpl_path, p);
  CALL_END();
}
unsigned sgx_set_ide_path(const char *p) {
  CALL_BEGIN("sgx_set_ide_path");
  rec_text(&r, "in.path", p);
  ret = set_path(ide_path, p);
  CALL_END();
}

/* aesmd calls this once and never closes the handle, so the QPL and its cache stay resident. */
void *get_qpl_handle(void) {
  CALL_BEGIN("get_qpl_handle");
  void *h = open_qpl();
  ret = h ? 1 : 0; /* recorded as 0x0001 when a QPL was found */
  {
    int still = __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
    rec_end(&r, ret, now_ns(), still > conc ? still : conc);
  }
  return h;
}
