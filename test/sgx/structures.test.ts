import { describe, expect, it } from 'vitest';
import {
  AttributeFlags,
  ATT_KEY_ID_EXT_SIZE,
  attKeyIdBase,
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  describeAttributeFlags,
  describeTdAttributes,
  emptyReportBody,
  encodeAttKeyIdExt,
  encodeAttKeyIdList,
  encodeAttributes,
  encodeQeReportInfo,
  encodeReport,
  encodeReportBody,
  encodeTargetInfo,
  isDebug,
  parseAttKeyIdExt,
  parseAttKeyIdList,
  parseAttributes,
  parseQeReportInfo,
  parseReport,
  parseReportBody,
  parseTargetInfo,
  QE_REPORT_INFO_SIZE,
  REPORT_BODY_SIZE,
  REPORT_SIZE,
  ReportBodyOffsets,
  TARGET_INFO_SIZE,
  TargetInfoOffsets,
  TdAttributeFlags,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

describe('attributes', () => {
  it('parses little-endian flags and xfrm and names the flags', () => {
    const buf = Buffer.from('0700000000000000e700000000000000', 'hex');
    const a = parseAttributes(buf);
    expect(a).toEqual({ flags: 7n, xfrm: 0xe7n });
    expect(isDebug(a)).toBe(true);
    expect(describeAttributeFlags(a)).toEqual(['INITTED', 'DEBUG', 'MODE64BIT']);
    expect(encodeAttributes(a).equals(buf)).toBe(true);
  });

  it('reports unknown flag bits in hex and no DEBUG for release enclaves', () => {
    const a = { flags: AttributeFlags.INITTED | AttributeFlags.PROVISION_KEY | 0x100n, xfrm: 3n };
    expect(isDebug(a)).toBe(false);
    expect(describeAttributeFlags(a)).toEqual(['INITTED', 'PROVISION_KEY', '0x100']);
  });

  it('rejects a short buffer with the field and offset', () => {
    expectParseError(() => parseAttributes(Buffer.alloc(10)), 'TRUNCATED', /^attributes/, 0);
  });
});

describe('TD attributes', () => {
  it('names the known bits in table order, then unknown bits in hex, lowest first', () => {
    const v = TdAttributeFlags.PERFMON | TdAttributeFlags.SEPT_VE_DISABLE | TdAttributeFlags.DEBUG | 0x100n | 0x2n;
    expect(describeTdAttributes(v)).toEqual(['DEBUG', 'SEPT_VE_DISABLE', 'PERFMON', '0x2', '0x100']);
    expect(describeTdAttributes(0n)).toEqual([]);
  });
});

describe('report body / report / target info', () => {
  it('round-trips every field at its documented offset', () => {
    const raw = pattern(REPORT_BODY_SIZE);
    const body = parseReportBody(raw);
    expect(body.mrEnclave.equals(raw.subarray(64, 96))).toBe(true);
    expect(body.mrSigner.equals(raw.subarray(128, 160))).toBe(true);
    expect(body.isvProdId).toBe(raw.readUInt16LE(ReportBodyOffsets.isvProdId));
    expect(body.isvSvn).toBe(raw.readUInt16LE(258));
    expect(body.reportData.equals(raw.subarray(320))).toBe(true);
    expect(encodeReportBody(body).equals(raw)).toBe(true);
  });

  it('writes edited fields over the parsed bytes and zeroes reserved bytes when built from scratch', () => {
    const body = parseReportBody(pattern(REPORT_BODY_SIZE));
    body.isvSvn = 0x1234;
    const enc = encodeReportBody(body);
    expect(enc.readUInt16LE(ReportBodyOffsets.isvSvn)).toBe(0x1234);
    expect(enc.subarray(ReportBodyOffsets.reserved1, 32).equals(pattern(REPORT_BODY_SIZE).subarray(20, 32))).toBe(true);

    const fresh = { ...body, raw: undefined };
    const enc2 = encodeReportBody(fresh);
    expect(enc2.subarray(ReportBodyOffsets.reserved4, ReportBodyOffsets.isvFamilyId).every((b) => b === 0)).toBe(true);
    expect(encodeReportBody(emptyReportBody()).equals(Buffer.alloc(REPORT_BODY_SIZE))).toBe(true);
  });

  it('rejects wrong field sizes when encoding', () => {
    const body = emptyReportBody();
    body.mrEnclave = Buffer.alloc(31);
    expectParseError(() => encodeReportBody(body), 'INVALID_VALUE', /mrEnclave/, ReportBodyOffsets.mrEnclave);
    const b2 = emptyReportBody();
    b2.isvSvn = 70000;
    expectParseError(() => encodeReportBody(b2), 'INVALID_VALUE', /isvSvn/);
  });

  it('parses sgx_report_t and insists on exactly 432 bytes', () => {
    const raw = pattern(REPORT_SIZE, 3);
    const r = parseReport(raw);
    expect(r.keyId.equals(raw.subarray(384, 416))).toBe(true);
    expect(r.mac.equals(raw.subarray(416))).toBe(true);
    expect(encodeReport(r).equals(raw)).toBe(true);
    expectParseError(() => parseReport(raw.subarray(0, 431)), 'TRUNCATED', /^report$/, 431);
    expectParseError(() => parseReport(Buffer.concat([raw, Buffer.alloc(1)])), 'OVERSIZE', /^report$/, 432);
  });

  it('parses sgx_target_info_t', () => {
    const raw = pattern(TARGET_INFO_SIZE, 5);
    const t = parseTargetInfo(raw);
    expect(t.mrEnclave.equals(raw.subarray(0, 32))).toBe(true);
    expect(t.configSvn).toBe(raw.readUInt16LE(TargetInfoOffsets.configSvn));
    expect(t.miscSelect).toBe(raw.readUInt32LE(TargetInfoOffsets.miscSelect));
    expect(encodeTargetInfo(t).equals(raw)).toBe(true);
    const fresh = encodeTargetInfo({ ...t, raw: undefined });
    expect(fresh.subarray(TargetInfoOffsets.reserved3).every((b) => b === 0)).toBe(true);
    expectParseError(() => parseTargetInfo(Buffer.alloc(100)), 'TRUNCATED', /targetInfo/);
  });
});

describe('attestation key ids', () => {
  it('DEFAULT_ECDSA_P256_ATT_KEY_ID is the 256-byte Intel QE3 id of wire spec §4.1', () => {
    const k = DEFAULT_ECDSA_P256_ATT_KEY_ID;
    expect(k.length).toBe(ATT_KEY_ID_EXT_SIZE);
    const p = parseAttKeyIdExt(k);
    expect(p.base.id).toBe(0);
    expect(p.base.version).toBe(0);
    expect(p.base.mrsignerLength).toBe(32);
    expect(p.base.mrsigner.subarray(0, 32).toString('hex')).toBe('8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff');
    expect(p.base.mrsigner.subarray(32).every((b) => b === 0)).toBe(true);
    expect(p.base.prodId).toBe(1);
    expect(p.base.algorithmId).toBe(2);
    expect(p.attKeyType).toBe(0);
    expect(k.readUInt32LE(154)).toBe(2);
    expect(encodeAttKeyIdExt(p).equals(k)).toBe(true);
    expect(attKeyIdBase(k).equals(k.subarray(0, 158))).toBe(true);
  });

  it('rejects a key id whose mrsigner length exceeds the field', () => {
    const k = Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    k.writeUInt16LE(49, 4);
    expectParseError(() => parseAttKeyIdExt(k), 'INCONSISTENT_LENGTH', /mrsignerLength/, 4);
    expectParseError(() => parseAttKeyIdExt(k.subarray(0, 200)), 'TRUNCATED', /attKeyId/);
    expectParseError(() => attKeyIdBase(k.subarray(0, 100)), 'TRUNCATED', /base/);
  });

  it('encodes and parses key id lists, validating count and size', () => {
    const other = Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    other.writeUInt32LE(0, 154);
    const list = encodeAttKeyIdList([DEFAULT_ECDSA_P256_ATT_KEY_ID, other]);
    expect(list.length).toBe(8 + 2 * 256);
    expect(list.readUInt32LE(4)).toBe(2);
    const parsed = parseAttKeyIdList(list);
    expect(parsed.header).toEqual({ id: 0, version: 0, numAttIds: 2 });
    expect(parsed.ids[1].equals(other)).toBe(true);

    expect(parseAttKeyIdList(encodeAttKeyIdList([])).ids).toEqual([]);
    expectParseError(() => parseAttKeyIdList(list.subarray(0, list.length - 1)), 'TRUNCATED', /ids/);
    expectParseError(() => parseAttKeyIdList(Buffer.concat([list, Buffer.alloc(1)])), 'OVERSIZE', /ids/);
    const tooMany = Buffer.from(list);
    tooMany.writeUInt32LE(11, 4);
    expectParseError(() => parseAttKeyIdList(tooMany), 'INVALID_VALUE', /numAttIds/, 4);
    expectParseError(() => parseAttKeyIdList(Buffer.alloc(5)), 'TRUNCATED', /header/);
    expectParseError(() => encodeAttKeyIdList(new Array(11).fill(other)), 'INVALID_VALUE', /numAttIds/);
  });
});

describe('qe report info', () => {
  it('round-trips the 960-byte structure', () => {
    const raw = pattern(QE_REPORT_INFO_SIZE, 9);
    const i = parseQeReportInfo(raw);
    expect(i.nonce.equals(raw.subarray(0, 16))).toBe(true);
    expect(i.appEnclaveTargetInfo.length).toBe(512);
    expect(i.qeReport.equals(raw.subarray(528))).toBe(true);
    expect(encodeQeReportInfo(i).equals(raw)).toBe(true);
    expect(parseReport(i.qeReport).body.raw?.equals(raw.subarray(528, 528 + 384))).toBe(true);
    expectParseError(() => parseQeReportInfo(raw.subarray(1)), 'TRUNCATED', /qeReportInfo/);
    expectParseError(() => encodeQeReportInfo({ ...i, nonce: Buffer.alloc(15) }), 'INVALID_VALUE', /nonce/, 0);
  });
});
