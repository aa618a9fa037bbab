import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  DD_REPORT_KEY_SIZE,
  DdReportKeyOffsets,
  deriveReportKey,
  ereport,
  reportKeyDerivationData,
  verifyReportMac,
  type ReportKeySecret,
  type ReportKeyTarget,
} from '../../src/providers/sim/index.js';
import { encodeTargetInfo, parseReport, REPORT_SIZE } from '../../src/sgx/index.js';
import { APP } from './helpers.js';

const secret: ReportKeySecret = {
  baseReportKey: randomBytes(16),
  ownerEpoch: randomBytes(16),
  keyId: randomBytes(32),
  cpuSvn: Buffer.from('0e0e030304010d000000000000000000', 'hex'),
};
const QE: ReportKeyTarget = {
  mrEnclave: Buffer.alloc(32, 0x51),
  attributes: { flags: 0x15n, xfrm: 0xe7n },
  miscSelect: 0,
  configSvn: 0,
  configId: Buffer.alloc(64),
};

describe('report key derivation (dd_report_key_t)', () => {
  // dd_report_key_t as laid out in spec §6 (C natural alignment, computed with gcc from Intel's header),
  // written out here so the test does not take the offsets from the code it checks.
  const SPEC = { keyName: 0, attributes: 8, miscSelect: 24, ownerEpoch: 28, mrEnclave: 44, cpuSvn: 76, configSvn: 92, configId: 94, keyId: 158, size: 192 };

  it('the exported layout is the spec §6 table', () => {
    const { size, ...offsets } = SPEC;
    expect({ ...DdReportKeyOffsets }).toEqual(offsets);
    expect(DD_REPORT_KEY_SIZE).toBe(size);
  });

  it('lays out the 192-byte derivation data at the spec §6 offsets', () => {
    const configId = Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i));
    const dd = reportKeyDerivationData(secret, { ...QE, miscSelect: 0x01020304, configSvn: 0x0a0b, configId }, secret.keyId);
    expect(dd.length).toBe(SPEC.size);
    expect(dd.readUInt16LE(SPEC.keyName)).toBe(3);
    // attributes: flags LE (8 bytes) then xfrm LE (8 bytes)
    expect(dd.subarray(SPEC.attributes, SPEC.attributes + 16).toString('hex')).toBe('1500000000000000' + 'e700000000000000');
    expect(dd.subarray(SPEC.miscSelect, SPEC.miscSelect + 4).toString('hex')).toBe('04030201');
    expect(dd.subarray(SPEC.ownerEpoch, SPEC.ownerEpoch + 16)).toEqual(secret.ownerEpoch);
    expect(dd.subarray(SPEC.mrEnclave, SPEC.mrEnclave + 32)).toEqual(QE.mrEnclave);
    expect(dd.subarray(SPEC.cpuSvn, SPEC.cpuSvn + 16)).toEqual(secret.cpuSvn);
    expect(dd.subarray(SPEC.configSvn, SPEC.configSvn + 2).toString('hex')).toBe('0b0a');
    expect(dd.subarray(SPEC.configId, SPEC.configId + 64)).toEqual(configId);
    expect(dd.subarray(SPEC.keyId, SPEC.keyId + 32)).toEqual(secret.keyId);
    // Padding between key_name and attributes, and after key_id, stays zero; nothing else is written.
    expect(dd.subarray(2, SPEC.attributes).every((b) => b === 0)).toBe(true);
    expect(dd.subarray(SPEC.keyId + 32).every((b) => b === 0)).toBe(true);
    const expected = Buffer.alloc(SPEC.size);
    expected.writeUInt16LE(3, SPEC.keyName);
    expected.writeBigUInt64LE(0x15n, SPEC.attributes);
    expected.writeBigUInt64LE(0xe7n, SPEC.attributes + 8);
    expected.writeUInt32LE(0x01020304, SPEC.miscSelect);
    secret.ownerEpoch.copy(expected, SPEC.ownerEpoch);
    QE.mrEnclave.copy(expected, SPEC.mrEnclave);
    secret.cpuSvn.copy(expected, SPEC.cpuSvn);
    expected.writeUInt16LE(0x0a0b, SPEC.configSvn);
    configId.copy(expected, SPEC.configId);
    secret.keyId.copy(expected, SPEC.keyId);
    expect(dd.toString('hex')).toBe(expected.toString('hex'));
  });

  it.each([
    ['MRENCLAVE', { mrEnclave: Buffer.alloc(32, 0x52) }],
    ['ATTRIBUTES', { attributes: { flags: 0x17n, xfrm: 0xe7n } }],
    ['MISCSELECT', { miscSelect: 1 }],
    ['CONFIGSVN', { configSvn: 1 }],
    ['CONFIGID', { configId: Buffer.alloc(64, 1) }],
  ])('binds the key to the target %s', (_n, change) => {
    expect(deriveReportKey(secret, { ...QE, ...change }, secret.keyId).equals(deriveReportKey(secret, QE, secret.keyId))).toBe(false);
  });

  it('binds the key to the platform secret, owner epoch, CPUSVN and key id', () => {
    const base = deriveReportKey(secret, QE, secret.keyId);
    expect(deriveReportKey({ ...secret, baseReportKey: randomBytes(16) }, QE, secret.keyId).equals(base)).toBe(false);
    expect(deriveReportKey({ ...secret, ownerEpoch: randomBytes(16) }, QE, secret.keyId).equals(base)).toBe(false);
    expect(deriveReportKey({ ...secret, cpuSvn: Buffer.alloc(16, 1) }, QE, secret.keyId).equals(base)).toBe(false);
    expect(deriveReportKey(secret, QE, randomBytes(32)).equals(base)).toBe(false);
  });
});

describe('EREPORT and report verification', () => {
  const reportData = Buffer.from('report data for the QE');
  const report = ereport(secret, { ...APP, targetInfo: encodeTargetInfo(QE), reportData });

  it('produces a 432-byte report with the enclave identity, the platform CPUSVN and key id', () => {
    expect(report.length).toBe(REPORT_SIZE);
    const r = parseReport(report);
    expect(r.body.mrEnclave).toEqual(APP.mrEnclave);
    expect(r.body.mrSigner).toEqual(APP.mrSigner);
    expect(r.body.isvProdId).toBe(APP.isvProdId);
    expect(r.body.isvSvn).toBe(APP.isvSvn);
    expect(r.body.attributes).toEqual(APP.attributes);
    expect(r.body.cpuSvn).toEqual(secret.cpuSvn);
    expect(r.body.reportData.subarray(0, reportData.length)).toEqual(reportData);
    expect(r.body.reportData.subarray(reportData.length).every((b) => b === 0)).toBe(true);
    expect(r.keyId).toEqual(secret.keyId);
  });

  it('verifies in the target it was made for', () => {
    expect(verifyReportMac(secret, QE, report)).toBe(true);
  });

  it('is rejected by any other enclave (target MRENCLAVE differs)', () => {
    expect(verifyReportMac(secret, { ...QE, mrEnclave: Buffer.alloc(32, 0x52) }, report)).toBe(false);
  });

  it('is rejected on another platform (different base key)', () => {
    expect(verifyReportMac({ ...secret, baseReportKey: randomBytes(16) }, QE, report)).toBe(false);
  });

  it('is rejected after any single bit flip in the body, key id or MAC', () => {
    for (let off = 0; off < REPORT_SIZE; off++) {
      const bad = Buffer.from(report);
      bad[off] ^= 1 << (off % 8);
      expect(verifyReportMac(secret, QE, bad), `flip at ${off}`).toBe(false);
    }
  });

  it('rejects wrong sizes without throwing', () => {
    expect(verifyReportMac(secret, QE, report.subarray(0, 431))).toBe(false);
  });

  it('does not bind the MAC to the reporting enclave MRSIGNER (the target decides the key)', () => {
    const other = ereport(secret, { ...APP, mrSigner: Buffer.alloc(32, 0xcc), targetInfo: encodeTargetInfo(QE), reportData });
    expect(verifyReportMac(secret, QE, other)).toBe(true);
    // MRSIGNER sits at offset 128 of the SGX report body; written out rather than taken from the code checked.
    expect(other.subarray(128, 160)).toEqual(Buffer.alloc(32, 0xcc));
  });
});
