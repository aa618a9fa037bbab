import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildQuoteV3,
  encodeQuote,
  encodeReportBody,
  INTEL_QE_VENDOR_ID,
  parseQuote,
  pckCertChainPem,
  pckExtensionFromCertificate,
  QUOTE_V3_SIGNED_LENGTH,
  quoteV3SignedData,
  QuoteV3Offsets,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { QUOTE_FILES, td } from './testdata.js';

/** P-256 public key from the quote's raw x‖y (SPKI prefix for an uncompressed P-256 point). */
function p256(xy: Buffer) {
  const spkiPrefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  return createPublicKey({ key: Buffer.concat([spkiPrefix, Buffer.from([4]), xy]), format: 'der', type: 'spki' });
}

describe('parseQuote / encodeQuote on every real quote', () => {
  for (const file of QUOTE_FILES) {
    it(`${file}: byte-identical round trip, consistent lengths, valid S1 over [0, signedLength)`, () => {
      const raw = td(file);
      const q = parseQuote(raw);
      expect(encodeQuote(q).equals(raw)).toBe(true);
      expect(q.raw.equals(raw)).toBe(true);
      expect(q.signedLength + 4 + q.signatureDataLength + q.trailing.length).toBe(raw.length);
      // The attestation key's signature must verify over exactly the signed range: proves the offsets.
      const ok = verify('sha256', raw.subarray(0, q.signedLength), { key: p256(q.attestPubKey), dsaEncoding: 'ieee-p1363' }, q.signature);
      expect(ok).toBe(true);
    });
  }
});

describe('known values', () => {
  it('dcap-qvl sgx_quote (SGX v3)', () => {
    const q = parseQuote(td('dcap-qvl/sgx_quote'));
    expect(q.version).toBe(3);
    expect(q.header.teeType).toBe(0);
    expect(q.header.qeSvn).toBe(10);
    expect(q.header.pceSvn).toBe(15);
    expect(q.header.vendorId.equals(INTEL_QE_VENDOR_ID)).toBe(true);
    expect(q.signedLength).toBe(QUOTE_V3_SIGNED_LENGTH);
    expect(q.signatureDataLength).toBe(4164);
    expect(q.body.type).toBe('sgx');
    if (q.body.type !== 'sgx') throw new Error('unreachable');
    expect(q.body.report.reportData.subarray(0, 13).toString('latin1')).toBe('Hello, world!');
    expect(q.qe.qeAuthData.equals(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(true);
    expect(q.qe.qeReport.isvSvn).toBe(10);
    expect(q.outerCertificationData).toBe(q.qe.certificationData);
    const cd = q.qe.certificationData;
    expect(cd.type).toBe(5);
    if (cd.type !== 5) throw new Error('unreachable');
    expect(cd.data.length).toBe(3548);
    expect(cd.data[cd.data.length - 1]).toBe(0);
    expect(cd.encoding).toBe('pem');
    expect(cd.certificatesPem).toHaveLength(3);
    expect(q.trailing.length).toBe(0);
    const chain = pckCertChainPem(q)!;
    expect(new X509Certificate(chain[0]).subject).toContain('CN=Intel SGX PCK Certificate');
    expect(new X509Certificate(chain[2]).subject).toContain('CN=Intel SGX Root CA');
    expect(pckExtensionFromCertificate(chain[0]).fmspc.toString('hex').toUpperCase()).toBe('00A067110000');
    // S2: the PCK signs the 384-byte QE report exactly as it sits in the quote.
    const leaf = new X509Certificate(chain[0]);
    expect(verify('sha256', q.qe.qeReportRaw, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, q.qe.qeReportSignature)).toBe(true);
  });

  it('mobilecoin hw_quote.dat (SGX v3)', () => {
    const q = parseQuote(td('mobilecoin/hw_quote.dat'));
    expect([q.header.qeSvn, q.header.pceSvn]).toEqual([9, 14]);
    expect(pckExtensionFromCertificate(pckCertChainPem(q)![0]).fmspc.toString('hex')).toBe('00906ed50000');
  });

  it('dcap-qvl tdx_quote (TDX v4, TD 1.0 body, 70 zero bytes trailing)', () => {
    const q = parseQuote(td('dcap-qvl/tdx_quote'));
    expect(q.version).toBe(4);
    expect(q.header.teeType).toBe(0x81);
    expect(q.body.type).toBe('td10');
    expect(q.signedLength).toBe(632);
    expect(q.signatureDataLength).toBe(4300);
    expect(q.trailing.length).toBe(70);
    expect(q.trailing.every((b) => b === 0)).toBe(true);
    expect(q.outerCertificationData.type).toBe(6);
    expect(q.qe.certificationData.type).toBe(5);
    const ext = pckExtensionFromCertificate(pckCertChainPem(q)![0]);
    expect(ext.fmspc.toString('hex').toUpperCase()).toBe('B0C06F000000');
    expect(ext.sgxType).toBe(1);
  });

  it('dcap-qvl tdx_quote_outdated (TDX v5, TD 1.5 body)', () => {
    const q = parseQuote(td('dcap-qvl/tdx_quote_outdated'));
    expect(q.version).toBe(5);
    expect(q.body.type).toBe('td15');
    expect(q.signedLength).toBe(702);
    expect(q.trailing.length).toBe(0);
    if (q.body.type !== 'td15') throw new Error('unreachable');
    expect(q.body.report.rtMr).toHaveLength(4);
    expect(q.body.report.mrServiceTd.length).toBe(48);
    expect(pckExtensionFromCertificate(pckCertChainPem(q)![0]).fmspc.toString('hex').toUpperCase()).toBe('90C06F000000');
  });

  it('go-tdx-guest v4 quote reports its appended ASCII marker as trailing bytes', () => {
    const q = parseQuote(td('go-tdx-guest/tdx_prod_quote_SPR_E4.dat'));
    expect(q.signedLength + 4 + q.signatureDataLength).toBe(4935);
    expect(q.trailing.length).toBe(39);
    expect(q.trailing.toString('latin1')).toContain('extra bytes');
  });

  it('Intel QVL SGX sample: cert type 1 (PPID cleartext, legacy form without PCE-ID), no auth data', () => {
    const q = parseQuote(td('intel-qvl-sampledata/quote.dat'));
    expect(q.qe.qeAuthData.length).toBe(0);
    const cd = q.qe.certificationData;
    expect(cd.type).toBe(1);
    if (cd.type !== 1) throw new Error('unreachable');
    expect(cd.data.length).toBe(34);
    expect(cd.ppid.ppid?.length).toBe(16);
    expect(cd.ppid.cpuSvn.length).toBe(16);
    expect(cd.ppid.pceId).toBeUndefined();
    expect(pckCertChainPem(q)).toBeUndefined();
  });

  it('Intel QVL TDX sample: type 5 chain stored as DER root-first is returned leaf first', () => {
    const q = parseQuote(td('intel-qvl-sampledata/tdx/quote.dat'));
    const cd = q.qe.certificationData;
    if (cd.type !== 5) throw new Error('expected type 5');
    expect(cd.encoding).toBe('der');
    expect(new X509Certificate(cd.certificatesPem[0]).subject).toContain('Root CA');
    const chain = pckCertChainPem(q)!;
    expect(new X509Certificate(chain[0]).subject).toContain('CN=Intel SGX PCK Certificate');
    expect(new X509Certificate(chain[2]).subject).toContain('CN=Intel SGX Root CA');
  });
});

describe('buildQuoteV3 and editing', () => {
  it('rebuilds the simulated quote byte for byte from its parts', () => {
    const raw = td('simulated/sim_quote.bin');
    const q = parseQuote(raw);
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
    expect(buildQuoteV3(parts).equals(raw)).toBe(true);
    expect(quoteV3SignedData(parts.header, parts.reportBody).equals(raw.subarray(0, 432))).toBe(true);
    expectParseError(() => buildQuoteV3({ ...parts, signature: Buffer.alloc(63) }), 'INVALID_VALUE', /signature/, 436);
    expectParseError(() => buildQuoteV3({ ...parts, header: { ...parts.header, userData: Buffer.alloc(16) } }), 'INVALID_VALUE', /userData/);
  });

  it('re-encodes edits and recomputes lengths', () => {
    const q = parseQuote(td('dcap-qvl/sgx_quote'));
    if (q.body.type !== 'sgx') throw new Error('expected SGX');
    q.body.report.reportData = Buffer.alloc(64, 0xab);
    q.qe.qeAuthData = Buffer.alloc(5, 1);
    const q2 = parseQuote(encodeQuote(q));
    if (q2.body.type !== 'sgx') throw new Error('expected SGX');
    expect(q2.body.report.reportData.equals(Buffer.alloc(64, 0xab))).toBe(true);
    expect(q2.qe.qeAuthData.length).toBe(5);
    expect(q2.signatureDataLength).toBe(q.signatureDataLength - 27);
  });

  it('re-encodes a v4 quote from q.qe', () => {
    const q = parseQuote(td('dcap-qvl/tdx_quote'));
    q.qe.qeAuthData = Buffer.alloc(0);
    const q2 = parseQuote(encodeQuote(q));
    expect(q2.qe.qeAuthData.length).toBe(0);
    expect(q2.trailing.length).toBe(70);
  });
});

describe('malformed quotes give SgxParseError naming field and offset', () => {
  const sgx = () => Buffer.from(td('dcap-qvl/sgx_quote'));
  const tdx5 = () => Buffer.from(td('dcap-qvl/tdx_quote_outdated'));

  it('short inputs', () => {
    expectParseError(() => parseQuote(Buffer.alloc(0)), 'TRUNCATED', /quote\.header/, 0);
    expectParseError(() => parseQuote(sgx().subarray(0, 100)), 'TRUNCATED', /reportBody/, 48);
    expectParseError(() => parseQuote(sgx().subarray(0, 434)), 'TRUNCATED', /signatureDataLength/, 432);
    const e = expectParseError(() => parseQuote(sgx().subarray(0, 4599)), 'TRUNCATED', /signatureDataLength/, 432);
    expect(e.message).toMatch(/quote\.signatureDataLength at offset 432/);
  });

  it('oversize input', () => {
    expectParseError(() => parseQuote(Buffer.alloc(1024 * 1024 + 1)), 'OVERSIZE', /^quote$/);
  });

  it('unknown version, key type, TEE type', () => {
    const v = sgx();
    v.writeUInt16LE(6, 0);
    expectParseError(() => parseQuote(v), 'UNSUPPORTED_VERSION', /version/, 0);
    const k = sgx();
    k.writeUInt16LE(3, 2);
    expectParseError(() => parseQuote(k), 'UNSUPPORTED_KEY_TYPE', /attKeyType/, 2);
    const t = sgx();
    t.writeUInt32LE(0x80, 4);
    expectParseError(() => parseQuote(t), 'UNSUPPORTED_TEE_TYPE', /teeType/, 4);
    const t3 = sgx();
    t3.writeUInt32LE(0x81, 4);
    expectParseError(() => parseQuote(t3), 'UNSUPPORTED_TEE_TYPE', /teeType/, 4);
  });

  it('v5 body type and size', () => {
    const b = tdx5();
    b.writeUInt16LE(9, 48);
    expectParseError(() => parseQuote(b), 'UNSUPPORTED_BODY_TYPE', /bodyType/, 48);
    const s = tdx5();
    s.writeUInt32LE(584, 50);
    expectParseError(() => parseQuote(s), 'INCONSISTENT_LENGTH', /bodySize/, 50);
    const m = tdx5();
    m.writeUInt16LE(1, 48);
    m.writeUInt32LE(384, 50);
    expectParseError(() => parseQuote(m), 'INVALID_VALUE', /bodyType/, 48);
  });

  it('inconsistent inner lengths and cert types', () => {
    // v3 with 32-byte auth data: auth size @1012, cert type @1046, cert size @1048, cert data @1052.
    const c = sgx();
    c.writeUInt32LE(c.readUInt32LE(1048) + 1, 1048);
    expectParseError(() => parseQuote(c), 'INCONSISTENT_LENGTH', /certificationData\.size/, 1048);
    const a = sgx();
    a.writeUInt16LE(5000, 1012);
    expectParseError(() => parseQuote(a), 'INCONSISTENT_LENGTH', /qeAuthData\.size/, 1012);
    const t = sgx();
    t.writeUInt16LE(7, 1046);
    expectParseError(() => parseQuote(t), 'UNSUPPORTED_CERT_TYPE', /certificationData\.type/, 1046);
    const n = sgx();
    n.writeUInt16LE(6, 1046);
    expectParseError(() => parseQuote(n), 'UNSUPPORTED_CERT_TYPE', /type/, 1046);
    const p = sgx();
    p.fill(0x41, 1052, 1052 + 100);
    p.fill(0x41, 1052 + 100, 4600);
    expectParseError(() => parseQuote(p), 'INVALID_ENCODING', /certificationData\.data/, 1052);
    const small = sgx();
    small.writeUInt32LE(100, 432);
    expectParseError(() => parseQuote(small), 'INCONSISTENT_LENGTH', /signatureData/);
  });

  it('v4/v5 outer certification data must be type 6', () => {
    const b = tdx5();
    // v5 TD1.5: signature data starts at 702 + 4, outer cert data type at +128.
    b.writeUInt16LE(5, 706 + 128);
    expectParseError(() => parseQuote(b), 'UNSUPPORTED_CERT_TYPE', /certificationData\.type/, 834);
  });

  it('type 1 certification data of the wrong size', () => {
    const b = Buffer.from(td('intel-qvl-sampledata/quote.dat'));
    const q = parseQuote(b);
    q.qe.certificationData = { ...q.qe.certificationData, data: Buffer.alloc(30) } as typeof q.qe.certificationData;
    expectParseError(() => parseQuote(encodeQuote(q)), 'INCONSISTENT_LENGTH', /certificationData\.data/, 1020);
  });
});

describe('QuoteV3Offsets', () => {
  it('point at the parsed fields of a real v3 quote', () => {
    const raw = td('dcap-qvl/sgx_quote');
    const q = parseQuote(raw);
    const O = QuoteV3Offsets;
    expect(raw.readUInt32LE(O.signatureDataLength)).toBe(q.signatureDataLength);
    expect(raw.subarray(O.signature, O.signature + 64).equals(q.signature)).toBe(true);
    expect(raw.subarray(O.attestPubKey, O.attestPubKey + 64).equals(q.attestPubKey)).toBe(true);
    expect(raw.subarray(O.qeReport, O.qeReport + 384).equals(q.qe.qeReportRaw)).toBe(true);
    expect(raw.subarray(O.qeReportSignature, O.qeReportSignature + 64).equals(q.qe.qeReportSignature)).toBe(true);
    expect(raw.readUInt16LE(O.qeAuthDataSize)).toBe(q.qe.qeAuthData.length);
    expect(raw.subarray(O.qeAuthData, O.qeAuthData + 32).equals(q.qe.qeAuthData)).toBe(true);
  });
});

describe('certification data types 1-4 built with buildQuoteV3', () => {
  const base = () => {
    const q = parseQuote(td('simulated/sim_quote.bin'));
    if (q.body.type !== 'sgx') throw new Error('expected SGX');
    return {
      header: { qeSvn: 1, pceSvn: 2, userData: Buffer.alloc(20, 7) },
      reportBody: encodeReportBody(q.body.report),
      signature: q.signature,
      attestPubKey: q.attestPubKey,
      qeReport: q.qe.qeReportRaw,
      qeReportSignature: q.qe.qeReportSignature,
      qeAuthData: q.qe.qeAuthData,
    };
  };
  const tail = (ppidLen: number) => {
    const b = Buffer.alloc(ppidLen + 20, 0x33);
    b.fill(0xcc, 0, ppidLen);
    b.writeUInt16LE(13, ppidLen + 16);
    b.writeUInt16LE(0, ppidLen + 18);
    return b;
  };

  it.each([
    [1, 16, 'ppid'],
    [2, 256, 'encPpid'],
    [3, 384, 'encPpid'],
  ] as const)('type %i carries a %i-byte PPID, CPUSVN, PCESVN and PCE-ID', (type, len, key) => {
    const raw = buildQuoteV3({ ...base(), certificationData: { type, data: tail(len) } });
    const q = parseQuote(raw);
    const cd = q.qe.certificationData;
    if (cd.type !== type) throw new Error(`expected type ${type}`);
    expect(cd.ppid[key]?.length).toBe(len);
    expect(cd.ppid.cpuSvn.equals(Buffer.alloc(16, 0x33))).toBe(true);
    expect(cd.ppid.pceSvn).toBe(13);
    expect(cd.ppid.pceId).toBe(0);
    expect(encodeQuote(q).equals(raw)).toBe(true);
    expect(pckCertChainPem(q)).toBeUndefined();
    expectParseError(() => parseQuote(buildQuoteV3({ ...base(), certificationData: { type, data: tail(len).subarray(1) } })),
      'INCONSISTENT_LENGTH', /certificationData\.data/);
  });

  it('type 4 keeps the PCK leaf bytes', () => {
    const leaf = Buffer.from('3082', 'hex');
    const q = parseQuote(buildQuoteV3({ ...base(), certificationData: { type: 4, data: leaf } }));
    expect(q.qe.certificationData.type).toBe(4);
    expect(q.qe.certificationData.data.equals(leaf)).toBe(true);
    expect(q.header.userData.equals(Buffer.alloc(20, 7))).toBe(true);
  });
});
