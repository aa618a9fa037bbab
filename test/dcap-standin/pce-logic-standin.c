/*
 * STAND-IN for Intel's libsgx_pce_logic.so.1 (see standin-common.h). Same soname and exports as
 * Intel's pce_wrapper.lds; sgx_pce_error_t results (0xF000 | x). The "PCE" is a byte pattern.
 */
#include "standin-common.h"

#define SGX_PCE_SUCCESS 0xF000u
#define SGX_PCE_INVALID_PARAMETER 0xF002u

static unsigned pce_policy;
static char pce_path[260];

#define CALL_BEGIN(name)          \
  uint64_t t0 = now_ns();         \
  rec_t r;                        \
  rec_begin(&r, name, t0);        \
  script_t sc = script_for(name); \
  script_delay(&sc);              \
  unsigned ret = SGX_PCE_SUCCESS;

#define CALL_END() \
  rec_end(&r, ret, now_ns(), 1); \
  return ret;

unsigned sgx_set_pce_enclave_load_policy(unsigned policy) {
  CALL_BEGIN("sgx_set_pce_enclave_load_policy");
  rec_num(&r, "in.policy", policy);
  if (sc.has_ret) ret = sc.ret;
  else if (policy > 1) ret = SGX_PCE_INVALID_PARAMETER;
  else pce_policy = policy;
  CALL_END();
}

unsigned sgx_pce_get_target(uint8_t *p_target /* sgx_target_info_t, 512 */, uint16_t *p_isv_svn) {
  CALL_BEGIN("sgx_pce_get_target");
  if (sc.has_ret) ret = sc.ret;
  else if (!p_target || !p_isv_svn) ret = SGX_PCE_INVALID_PARAMETER;
  else {
    memset(p_target, 0, 512);
    fill_pattern(p_target, 32, 0xc3); /* mr_enclave */
    *p_isv_svn = 13;
    rec_bytes(&r, "out.target", p_target, 512);
  }
  CALL_END();
}

unsigned sgx_get_pce_info(const uint8_t *p_report, const uint8_t *p_public_key, uint32_t key_size, uint8_t crypto_suite,
                          uint8_t *p_encrypted_ppid, uint32_t encrypted_ppid_buf_size, uint32_t *p_encrypted_ppid_out_size,
                          uint16_t *p_pce_isvn, uint16_t *p_pce_id, uint8_t *p_signature_scheme) {
  CALL_BEGIN("sgx_get_pce_info");
  (void)p_report;
  (void)p_public_key;
  rec_num(&r, "in.key_size", key_size);
  rec_num(&r, "in.crypto_suite", crypto_suite);
  if (sc.has_ret) ret = sc.ret;
  else if (!p_encrypted_ppid || encrypted_ppid_buf_size < 384 || !p_encrypted_ppid_out_size || !p_pce_isvn || !p_pce_id || !p_signature_scheme)
    ret = SGX_PCE_INVALID_PARAMETER;
  else {
    fill_pattern(p_encrypted_ppid, 384, 0x77);
    *p_encrypted_ppid_out_size = 384;
    *p_pce_isvn = 13;
    *p_pce_id = 0;
    *p_signature_scheme = 0;
  }
  CALL_END();
}

unsigned sgx_pce_sign_report(const uint16_t *isv_svn, const uint8_t *cpu_svn, const uint8_t *p_report, uint8_t *p_signature,
                             uint32_t signature_buf_size, uint32_t *p_signature_out_size) {
  CALL_BEGIN("sgx_pce_sign_report");
  (void)cpu_svn;
  (void)p_report;
  if (sc.has_ret) ret = sc.ret;
  else if (!isv_svn || !p_signature || signature_buf_size < 64 || !p_signature_out_size) ret = SGX_PCE_INVALID_PARAMETER;
  else {
    fill_pattern(p_signature, 64, 0x5e);
    *p_signature_out_size = 64;
  }
  CALL_END();
}

unsigned sgx_get_pce_info_without_ppid(uint16_t *p_pce_isvsvn, uint16_t *p_pce_id) {
  CALL_BEGIN("sgx_get_pce_info_without_ppid");
  if (sc.has_ret) ret = sc.ret;
  else if (!p_pce_isvsvn || !p_pce_id) ret = SGX_PCE_INVALID_PARAMETER;
  else {
    *p_pce_isvsvn = 13;
    *p_pce_id = 0;
  }
  CALL_END();
}

/* Like Intel's: no NULL check (sgx_ql_set_path checks before calling). */
unsigned sgx_set_pce_path(const char *p_path) {
  CALL_BEGIN("sgx_set_pce_path");
  rec_text(&r, "in.path", p_path);
  if (strlen(p_path) >= sizeof pce_path) ret = SGX_PCE_INVALID_PARAMETER;
  else strcpy(pce_path, p_path);
  CALL_END();
}

