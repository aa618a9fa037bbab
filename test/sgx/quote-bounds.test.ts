import { describe, expect, it } from 'vitest';
import { ByteReader, checkFieldSize, checkU64, checkUint, expectExactSize } from '../../src/sgx/bytes.js';
import {
  buildQuoteV3,
  encodeQuote,
  encodeQuoteHeader,
  encodeReportBody,
  MAX_QUOTE_SIZE,
  parseQuote,
  parseQuoteHeader,
  type Quote,
  quoteV3SignedData,
  QuoteV3Offsets,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { td } from './testdata.js';

/**
 * Bounds of the quote parser and its byte reader, each checked at the exact boundary and by the exact
 * field and offset reported (written for mutation testing, docs/mutation-testing.md). Real quotes from
 * test/fixtures/testdata: dcap-qvl's SGX v3 (4600 bytes, signed length 432), TDX v4 (TD 1.0 body, 70
 * trailing bytes) and TDX v5 (TD 1.5 body, signed length 702).
 */
const sgx = () => Buffer.from(td('dcap-qvl/sgx_quote'));
const tdx4 = () => Buffer.from(td('dcap-qvl/tdx_quote'));
const tdx5 = () => Buffer.from(td('dcap-qvl/tdx_quote_outdated'));

describe('ByteReader.need and the encoder-side checks', () => {
  const r = new ByteReader(Buffer.alloc(8), 100);

  it('accepts a read that ends exactly at the end, refuses one byte more', () => {
    expect(() => r.need(0, 8, 'x')).not.toThrow();
    expect(() => r.need(8, 0, 'x')).not.toThrow();
    expect(r.u64(0, 'x')).toBe(0n);
    const e = expectParseError(() => r.need(1, 8, 'x.y'), 'TRUNCATED', /^x\.y$/, 101);
    expect(e.message).toContain('needs 8 bytes, only 7 available');
    expectParseError(() => r.u32(6, 'x.u32'), 'TRUNCATED', /^x\.u32$/, 106);
  });

  it('refuses a negative offset or size (a lying length must not read backwards)', () => {
    expectParseError(() => r.need(-1, 2, 'neg.offset'), 'TRUNCATED', /^neg\.offset$/, 99);
    expectParseError(() => r.need(0, -1, 'neg.size'), 'TRUNCATED', /^neg\.size$/, 100);
    expectParseError(() => r.bytes(-4, 4, 'neg.bytes'), 'TRUNCATED', /^neg\.bytes$/, 96);
  });

  it('reports how much is left, never a negative count', () => {
    expect(expectParseError(() => r.need(20, 4, 'far'), 'TRUNCATED', /^far$/, 120).message).toContain('only 0 available');
  });

  it('expectExactSize: short and long inputs with the offset of the first missing or extra byte', () => {
    const short = expectParseError(() => expectExactSize(Buffer.alloc(3), 4, 's', 10), 'TRUNCATED', /^s$/, 13);
    expect(short.message).toContain('is 3 bytes, expected 4');
    const long = expectParseError(() => expectExactSize(Buffer.alloc(5), 4, 'l', 10), 'OVERSIZE', /^l$/, 14);
    expect(long.message).toContain('is 5 bytes, expected 4');
  });

  it('checkFieldSize says what it got', () => {
    expect(expectParseError(() => checkFieldSize(Buffer.alloc(3), 4, 'f', 7), 'INVALID_VALUE', /^f$/, 7).message).toContain('must be 4 bytes, got 3 bytes');
    expect(expectParseError(() => checkFieldSize(undefined, 4, 'f', 7), 'INVALID_VALUE', /^f$/, 7).message).toContain('got missing');
  });

  it('checkUint: the largest value fits, one more does not', () => {
    expect(checkUint(0xffff, 16, 'u', 0)).toBe(0xffff);
    expect(checkUint(0xffffffff, 32, 'u', 0)).toBe(0xffffffff);
    expect(expectParseError(() => checkUint(0x10000, 16, 'u16', 3), 'INVALID_VALUE', /^u16$/, 3).message).toContain('0..65535, got 65536');
    expectParseError(() => checkUint(-1, 32, 'u32', 0), 'INVALID_VALUE', /^u32$/, 0);
    expectParseError(() => checkUint(1.5, 32, 'u32', 0), 'INVALID_VALUE', /^u32$/, 0);
  });

  it('checkU64: the largest u64 fits, one more, a negative or a number does not', () => {
    expect(checkU64(0xffffffffffffffffn, 'q', 0)).toBe(0xffffffffffffffffn);
    expect(expectParseError(() => checkU64(1n << 64n, 'q', 5), 'INVALID_VALUE', /^q$/, 5).message).toContain('must be a u64 bigint, got 18446744073709551616');
    expectParseError(() => checkU64(-1n, 'q', 0), 'INVALID_VALUE', /^q$/);
    expectParseError(() => checkU64(7 as unknown as bigint, 'q', 0), 'INVALID_VALUE', /^q$/);
  });
});

describe('quote header', () => {
  it('a version 4 or 5 header with an unknown TEE type is refused, not parsed as TDX', () => {
    for (const make of [tdx4, tdx5]) {
      const b = make();
      b.writeUInt32LE(0x42, 4);
      const e = expectParseError(() => parseQuote(b), 'UNSUPPORTED_TEE_TYPE', /^quote\.header\.teeType$/, 4);
      expect(e.message).toContain('TEE type 0x42 is not supported');
    }
  });

  it('names the value it refuses', () => {
    const v = sgx();
    v.writeUInt16LE(6, 0);
    expect(expectParseError(() => parseQuote(v), 'UNSUPPORTED_VERSION', /^quote\.header\.version$/, 0).message).toContain('quote version 6 is not supported');
    const k = sgx();
    k.writeUInt16LE(3, 2);
    expect(expectParseError(() => parseQuote(k), 'UNSUPPORTED_KEY_TYPE', /^quote\.header\.attKeyType$/, 2).message).toContain('attestation key type 3 is not supported');
    const t3 = sgx();
    t3.writeUInt32LE(0x81, 4);
    expect(expectParseError(() => parseQuote(t3), 'UNSUPPORTED_TEE_TYPE', /^quote\.header\.teeType$/, 4).message).toContain('a version 3 quote must be SGX (0), got 0x81');
  });

  it('reports the offset inside an enclosing buffer', () => {
    const b = Buffer.concat([Buffer.alloc(10), sgx()]);
    b.writeUInt16LE(9, 10);
    expectParseError(() => parseQuoteHeader(b, 10), 'UNSUPPORTED_VERSION', /^quote\.header\.version$/, 10);
  });

  it('encodeQuoteHeader names every field it refuses', () => {
    const h = parseQuote(sgx()).header;
    const cases: Array<[Partial<typeof h>, RegExp, number]> = [
      [{ raw: Buffer.alloc(47) }, /^quote\.header\.raw$/, 0],
      [{ version: 0x10000 as 3 }, /^quote\.header\.version$/, 0],
      [{ attKeyType: -1 }, /^quote\.header\.attKeyType$/, 2],
      [{ teeType: 2 ** 32 }, /^quote\.header\.teeType$/, 4],
      [{ qeSvn: 0x10000 }, /^quote\.header\.qeSvn$/, 8],
      [{ pceSvn: 0x10000 }, /^quote\.header\.pceSvn$/, 10],
      [{ vendorId: Buffer.alloc(15) }, /^quote\.header\.vendorId$/, 12],
      [{ userData: Buffer.alloc(21) }, /^quote\.header\.userData$/, 28],
    ];
    for (const [edit, field, offset] of cases) expectParseError(() => encodeQuoteHeader({ ...h, ...edit }), 'INVALID_VALUE', field, offset);
  });
});

describe('quote lengths', () => {
  it('accepts exactly MAX_QUOTE_SIZE bytes (the rest is trailing data), refuses one more', () => {
    const raw = sgx();
    const padded = Buffer.concat([raw, Buffer.alloc(MAX_QUOTE_SIZE - raw.length)]);
    expect(parseQuote(padded).trailing.length).toBe(MAX_QUOTE_SIZE - raw.length);
    const e = expectParseError(() => parseQuote(Buffer.concat([padded, Buffer.alloc(1)])), 'OVERSIZE', /^quote$/, MAX_QUOTE_SIZE);
    expect(e.message).toContain(`is ${MAX_QUOTE_SIZE + 1} bytes`);
  });

  it('refuses input that is not bytes', () => {
    const e = expectParseError(() => parseQuote('quote' as unknown as Uint8Array), 'INVALID_VALUE', /^quote$/, 0);
    expect(e.message).toContain('expected a Buffer or Uint8Array');
  });

  it('a signature data length too small for signature and key is named as such, even at exactly 128 - 1', () => {
    for (const len of [0, 100, 127]) {
      const b = sgx();
      b.writeUInt32LE(len, 432);
      const e = expectParseError(() => parseQuote(b), 'INCONSISTENT_LENGTH', /^quote\.signatureDataLength$/, 432);
      expect(e.message).toContain(`signature data length ${len} is too small`);
    }
    // 128 holds signature and key; then the QE report certification does not fit.
    const b = sgx();
    b.writeUInt32LE(128, 432);
    expectParseError(() => parseQuote(b), 'INCONSISTENT_LENGTH', /^quote\.signatureData$/, 564);
  });

  it('a signature data length beyond the input says how many bytes are present', () => {
    const e = expectParseError(() => parseQuote(sgx().subarray(0, 1000)), 'TRUNCATED', /^quote\.signatureDataLength$/, 432);
    expect(e.message).toContain('exceeds the 564 bytes present');
  });

  it('an input that ends inside the signature or the attestation key names that field', () => {
    const b = sgx();
    b.writeUInt32LE(0, 432);
    expectParseError(() => parseQuote(b.subarray(0, 436 + 10)), 'TRUNCATED', /^quote\.signatureData\.signature$/, 436);
    expectParseError(() => parseQuote(b.subarray(0, 436 + 64 + 10)), 'TRUNCATED', /^quote\.signatureData\.attestPubKey$/, 500);
  });

  it('errors inside the signature data carry the version-specific field path', () => {
    const v3 = sgx();
    v3.writeUInt16LE(5000, QuoteV3Offsets.qeAuthDataSize);
    expectParseError(() => parseQuote(v3), 'INCONSISTENT_LENGTH', /^quote\.signatureData\.qeAuthData\.size$/, 1012);
    const v4 = tdx4();
    v4.writeUInt16LE(9, 636 + 128); // signature data at 632 + 4, outer certification data type at + 128
    expectParseError(() => parseQuote(v4), 'UNSUPPORTED_CERT_TYPE', /^quote\.signatureData\.certificationData\.type$/, 764);
  });

  it('v4 and v5 bodies cut short name the body they are in', () => {
    expectParseError(() => parseQuote(tdx4().subarray(0, 100)), 'TRUNCATED', /^quote\.tdReport$/);
    expectParseError(() => parseQuote(tdx5().subarray(0, 49)), 'TRUNCATED', /^quote\.bodyType$/, 48);
    expectParseError(() => parseQuote(tdx5().subarray(0, 53)), 'TRUNCATED', /^quote\.bodySize$/, 50);
    expectParseError(() => parseQuote(tdx5().subarray(0, 300)), 'TRUNCATED', /^quote\.tdReport$/);
  });

  it('v5 errors name the body type and size they refuse', () => {
    const b = tdx5();
    b.writeUInt16LE(9, 48);
    expect(expectParseError(() => parseQuote(b), 'UNSUPPORTED_BODY_TYPE', /^quote\.bodyType$/, 48).message).toContain('body type 9 is not supported');
    const s = tdx5();
    s.writeUInt32LE(584, 50);
    expect(expectParseError(() => parseQuote(s), 'INCONSISTENT_LENGTH', /^quote\.bodySize$/, 50).message).toContain('body type 3 needs size 648, the quote says 584');
    const m = tdx5();
    m.writeUInt16LE(1, 48);
    m.writeUInt32LE(384, 50);
    expect(expectParseError(() => parseQuote(m), 'INVALID_VALUE', /^quote\.bodyType$/, 48).message).toContain('body type 1 does not match TEE type 0x81');
    const c = tdx5();
    c.writeUInt16LE(5, 706 + 128);
    expect(expectParseError(() => parseQuote(c), 'UNSUPPORTED_CERT_TYPE', /^quote\.signatureData\.certificationData\.type$/, 834).message).toContain(
      'a version 5 quote must carry certification data type 6, got 5',
    );
  });
});

/** The same quote re-encoded as version 5 (body type and size before the body). */
function asV5(q: Quote): Buffer {
  return encodeQuote({ ...q, version: 5, header: { ...q.header, version: 5 } });
}

describe('version 5 quotes of every body type', () => {
  it('an SGX body (type 1) in a v5 quote is parsed as SGX', () => {
    const v3 = parseQuote(sgx());
    const b = asV5(v3);
    expect(b.readUInt16LE(48)).toBe(1);
    expect(b.readUInt32LE(50)).toBe(384);
    const q = parseQuote(b);
    expect(q.version).toBe(5);
    expect(q.body.type).toBe('sgx');
    expect(q.signedLength).toBe(54 + 384);
    if (q.body.type !== 'sgx' || v3.body.type !== 'sgx') throw new Error('expected SGX bodies');
    expect(encodeReportBody(q.body.report).equals(encodeReportBody(v3.body.report))).toBe(true);
    expect(q.qe.qeReportSignature.equals(v3.qe.qeReportSignature)).toBe(true);
    expectParseError(() => parseQuote(b.subarray(0, 100)), 'TRUNCATED', /^quote\.reportBody$/);
  });

  it('a TD 1.0 body (type 2) in a v5 quote is parsed as TD 1.0', () => {
    const v4 = parseQuote(tdx4());
    const b = asV5(v4);
    expect(b.readUInt16LE(48)).toBe(2);
    expect(b.readUInt32LE(50)).toBe(584);
    const q = parseQuote(b);
    expect(q.body.type).toBe('td10');
    expect(q.signedLength).toBe(54 + 584);
    expect(q.body.report).toEqual(v4.body.report);
    expectParseError(() => parseQuote(b.subarray(0, 300)), 'TRUNCATED', /^quote\.tdReport$/);
  });
});

describe('encodeQuote refuses inconsistent quotes, naming the field', () => {
  it('a version that differs from the header', () => {
    const q = parseQuote(sgx());
    expectParseError(() => encodeQuote({ ...q, version: 4 }), 'INVALID_VALUE', /^quote\.version$/, 0);
  });

  it('a body that does not match a v3/v4 header', () => {
    const q4 = parseQuote(tdx4());
    const q3 = parseQuote(sgx());
    const e = expectParseError(() => encodeQuote({ ...q4, body: q3.body }), 'INVALID_VALUE', /^quote\.body\.type$/, 48);
    expect(e.message).toContain('needs a td10 body, got sgx');
    expectParseError(() => encodeQuote({ ...q3, body: q4.body }), 'INVALID_VALUE', /^quote\.body\.type$/, 48);
  });

  it('bad body fields, signature, key and QE data by field and offset', () => {
    const q3 = parseQuote(sgx());
    if (q3.body.type !== 'sgx') throw new Error('expected SGX');
    const sgxReport = q3.body.report;
    expectParseError(() => encodeQuote({ ...q3, body: { type: 'sgx', report: { ...sgxReport, isvSvn: -1 } } }), 'INVALID_VALUE', /^quote\.reportBody\.isvSvn$/);
    expectParseError(() => encodeQuote({ ...q3, signature: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.signature$/, 436);
    expectParseError(() => encodeQuote({ ...q3, attestPubKey: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.attestPubKey$/, 500);
    expectParseError(() => encodeQuote({ ...q3, qe: { ...q3.qe, qeReportSignature: Buffer.alloc(1) } }), 'INVALID_VALUE', /^quote\.signatureData\.qeReportSignature$/);
    const q4 = parseQuote(tdx4());
    if (q4.body.type !== 'td10') throw new Error('expected TD 1.0');
    const td10 = q4.body.report;
    expectParseError(() => encodeQuote({ ...q4, body: { type: 'td10', report: { ...td10, mrTd: Buffer.alloc(1) } } }), 'INVALID_VALUE', /^quote\.tdReport\.mrTd$/);
    expectParseError(() => encodeQuote({ ...q4, signature: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.signature$/, 636);
    expectParseError(() => encodeQuote({ ...q4, attestPubKey: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.attestPubKey$/, 700);
    expectParseError(() => encodeQuote({ ...q4, qe: { ...q4.qe, qeReportSignature: Buffer.alloc(1) } }), 'INVALID_VALUE', /^quote\.qe\.qeReportSignature$/);
    const q5 = parseQuote(tdx5());
    if (q5.body.type !== 'td15') throw new Error('expected TD 1.5');
    const td15 = q5.body.report;
    expectParseError(() => encodeQuote({ ...q5, body: { type: 'td15', report: { ...td15, mrTd: Buffer.alloc(1) } } }), 'INVALID_VALUE', /^quote\.tdReport\.mrTd$/);
  });
});

describe('buildQuoteV3 names each bad part by its offset in the quote', () => {
  const q = parseQuote(td('simulated/sim_quote.bin'));
  if (q.body.type !== 'sgx') throw new Error('expected SGX');
  const cd = q.qe.certificationData;
  const parts = {
    header: { qeSvn: q.header.qeSvn, pceSvn: q.header.pceSvn, userData: q.header.userData },
    reportBody: encodeReportBody(q.body.report),
    signature: q.signature,
    attestPubKey: q.attestPubKey,
    qeReport: q.qe.qeReportRaw,
    qeReportSignature: q.qe.qeReportSignature,
    qeAuthData: q.qe.qeAuthData,
    certificationData: { type: cd.type, data: cd.data },
  };

  it('each part at its QuoteV3Offsets position', () => {
    expectParseError(() => buildQuoteV3({ ...parts, attestPubKey: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.attestPubKey$/, QuoteV3Offsets.attestPubKey);
    expectParseError(() => buildQuoteV3({ ...parts, qeReport: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.qeReport$/, QuoteV3Offsets.qeReport);
    expectParseError(() => buildQuoteV3({ ...parts, qeReportSignature: Buffer.alloc(1) }), 'INVALID_VALUE', /^quote\.signatureData\.qeReportSignature$/, QuoteV3Offsets.qeReportSignature);
    expectParseError(() => buildQuoteV3({ ...parts, qeAuthData: Buffer.alloc(0x10000) }), 'INVALID_VALUE', /^quote\.qeAuthData\.size$/, QuoteV3Offsets.qeAuthDataSize);
    expectParseError(() => buildQuoteV3({ ...parts, qeAuthData: undefined as unknown as Buffer }), 'INVALID_VALUE', /^quote\.qeAuthData$/, QuoteV3Offsets.qeAuthData);
    expectParseError(() => buildQuoteV3({ ...parts, certificationData: { type: 5, data: undefined as unknown as Buffer } }), 'INVALID_VALUE', /^quote\.signatureData\.certificationData\.data$/);
    expectParseError(() => buildQuoteV3({ ...parts, certificationData: { type: 0x10000, data: cd.data } }), 'INVALID_VALUE', /^quote\.signatureData\.certificationData\.type$/);
  });

  it('quoteV3SignedData checks the report body size at its offset', () => {
    expectParseError(() => quoteV3SignedData(parts.header, Buffer.alloc(383)), 'INVALID_VALUE', /^quote\.reportBody$/, 48);
  });
});
