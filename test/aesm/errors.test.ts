// aesm_error_t table (spec §4.3) and the client-side mapping of spec §4.4 / §6.1.
import { describe, expect, it } from 'vitest';
import {
  AESM_ERRORS,
  AESM_OPERATIONS,
  AesmCode,
  AesmError,
  COMMON_STATUS,
  SgxStatus,
  aesmErrorName,
  describeAesmCode,
  isKnownAesmCode,
  quote3ErrorFor,
  quote3ErrorName,
  sgxStatusFor,
  sgxStatusForTransport,
  sgxStatusName,
  type AesmOperation,
} from '../../src/aesm/index.js';

describe('aesm_error_t table', () => {
  it('has every assigned value 0..51 except 27, ascending, with AESM_ names', () => {
    expect(AESM_ERRORS.map((e) => e.code)).toEqual([...Array(52).keys()].filter((c) => c !== 27));
    for (const e of AESM_ERRORS) expect(e.name).toMatch(/^AESM_[A-Z0-9_]+$/);
    expect(new Set(AESM_ERRORS.map((e) => e.name)).size).toBe(51);
  });

  it.each([
    [0, 'AESM_SUCCESS'],
    [1, 'AESM_UNEXPECTED_ERROR'],
    [3, 'AESM_PARAMETER_ERROR'],
    [21, 'AESM_OUT_OF_MEMORY_ERROR'],
    [26, 'AESM_PLATFORM_INFO_BLOB_INVALID_SIG'],
    [28, 'AESM_KDF_MISMATCH'],
    [38, 'AESM_UNSUPPORTED_ATT_KEY_ID'],
    [42, 'AESM_ATT_KEY_NOT_INITIALIZED'],
    [50, 'AESM_KEY_CERTIFICATION_ERROR'],
    [51, 'AESM_CONFIG_UNSUPPORTED'],
  ])('names %i as %s', (code, name) => {
    expect(aesmErrorName(code)).toBe(name);
    expect(isKnownAesmCode(code)).toBe(true);
  });

  it('gives unassigned and out-of-range codes a recognisable name', () => {
    expect(aesmErrorName(27)).toBe('AESM_UNKNOWN_ERROR_27');
    expect(aesmErrorName(52)).toBe('AESM_UNKNOWN_ERROR_52');
    expect(isKnownAesmCode(27)).toBe(false);
  });

  it('AesmError carries code and name', () => {
    const err = new AesmError(AesmCode.ATT_KEY_NOT_INITIALIZED, 'key rotated');
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(42);
    expect(err.aesmName).toBe('AESM_ATT_KEY_NOT_INITIALIZED');
    expect(err.message).toBe('AESM_ATT_KEY_NOT_INITIALIZED (42): key rotated');
  });

  it('AesmError never carries a success or non-uint32 code', () => {
    expect(new AesmError(0).code).toBe(1);
    expect(new AesmError(-5).code).toBe(1);
    expect(new AesmError(2.5).code).toBe(1);
  });

  it('AesmError keeps every uint32 code up to 2^32-1 and refuses fractions above 1 as well', () => {
    const top = new AesmError(0xffffffff);
    expect(top.code).toBe(0xffffffff);
    expect(top.aesmName).toBe('AESM_UNKNOWN_ERROR_4294967295');
    expect(top.message).toBe('AESM_UNKNOWN_ERROR_4294967295 (4294967295)');
    expect(new AesmError(0x1_0000_0000).code).toBe(1);
    // A fraction inside the range: Number.isInteger is what refuses it.
    for (const f of [1.5, 38.5, 0xfffffffe + 0.5]) {
      const e = new AesmError(f, 'x');
      expect(e.code).toBe(1);
      expect(e.message).toBe('AESM_UNEXPECTED_ERROR (1): x');
    }
    expect(new AesmError(Number.NaN).code).toBe(1);
    expect(new AesmError(Number.POSITIVE_INFINITY).code).toBe(1);
    expect(new AesmError(AesmCode.CONFIG_UNSUPPORTED).name).toBe('AesmError');
  });
});

describe('sgx_status_t mapping (spec §4.4)', () => {
  it('step 1: transport failures', () => {
    expect(sgxStatusForTransport('connect-failed')).toBe(0x4001);
    expect(sgxStatusForTransport('timeout')).toBe(0x4002);
    expect(sgxStatusForTransport('bad-response')).toBe(0x0001);
    expect(sgxStatusForTransport('invalid-request')).toBe(0x0002);
    expect(sgxStatusForTransport('out-of-memory')).toBe(0x0003);
  });

  const step2: Array<[number[], number]> = [
    [[0], 0x0000],
    [[1], 0x0001],
    [[2], 0x2006],
    [[3], 0x0002],
    [[12, 13, 14], 0x4007],
    [[17, 30, 46, 48], 0x4001],
    [[18], 0x400a],
    [[20], 0x4006],
    [[21], 0x0003],
    [[31], 0x4012],
  ];
  it('step 2: the common table applies to every operation', () => {
    for (const op of AESM_OPERATIONS) {
      for (const [codes, status] of step2) for (const c of codes) expect(sgxStatusFor(op, c), `${op} ${c}`).toBe(status);
    }
  });

  // Every bold row of §4.4 step 3, and the non-bold ones.
  const step3: Array<[AesmOperation, number, number]> = [
    ['selectAttKeyId', 38, 0x8001],
    ['selectAttKeyId', 42, 0x0001],
    ['selectAttKeyId', 50, 0x0001],
    ['initQuoteEx', 38, 0x8001],
    ['initQuoteEx', 50, 0x8002],
    ['initQuoteEx', 44, 0x8005],
    ['initQuoteEx', 4, 0x4003],
    ['initQuoteEx', 5, 0x4005],
    ['initQuoteEx', 19, 0x400a],
    ['initQuoteEx', 16, 0x0001],
    ['initQuoteEx', 29, 0x2005],
    ['initQuoteEx', 42, 0x0001],
    ['getQuoteSizeEx', 42, 0x8003],
    ['getQuoteSizeEx', 43, 0x0001],
    ['getQuoteSizeEx', 38, 0x8001],
    ['getQuoteSizeEx', 44, 0x0001],
    ['getQuoteEx', 42, 0x8003],
    ['getQuoteEx', 43, 0x0001],
    ['getQuoteEx', 38, 0x8001],
    ['getQuoteEx', 45, 0x3001],
    ['getQuoteEx', 47, 0x3001],
    ['getQuoteEx', 49, 0x0001],
    ['getQuoteEx', 4, 0x4003],
    ['getQuoteEx', 5, 0x4005],
    ['getQuoteEx', 19, 0x400a],
    ['getQuoteEx', 16, 0x0001],
    ['getQuoteEx', 29, 0x2005],
    ['getQuoteEx', 50, 0x0001],
    ['getSupportedAttKeyIdNum', 38, 0x0001],
    ['getSupportedAttKeyIds', 42, 0x0001],
  ];
  it.each(step3)('step 3: %s errorCode %i → %i', (op, code, status) => {
    expect(sgxStatusFor(op, code)).toBe(status);
  });

  it('§6.1: errorCode 38/30/20/18/12 on select → 0x8001/0x4001/0x4006/0x400a/0x4007', () => {
    expect([38, 30, 20, 18, 12].map((c) => sgxStatusFor('selectAttKeyId', c))).toEqual([
      0x8001, 0x4001, 0x4006, 0x400a, 0x4007,
    ]);
  });

  it('§6.1 per-API rows: init 50/44/29/42, size 42/43/38, quote 42/45/47/49/21/3, select 38', () => {
    expect([50, 44, 29, 42].map((c) => sgxStatusFor('initQuoteEx', c))).toEqual([0x8002, 0x8005, 0x2005, 0x0001]);
    expect([42, 43, 38].map((c) => sgxStatusFor('getQuoteSizeEx', c))).toEqual([0x8003, 0x0001, 0x8001]);
    expect([42, 45, 47, 49, 21, 3].map((c) => sgxStatusFor('getQuoteEx', c))).toEqual([
      0x8003, 0x3001, 0x3001, 0x0001, 0x0003, 0x0002,
    ]);
  });

  it('unknown codes fall back to SGX_ERROR_UNEXPECTED', () => {
    for (const op of AESM_OPERATIONS) expect(sgxStatusFor(op, 999)).toBe(0x0001);
  });

  it('step 2 wins over step 3 (30 is SERVICE_UNAVAILABLE even on get-quote)', () => {
    expect(COMMON_STATUS.get(30)).toBe(0x4001);
    expect(sgxStatusFor('getQuoteEx', 30)).toBe(0x4001);
  });

  it('names statuses for logs', () => {
    expect(sgxStatusName(0x8003)).toBe('SGX_ERROR_ATT_KEY_UNINITIALIZED');
    expect(sgxStatusName(SgxStatus.SGX_ERROR_BUSY)).toBe('SGX_ERROR_BUSY');
    expect(sgxStatusName(0x1234)).toBe('SGX_STATUS_0x1234');
  });
});

describe('quote3_error_t mapping (spec §4.4 step 4)', () => {
  it.each([
    [0x0000, 0x0000],
    [0x0001, 0xe001],
    [0x0002, 0xe002],
    [0x0003, 0xe003],
    [0x2006, 0xe03f],
    [0x4001, 0xe040],
    [0x4007, 0xe041],
    [0x4002, 0xe042],
    [0x400a, 0xe043],
    [0x8001, 0xe00b],
    [0x8002, 0xe010],
    [0x8005, 0xe011],
    [0x8003, 0xe00f],
    [0x2005, 0xe001],
    [0x3001, 0xe001],
    [0x4006, 0xe001],
  ])('sgx_status %i → quote3 %i', (sgx, q3) => {
    expect(quote3ErrorFor(sgx)).toBe(q3);
  });

  it('names quote3 errors', () => {
    expect(quote3ErrorName(0xe00f)).toBe('SGX_QL_ATT_KEY_NOT_INITIALIZED');
    expect(quote3ErrorName(0xe040)).toBe('SGX_QL_SERVICE_UNAVAILABLE');
    expect(quote3ErrorName(0xe0ff)).toBe('SGX_QL_ERROR_0xe0ff');
  });

  it('describeAesmCode gives the whole chain, e.g. 42 on GetQuoteEx → 0x8003 → 0xE00F (gotcha 16)', () => {
    expect(describeAesmCode('getQuoteEx', 42)).toEqual({
      aesmCode: 42,
      aesmName: 'AESM_ATT_KEY_NOT_INITIALIZED',
      sgxStatus: 0x8003,
      sgxStatusName: 'SGX_ERROR_ATT_KEY_UNINITIALIZED',
      quote3Error: 0xe00f,
      quote3ErrorName: 'SGX_QL_ATT_KEY_NOT_INITIALIZED',
    });
    expect(describeAesmCode('initQuoteEx', 42).sgxStatus).toBe(0x0001);
  });
});
