import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDerTlv } from '../../src/sgx/der-tlv.js';
import {
  certificateDer,
  emptyReportBody,
  encodeAttributes,
  encodeQeReportInfo,
  encodeReport,
  encodeTargetInfo,
  orderChainLeafFirst,
  parseQeReportInfo,
  parseReport,
  parseTargetInfo,
  QE_REPORT_INFO_SIZE,
  REPORT_BODY_SIZE,
  REPORT_SIZE,
  reportBodyBytes,
  SgxParseError,
  TARGET_INFO_SIZE,
  writeAttributes,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { TESTDATA } from './testdata.js';

/**
 * Direct tests of the small pieces every quote goes through (written for mutation testing,
 * docs/mutation-testing.md): the DER header reader that walks untrusted certification data, the chain
 * ordering of the PCK certificates a quote carries, and the field names and offsets the fixed-size
 * structures report (the contract of SgxParseError: a user finds the bad byte with a hex dump).
 */

const b = (...bytes: number[]) => Buffer.from(bytes);

describe('readDerTlv: DER headers within a limit', () => {
  it('reads a short-form element that ends exactly at the limit', () => {
    expect(readDerTlv(b(0x04, 0x00), 0, 2)).toEqual({ tag: 0x04, start: 0, contentStart: 2, end: 2 });
    expect(readDerTlv(b(0x04, 0x02, 0xaa, 0xbb), 0, 4)).toEqual({ tag: 0x04, start: 0, contentStart: 2, end: 4 });
  });

  it('reads at an offset and reports absolute positions', () => {
    const buf = b(0xff, 0xff, 0xff, 0x30, 0x01, 0x05, 0xee);
    expect(readDerTlv(buf, 3, 6)).toEqual({ tag: 0x30, start: 3, contentStart: 5, end: 6 });
  });

  it('refuses a header that does not fit: one byte left, or none', () => {
    expect(readDerTlv(b(0x04), 0, 1)).toBeUndefined();
    expect(readDerTlv(b(0x04, 0x00), 1, 2)).toBeUndefined();
    expect(readDerTlv(b(0x04, 0x00), 0, 1)).toBeUndefined(); // the limit, not the buffer, bounds it
  });

  it('refuses contents one byte past the limit', () => {
    expect(readDerTlv(b(0x04, 0x03, 1, 2, 3), 0, 4)).toBeUndefined();
    expect(readDerTlv(b(0x04, 0x81, 0x03, 1, 2, 3), 0, 5)).toBeUndefined();
  });

  it('reads every long form of 1 to 4 length bytes', () => {
    expect(readDerTlv(b(0x04, 0x81, 0x01, 0xaa), 0, 4)).toEqual({ tag: 4, start: 0, contentStart: 3, end: 4 });
    const two = Buffer.concat([b(0x04, 0x82, 0x01, 0x00), Buffer.alloc(256)]);
    expect(readDerTlv(two, 0, two.length)).toEqual({ tag: 4, start: 0, contentStart: 4, end: 260 });
    const three = Buffer.concat([b(0x04, 0x83, 0x00, 0x00, 0x02), Buffer.alloc(2)]);
    expect(readDerTlv(three, 0, three.length)).toEqual({ tag: 4, start: 0, contentStart: 5, end: 7 });
    const four = Buffer.concat([b(0x04, 0x84, 0x00, 0x00, 0x00, 0x01), Buffer.alloc(1)]);
    expect(readDerTlv(four, 0, four.length)).toEqual({ tag: 4, start: 0, contentStart: 6, end: 7 });
  });

  it('refuses the indefinite form (0x80) and more than 4 length bytes', () => {
    expect(readDerTlv(b(0x30, 0x80, 0x00, 0x00), 0, 4)).toBeUndefined();
    const five = Buffer.concat([b(0x04, 0x85, 0, 0, 0, 0, 1), Buffer.alloc(1)]);
    expect(readDerTlv(five, 0, five.length)).toBeUndefined();
  });

  it('refuses length bytes that do not fit before the limit, and accepts them when they just fit', () => {
    expect(readDerTlv(b(0x04, 0x82, 0x00), 0, 3)).toBeUndefined();
    expect(readDerTlv(b(0x04, 0x82, 0x00, 0x00, 0xaa), 0, 3)).toBeUndefined(); // the byte after the limit is not read
    expect(readDerTlv(b(0x04, 0x82, 0x00, 0x00), 0, 4)).toEqual({ tag: 4, start: 0, contentStart: 4, end: 4 });
  });
});

/** Minimal DER editing for hand-made variants of real certificates (names are all the ordering reads). */
function derLength(n: number): Buffer {
  if (n < 0x80) return b(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return b(0x80 | bytes.length, ...bytes);
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([b(tag), derLength(content.length), content]);
function children(der: Buffer, start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = start; off < end; ) {
    const t = readDerTlv(der, off, end)!;
    out.push(der.subarray(t.start, t.end));
    off = t.end;
  }
  return out;
}
const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;

/** Rebuild a certificate with `edit` applied to the list of its TBSCertificate's elements. */
function withTbs(pem: string, edit: (items: Buffer[]) => Buffer[], outerTag = 0x30, tbsTag = 0x30): string {
  const der = certificateDer(pem);
  const cert = readDerTlv(der, 0, der.length)!;
  const [tbs, ...rest] = children(der, cert.contentStart, cert.end);
  const t = readDerTlv(tbs, 0, tbs.length)!;
  const items = edit(children(tbs, t.contentStart, t.end));
  return pemOf(tlv(outerTag, Buffer.concat([tlv(tbsTag, Buffer.concat(items)), ...rest])));
}
/** A version 1 certificate carries neither the explicit [0] version nor extensions. */
const asV1 = (pem: string) => withTbs(pem, (items) => items.filter((i) => i[0] !== 0xa0 && i[0] !== 0xa3));

const read = (rel: string) => readFileSync(`${TESTDATA}/${rel}`, 'utf8');
const LEAF = read('mobilecoin/leaf_cert.pem');
const CA = read('mobilecoin/processor_ca.pem');
const ROOT = read('mobilecoin/root_ca.pem');

describe('orderChainLeafFirst on the real Intel PCK chain (mobilecoin)', () => {
  const permutations = [
    [LEAF, CA, ROOT],
    [LEAF, ROOT, CA],
    [CA, LEAF, ROOT],
    [CA, ROOT, LEAF],
    [ROOT, LEAF, CA],
    [ROOT, CA, LEAF],
  ];
  it('orders every permutation leaf, intermediate, root', () => {
    for (const p of permutations) expect(orderChainLeafFirst(p)).toEqual([LEAF, CA, ROOT]);
  });

  it('orders a two-certificate chain (intermediate and root)', () => {
    expect(orderChainLeafFirst([ROOT, CA])).toEqual([CA, ROOT]);
    expect(orderChainLeafFirst([CA, ROOT])).toEqual([CA, ROOT]);
  });

  it('returns zero or one certificate as given, as a copy', () => {
    expect(orderChainLeafFirst([])).toEqual([]);
    const one = [ROOT];
    const out = orderChainLeafFirst(one);
    expect(out).toEqual([ROOT]);
    expect(out).not.toBe(one);
  });

  it('orders version 1 certificates (no explicit version, no extensions)', () => {
    const [leaf, ca, root] = [LEAF, CA, ROOT].map(asV1);
    expect(certificateDer(leaf).length).toBeLessThan(certificateDer(LEAF).length);
    expect(orderChainLeafFirst([root, ca, leaf])).toEqual([leaf, ca, root]);
  });

  it('leaves a set that is not one simple chain unchanged', () => {
    // Two leaves of the same CA: no single leaf.
    const other = read('intel-qvl-sampledata/pckCert.pem');
    expect(orderChainLeafFirst([CA, LEAF, other])).toEqual([CA, LEAF, other]);
    // A second copy of the root: the walk stops at the first self-signed certificate with one left over.
    expect(orderChainLeafFirst([ROOT, ROOT, CA, LEAF])).toEqual([ROOT, ROOT, CA, LEAF]);
    // Leaf and root without the intermediate: the walk cannot reach the root.
    expect(orderChainLeafFirst([ROOT, LEAF])).toEqual([ROOT, LEAF]);
    // Two copies of the root issue each other: no leaf at all.
    expect(orderChainLeafFirst([ROOT, ROOT])).toEqual([ROOT, ROOT]);
  });

  it('leaves the set unchanged when a certificate does not decode', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(orderChainLeafFirst([ROOT, CA, bad])).toEqual([ROOT, CA, bad]);
    expect(orderChainLeafFirst([ROOT, CA, 'not a certificate'])).toEqual([ROOT, CA, 'not a certificate']);
  });

  it('leaves the set unchanged when a certificate or its TBSCertificate is not a SEQUENCE', () => {
    const outerSet = withTbs(LEAF, (i) => i, 0x31);
    expect(orderChainLeafFirst([ROOT, CA, outerSet])).toEqual([ROOT, CA, outerSet]);
    const tbsSet = withTbs(LEAF, (i) => i, 0x30, 0x31);
    expect(orderChainLeafFirst([ROOT, CA, tbsSet])).toEqual([ROOT, CA, tbsSet]);
  });

  it('leaves the set unchanged when a TBSCertificate is too short to hold issuer and subject', () => {
    const noSubject = withTbs(LEAF, (items) => items.slice(0, 4)); // version, serial, algorithm, issuer
    expect(orderChainLeafFirst([ROOT, CA, noSubject])).toEqual([ROOT, CA, noSubject]);
    const noIssuer = withTbs(LEAF, (items) => items.slice(0, 3));
    expect(orderChainLeafFirst([ROOT, CA, noIssuer])).toEqual([ROOT, CA, noIssuer]);
    const empty = withTbs(LEAF, () => []);
    expect(orderChainLeafFirst([ROOT, CA, empty])).toEqual([ROOT, CA, empty]);
  });
});

describe('fixed-size structures name the field and offset of a bad value', () => {
  it('SgxParseError is named so in logs and stack traces', () => {
    const err = expectParseError(() => parseReport(Buffer.alloc(1)), 'TRUNCATED', /^report$/, 1);
    expect(err.name).toBe('SgxParseError');
    expect(err).toBeInstanceOf(SgxParseError);
  });

  it('rejects input that is not bytes, naming the structure', () => {
    const notBytes = 'abc' as unknown as Uint8Array;
    expectParseError(() => parseReport(notBytes), 'INVALID_VALUE', /^report$/, 0);
    expectParseError(() => parseTargetInfo(notBytes), 'INVALID_VALUE', /^targetInfo$/, 0);
    expectParseError(() => parseQeReportInfo(notBytes), 'INVALID_VALUE', /^qeReportInfo$/, 0);
    expectParseError(() => reportBodyBytes(notBytes), 'INVALID_VALUE', /^report$/, 0);
  });

  it('attributes: the u64 fields by name and offset, at the structure offset given', () => {
    expectParseError(() => encodeAttributes({ flags: -1n, xfrm: 0n }), 'INVALID_VALUE', /^attributes\.flags$/, 0);
    expectParseError(() => encodeAttributes({ flags: 0n, xfrm: 1n << 64n }), 'INVALID_VALUE', /^attributes\.xfrm$/, 8);
    const out = Buffer.alloc(48);
    expectParseError(() => writeAttributes(out, 16, { flags: 0n, xfrm: -1n }), 'INVALID_VALUE', /^attributes\.xfrm$/, 24);
    expectParseError(() => writeAttributes(out, 16, { flags: -1n, xfrm: 0n }), 'INVALID_VALUE', /^attributes\.flags$/, 16);
    writeAttributes(out, 16, { flags: 0x0102n, xfrm: 0x03n });
    expect(out.subarray(16, 32).toString('hex')).toBe('0201000000000000' + '0300000000000000');
  });

  it('target info: every encoded field by name', () => {
    const t = parseTargetInfo(Buffer.alloc(TARGET_INFO_SIZE));
    expectParseError(() => encodeTargetInfo({ ...t, raw: Buffer.alloc(1) }), 'INVALID_VALUE', /^targetInfo\.raw$/, 0);
    expectParseError(() => encodeTargetInfo({ ...t, mrEnclave: Buffer.alloc(31) }), 'INVALID_VALUE', /^targetInfo\.mrEnclave$/, 0);
    expectParseError(() => encodeTargetInfo({ ...t, attributes: { flags: -1n, xfrm: 0n } }), 'INVALID_VALUE', /^targetInfo\.attributes\.flags$/, 32);
    expectParseError(() => encodeTargetInfo({ ...t, configSvn: 0x10000 }), 'INVALID_VALUE', /^targetInfo\.configSvn$/, 50);
    expectParseError(() => encodeTargetInfo({ ...t, miscSelect: -1 }), 'INVALID_VALUE', /^targetInfo\.miscSelect$/, 52);
    expectParseError(() => encodeTargetInfo({ ...t, configId: Buffer.alloc(65) }), 'INVALID_VALUE', /^targetInfo\.configId$/, 64);
  });

  it('report: every encoded field by name', () => {
    const r = { body: emptyReportBody(), keyId: Buffer.alloc(32), mac: Buffer.alloc(16) };
    expectParseError(() => encodeReport({ ...r, keyId: Buffer.alloc(16) }), 'INVALID_VALUE', /^report\.keyId$/, 384);
    expectParseError(() => encodeReport({ ...r, mac: Buffer.alloc(32) }), 'INVALID_VALUE', /^report\.mac$/, 416);
    expectParseError(() => encodeReport({ ...r, body: { ...r.body, isvSvn: 0x10000 } }), 'INVALID_VALUE', /^report\.body\.isvSvn$/);
  });

  it('QE report info: every encoded field by name', () => {
    const q = parseQeReportInfo(Buffer.alloc(QE_REPORT_INFO_SIZE));
    expectParseError(() => encodeQeReportInfo({ ...q, nonce: Buffer.alloc(15) }), 'INVALID_VALUE', /^qeReportInfo\.nonce$/, 0);
    expectParseError(() => encodeQeReportInfo({ ...q, appEnclaveTargetInfo: Buffer.alloc(1) }), 'INVALID_VALUE', /^qeReportInfo\.appEnclaveTargetInfo$/, 16);
    expectParseError(() => encodeQeReportInfo({ ...q, qeReport: Buffer.alloc(431) }), 'INVALID_VALUE', /^qeReportInfo\.qeReport$/, 528);
  });

  it('reportBodyBytes: the first 384 bytes of a 432-byte report, as a copy', () => {
    const report = Buffer.alloc(REPORT_SIZE);
    for (let i = 0; i < REPORT_SIZE; i++) report[i] = i & 0xff;
    const body = reportBodyBytes(report);
    expect(body.length).toBe(REPORT_BODY_SIZE);
    expect(body.equals(report.subarray(0, REPORT_BODY_SIZE))).toBe(true);
    report[0] ^= 0xff;
    expect(body[0]).toBe(0);
    expectParseError(() => reportBodyBytes(Buffer.alloc(REPORT_SIZE - 1)), 'TRUNCATED', /^report$/, REPORT_SIZE - 1);
    expectParseError(() => reportBodyBytes(Buffer.alloc(REPORT_SIZE + 1)), 'OVERSIZE', /^report$/, REPORT_SIZE);
  });
});
