/*
 * STAND-IN for a quote provider library (Intel's libdcap_quoteprov.so.1 from
 * libsgx-dcap-default-qpl, or Azure's az-dcap-client): hands the QE3 a "PCK certificate chain".
 * The chain is PEM-shaped text, not real certificates (see standin-common.h).
 * Script "sgx_ql_get_quote_config ret=0xE019" models PCCS trouble; "sgx_qpl_global_init ret=..."
 * a QPL that refuses to start.
 */
#include "standin-common.h"


#define CERT_DATA_SIZE 1200u

unsigned sgx_qpl_global_init(void) {
  uint64_t t0 = now_ns();
  rec_t r;
  rec_begin(&r, "sgx_qpl_global_init", t0);
  script_t sc = script_for("sgx_qpl_global_init");
  unsigned ret = sc.has_ret ? sc.ret : 0;
  rec_end(&r, ret, now_ns(), 1);
  return ret;
}

unsigned sgx_ql_get_quote_config(const pck_cert_id_t *id, ql_config_t **pp) {
  uint64_t t0 = now_ns();
  rec_t r;
  rec_begin(&r, "sgx_ql_get_quote_config", t0);
  script_t sc = script_for("sgx_ql_get_quote_config");
  script_delay(&sc);
  unsigned ret = 0;
  if (!id || !pp) ret = 0xE002;
  else {
    rec_bytes(&r, "in.qe3_id", id->p_qe3_id, id->qe3_id_size);
    rec_num(&r, "in.encrypted_ppid_size", id->encrypted_ppid_size);
    rec_num(&r, "in.crypto_suite", id->crypto_suite);
    if (sc.has_ret) ret = sc.ret;
  }
  if (ret == 0) {
    ql_config_t *c = calloc(1, sizeof *c + CERT_DATA_SIZE);
    c->version = 1;
    memcpy(c->cert_cpu_svn, id->p_platform_cpu_svn, 16);
    c->cert_pce_isv_svn = *id->p_platform_pce_isv_svn;
    c->cert_data_size = CERT_DATA_SIZE;
    c->p_cert_data = (uint8_t *)(c + 1);
    /* Three PEM-shaped blocks (leaf, intermediate, root), NUL-terminated like Intel's QPL output. */
    char *t = (char *)c->p_cert_data;
    size_t per = (CERT_DATA_SIZE - 1) / 3;
    for (int b = 0; b < 3; b++) {
      char *blk = t + b * per;
      memset(blk, 'A' + b, per);
      memcpy(blk, "-----BEGIN CERTIFICATE-----\n", 28);
      memcpy(blk + per - 26, "-----END CERTIFICATE-----\n", 26);
    }
    t[CERT_DATA_SIZE - 1] = 0;
    *pp = c;
  }
  rec_end(&r, ret, now_ns(), 1);
  return ret;
}

unsigned sgx_ql_free_quote_config(ql_config_t *c) {
  free(c);
  return 0;
}
