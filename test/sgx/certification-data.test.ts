import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  certificateDer,
  emptyReportBody,
  encodeCertificationData,
  encodeQeReportCertification,
  encodeRawCertificationData,
  parseCertificationData,
  parseQeReportCertification,
  parseQuote,
  pemChainCertificationData,
  type QeReportCertification,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { TESTDATA, td } from './testdata.js';

/**
 * Certification data (sgx_ql_certification_data_t) and the QE report certification, parsed directly at
 * their boundaries: the lengths a quote carries are untrusted, so every one is checked against the
 * enclosing length, and every refusal names the field and the offset (written for mutation testing,
 * docs/mutation-testing.md). The PCK chain certificates are the real ones from test/fixtures/testdata.
 */

/** u16 type ‖ u32 size ‖ data, optionally placed after `pad` bytes. */
function cd(type: number, data: Buffer, pad = 0): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(type, 0);
  head.writeUInt32LE(data.length, 2);
  return Buffer.concat([Buffer.alloc(pad), head, data]);
}

const read = (rel: string) => readFileSync(`${TESTDATA}/${rel}`, 'utf8');
/** The files end without a newline; a parsed chain gives each certificate one. */
const RAW = [read('mobilecoin/leaf_cert.pem'), read('mobilecoin/processor_ca.pem'), read('mobilecoin/root_ca.pem')].map((p) => p.trimEnd());
const CHAIN = RAW.map((p) => `${p}\n`);
const DERS = CHAIN.map((p) => certificateDer(p));

describe('parseCertificationData: the header and size against the enclosing length', () => {
  it('a header that does not fit before the end is refused, naming what is left', () => {
    const buf = Buffer.alloc(32);
    const e = expectParseError(() => parseCertificationData(buf, 4, 9, 'cd', true), 'INCONSISTENT_LENGTH', /^cd$/, 4);
    expect(e.message).toContain('needs a 6-byte header but the enclosing length leaves 5');
    expect(expectParseError(() => parseCertificationData(buf, 12, 9, 'cd', true), 'INCONSISTENT_LENGTH', /^cd$/, 12).message).toContain('leaves 0');
  });

  it('a header that ends exactly at the end, with no data, is accepted', () => {
    expect(parseCertificationData(cd(4, Buffer.alloc(0), 3), 3, 9, 'cd', true)).toEqual({ type: 4, data: Buffer.alloc(0) });
  });

  it('a size that does not match the enclosing length is refused at the size field', () => {
    const buf = cd(4, Buffer.alloc(10), 2);
    const e = expectParseError(() => parseCertificationData(buf, 2, buf.length - 1, 'cd', true), 'INCONSISTENT_LENGTH', /^cd\.size$/, 4);
    expect(e.message).toContain('certification data size 10 does not match the 9 bytes the enclosing length leaves');
  });

  it('an enclosing length beyond the buffer is caught by the reads, field by field', () => {
    expectParseError(() => parseCertificationData(Buffer.alloc(1), 0, 10, 'cd', true), 'TRUNCATED', /^cd\.type$/, 0);
    expectParseError(() => parseCertificationData(Buffer.alloc(5), 0, 10, 'cd', true), 'TRUNCATED', /^cd\.size$/, 2);
    const head = cd(4, Buffer.alloc(0));
    head.writeUInt32LE(10, 2);
    expectParseError(() => parseCertificationData(Buffer.concat([head, Buffer.alloc(4)]), 0, 16, 'cd', true), 'TRUNCATED', /^cd\.data$/, 6);
  });

  it('unknown and nested types name the type field', () => {
    const seven = cd(7, Buffer.alloc(0), 1);
    expect(expectParseError(() => parseCertificationData(seven, 1, 7, 'cd', true), 'UNSUPPORTED_CERT_TYPE', /^cd\.type$/, 1).message).toContain(
      'certification data type 7 is not supported (1-6)',
    );
    const six = cd(6, Buffer.alloc(0), 1);
    expect(expectParseError(() => parseCertificationData(six, 1, 7, 'cd', false), 'UNSUPPORTED_CERT_TYPE', /^cd\.type$/, 1).message).toContain(
      'certification data type 6 cannot be nested inside type 6',
    );
  });

  it('an error inside a type 6 payload carries its path', () => {
    const b = Buffer.from(td('dcap-qvl/tdx_quote'));
    b.writeUInt16LE(60000, 636 + 128 + 6 + 448); // the QE auth data size inside the type 6 payload
    expectParseError(() => parseQuote(b), 'INCONSISTENT_LENGTH', /^quote\.signatureData\.certificationData\.qeReportCertification\.qeAuthData\.size$/, 1218);
  });

  it('PPID data of the wrong size names the expected size', () => {
    const e = expectParseError(() => parseCertificationData(cd(2, Buffer.alloc(100)), 0, 106, 'cd', true), 'INCONSISTENT_LENGTH', /^cd\.data$/, 6);
    expect(e.message).toContain('type 2 certification data must be 276 bytes, got 100');
  });
});

describe('type 5: the PCK certificate chain as PEM or DER', () => {
  it('PEM: the trailing NUL of Intel QPL is cut from the chain text', () => {
    const data = pemChainCertificationData(CHAIN);
    expect(data[data.length - 1]).toBe(0);
    const parsed = parseCertificationData(cd(5, data), 0, data.length + 6, 'cd', true);
    if (parsed.type !== 5) throw new Error('expected type 5');
    expect(parsed.encoding).toBe('pem');
    expect(parsed.pemChain).toBe(CHAIN.join(''));
    expect(parsed.certificatesPem).toEqual(CHAIN);
  });

  it('pemChainCertificationData ends each certificate with a newline and the whole with one NUL', () => {
    expect(pemChainCertificationData([RAW[0], CHAIN[1]]).equals(Buffer.concat([Buffer.from(`${RAW[0]}\n${CHAIN[1]}`, 'latin1'), Buffer.from([0])]))).toBe(true);
    expect(pemChainCertificationData([]).equals(Buffer.from([0]))).toBe(true);
  });

  it('DER: concatenated certificates, NUL padding allowed, become 64-column PEM', () => {
    const data = Buffer.concat([...DERS, Buffer.alloc(3)]);
    const parsed = parseCertificationData(cd(5, data), 0, data.length + 6, 'cd', true);
    if (parsed.type !== 5) throw new Error('expected type 5');
    expect(parsed.encoding).toBe('der');
    expect(parsed.certificatesPem).toHaveLength(3);
    expect(parsed.pemChain).toBe(parsed.certificatesPem.join(''));
    parsed.certificatesPem.forEach((pem, i) => {
      expect(certificateDer(pem).equals(DERS[i])).toBe(true);
      expect(new X509Certificate(pem).subject).toBe(new X509Certificate(CHAIN[i]).subject);
      const lines = pem.trimEnd().split('\n');
      expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
      expect(lines[lines.length - 1]).toBe('-----END CERTIFICATE-----');
      const body = lines.slice(1, -1);
      body.slice(0, -1).forEach((l) => expect(l).toHaveLength(64));
      expect(body[body.length - 1].length).toBeLessThanOrEqual(64);
      expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    });
  });

  it('neither PEM nor DER certificates: empty, only NULs, a non-SEQUENCE element, a cut certificate', () => {
    const cut = DERS[0].subarray(0, DERS[0].length - 1);
    for (const data of [Buffer.alloc(0), Buffer.alloc(4), Buffer.from('04020000', 'hex'), Buffer.concat([DERS[1], Buffer.from('0400', 'hex')]), cut]) {
      const e = expectParseError(() => parseCertificationData(cd(5, data, 2), 2, data.length + 8, 'cd', true), 'INVALID_ENCODING', /^cd\.data$/, 8);
      expect(e.message).toContain('type 5 certification data holds neither PEM nor DER certificates');
    }
  });

  it('a complete DER element that is not a SEQUENCE is refused, alone or after a certificate', () => {
    // No trailing zero bytes here: the NUL trim must not be what shortens the element.
    for (const data of [Buffer.from('0402abcd', 'hex'), Buffer.concat([DERS[1], Buffer.from('0401ff', 'hex')]), Buffer.concat([Buffer.from('3101ff', 'hex'), DERS[0]])]) {
      const e = expectParseError(() => parseCertificationData(cd(5, data), 0, data.length + 6, 'cd', true), 'INVALID_ENCODING', /^cd\.data$/, 6);
      expect(e.message).toContain('type 5 certification data holds neither PEM nor DER certificates');
    }
  });
});

describe('parseQeReportCertification: the fixed part, the auth data and the certification data', () => {
  /** A QE report certification with `auth` bytes of auth data and type 4 certification data of `cert` bytes. */
  function qrc(auth: number, cert: number): Buffer {
    const head = Buffer.alloc(450);
    head.writeUInt16LE(auth, 448);
    return Buffer.concat([head, Buffer.alloc(auth, 0xaa), cd(4, Buffer.alloc(cert, 0xbb))]);
  }

  it('parses a well-formed one that ends exactly at the end', () => {
    const b = qrc(3, 5);
    const q = parseQeReportCertification(b, 0, b.length, 'q');
    expect(q.qeAuthData.equals(Buffer.alloc(3, 0xaa))).toBe(true);
    expect(q.certificationData).toEqual({ type: 4, data: Buffer.alloc(5, 0xbb) });
    expect(q.qeReportRaw.length).toBe(384);
  });

  it('an enclosing length too short for the fixed part: inconsistent inside the buffer, truncated past it', () => {
    const b = qrc(0, 0);
    const e = expectParseError(() => parseQeReportCertification(b, 0, 449, 'q'), 'INCONSISTENT_LENGTH', /^q$/, 0);
    expect(e.message).toContain('needs at least 456 bytes, the enclosing length leaves 449');
    expect(expectParseError(() => parseQeReportCertification(b, 2, 1, 'q'), 'INCONSISTENT_LENGTH', /^q$/, 2).message).toContain('leaves 0');
    const atEnd = Buffer.alloc(449);
    expectParseError(() => parseQeReportCertification(atEnd, 0, atEnd.length, 'q'), 'INCONSISTENT_LENGTH', /^q$/, 0);
    expectParseError(() => parseQeReportCertification(Buffer.alloc(300), 0, 449, 'q'), 'TRUNCATED', /^q$/, 0);
  });

  it('a fixed part that ends exactly at the end leaves no room for certification data', () => {
    const b = qrc(0, 0).subarray(0, 450);
    expectParseError(() => parseQeReportCertification(b, 0, 450, 'q'), 'INCONSISTENT_LENGTH', /^q\.certificationData$/, 450);
  });

  it('auth data that fills the rest exactly leaves no room for certification data either', () => {
    const b = qrc(10, 0);
    expectParseError(() => parseQeReportCertification(b, 0, 460, 'q'), 'INCONSISTENT_LENGTH', /^q\.certificationData$/, 460);
    const e = expectParseError(() => parseQeReportCertification(b, 0, 459, 'q'), 'INCONSISTENT_LENGTH', /^q\.qeAuthData\.size$/, 448);
    expect(e.message).toContain('QE auth data size 10 exceeds the 9 bytes left');
  });

  it('an enclosing length beyond the buffer is caught field by field', () => {
    expectParseError(() => parseQeReportCertification(Buffer.alloc(100), 0, 1000, 'q'), 'TRUNCATED', /^q\.qeReport$/, 0);
    expectParseError(() => parseQeReportCertification(Buffer.alloc(400), 0, 1000, 'q'), 'TRUNCATED', /^q\.qeReportSignature$/, 384);
    expectParseError(() => parseQeReportCertification(Buffer.alloc(449), 0, 1000, 'q'), 'TRUNCATED', /^q\.qeAuthData\.size$/, 448);
    const b = qrc(0, 0).subarray(0, 455);
    b.writeUInt16LE(10, 448);
    expectParseError(() => parseQeReportCertification(b, 0, 1000, 'q'), 'TRUNCATED', /^q\.qeAuthData$/, 450);
  });
});

describe('encoding certification data names the bad field', () => {
  const good: QeReportCertification = {
    qeReport: emptyReportBody(),
    qeReportRaw: Buffer.alloc(384),
    qeReportSignature: Buffer.alloc(64),
    qeAuthData: Buffer.alloc(2),
    certificationData: { type: 4, data: Buffer.alloc(3) },
  };

  it('encodeQeReportCertification, with its default field name', () => {
    expectParseError(() => encodeQeReportCertification({ ...good, qeReport: { ...good.qeReport, isvSvn: -1 } }), 'INVALID_VALUE', /^qeReportCertification\.qeReport\.isvSvn$/);
    expectParseError(() => encodeQeReportCertification({ ...good, qeReportSignature: Buffer.alloc(1) }), 'INVALID_VALUE', /^qeReportCertification\.qeReportSignature$/, 384);
    expectParseError(() => encodeQeReportCertification({ ...good, qeAuthData: undefined as unknown as Buffer }), 'INVALID_VALUE', /^qeReportCertification\.qeAuthData$/, 450);
    expectParseError(() => encodeQeReportCertification({ ...good, qeAuthData: Buffer.alloc(0x10000) }), 'INVALID_VALUE', /^qeReportCertification\.qeAuthData\.size$/, 448);
    expectParseError(() => encodeQeReportCertification({ ...good, certificationData: { type: 0x10000 as 4, data: Buffer.alloc(0) } }), 'INVALID_VALUE', /^qeReportCertification\.certificationData\.type$/, 0);
    const b = encodeQeReportCertification(good);
    expect(parseQeReportCertification(b, 0, b.length, 'q').certificationData).toEqual(good.certificationData);
  });

  it('encodeCertificationData and encodeRawCertificationData, with their default field names', () => {
    expectParseError(() => encodeCertificationData({ type: 6, data: Buffer.alloc(0), qeReportCertification: { ...good, qeReportSignature: Buffer.alloc(1) } }), 'INVALID_VALUE', /^certificationData\.qeReportCertification\.qeReportSignature$/, 384);
    expectParseError(() => encodeCertificationData({ type: 4, data: undefined as unknown as Buffer }), 'INVALID_VALUE', /^certificationData\.data$/, 6);
    expectParseError(() => encodeRawCertificationData(-1, Buffer.alloc(0)), 'INVALID_VALUE', /^certificationData\.type$/, 0);
    expect(encodeRawCertificationData(5, Buffer.from('ab')).toString('hex')).toBe('0500020000006162');
  });
});
