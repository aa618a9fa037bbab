import { ByteReader, namedFlags, checkFieldSize, checkU64 } from './bytes.js';

/** sgx_report2_body_t (TDX 1.0 TD report body, 584 bytes), sgx_quote_4.h. */
export const TD_REPORT_BODY_10_SIZE = 584;
/** sgx_report2_body_v1_5_t (TDX 1.5, 648 bytes) = the 1.0 body ‖ tee_tcb_svn2 ‖ mr_servicetd, sgx_quote_5.h. */
export const TD_REPORT_BODY_15_SIZE = 648;
export const TD_MEASUREMENT_SIZE = 48;
export const TD_RTMR_COUNT = 4;

export const TdReportBodyOffsets = {
  teeTcbSvn: 0,
  mrSeam: 16,
  mrSignerSeam: 64,
  seamAttributes: 112,
  tdAttributes: 120,
  xfam: 128,
  mrTd: 136,
  mrConfigId: 184,
  mrOwner: 232,
  mrOwnerConfig: 280,
  rtMr: 328, // 4 × 48
  reportData: 520,
  // TD 1.5 only:
  teeTcbSvn2: 584,
  mrServiceTd: 600,
} as const;

export interface TdReportBody10 {
  teeTcbSvn: Buffer; // 16
  mrSeam: Buffer; // 48
  mrSignerSeam: Buffer; // 48
  seamAttributes: bigint;
  tdAttributes: bigint;
  xfam: bigint;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtMr: Buffer[]; // 4 × 48
  reportData: Buffer; // 64
  /** Bytes as parsed; encoding starts from them. */
  raw?: Buffer;
}

export interface TdReportBody15 extends TdReportBody10 {
  teeTcbSvn2: Buffer; // 16
  mrServiceTd: Buffer; // 48
}

/** TD_ATTRIBUTES bits worth naming (TDX module spec): DEBUG is bit 0 ("TUD"), SEPT_VE_DISABLE bit 28. */
export const TdAttributeFlags = {
  DEBUG: 0x1n,
  SEPT_VE_DISABLE: 0x10000000n,
  PKS: 0x40000000n,
  KL: 0x80000000n,
  PERFMON: 0x8000000000000000n,
} as const;

export function describeTdAttributes(tdAttributes: bigint): string[] {
  return namedFlags(tdAttributes, TdAttributeFlags);
}

export function parseTdReportBody10(buf: Buffer, offset: number, field = 'tdReport', base = 0): TdReportBody10 {
  return parseTd(buf, offset, field, base, TD_REPORT_BODY_10_SIZE);
}

export function parseTdReportBody15(buf: Buffer, offset: number, field = 'tdReport', base = 0): TdReportBody15 {
  const r = new ByteReader(buf, base);
  r.need(offset, TD_REPORT_BODY_15_SIZE, field);
  const O = TdReportBodyOffsets;
  return {
    ...parseTd(buf, offset, field, base, TD_REPORT_BODY_15_SIZE),
    teeTcbSvn2: r.bytes(offset + O.teeTcbSvn2, 16, `${field}.teeTcbSvn2`),
    mrServiceTd: r.bytes(offset + O.mrServiceTd, TD_MEASUREMENT_SIZE, `${field}.mrServiceTd`),
  };
}

function parseTd(buf: Buffer, offset: number, field: string, base: number, size: number): TdReportBody10 {
  const r = new ByteReader(buf, base);
  const O = TdReportBodyOffsets;
  const M = TD_MEASUREMENT_SIZE;
  r.need(offset, size, field);
  const rtMr: Buffer[] = [];
  for (let i = 0; i < TD_RTMR_COUNT; i++) rtMr.push(r.bytes(offset + O.rtMr + i * M, M, `${field}.rtMr[${i}]`));
  return {
    teeTcbSvn: r.bytes(offset + O.teeTcbSvn, 16, `${field}.teeTcbSvn`),
    mrSeam: r.bytes(offset + O.mrSeam, M, `${field}.mrSeam`),
    mrSignerSeam: r.bytes(offset + O.mrSignerSeam, M, `${field}.mrSignerSeam`),
    seamAttributes: r.u64(offset + O.seamAttributes, `${field}.seamAttributes`),
    tdAttributes: r.u64(offset + O.tdAttributes, `${field}.tdAttributes`),
    xfam: r.u64(offset + O.xfam, `${field}.xfam`),
    mrTd: r.bytes(offset + O.mrTd, M, `${field}.mrTd`),
    mrConfigId: r.bytes(offset + O.mrConfigId, M, `${field}.mrConfigId`),
    mrOwner: r.bytes(offset + O.mrOwner, M, `${field}.mrOwner`),
    mrOwnerConfig: r.bytes(offset + O.mrOwnerConfig, M, `${field}.mrOwnerConfig`),
    rtMr,
    reportData: r.bytes(offset + O.reportData, 64, `${field}.reportData`),
    raw: r.bytes(offset, size, field),
  };
}

export function encodeTdReportBody10(t: TdReportBody10, field = 'tdReport'): Buffer {
  return encodeTd(t, TD_REPORT_BODY_10_SIZE, field);
}

export function encodeTdReportBody15(t: TdReportBody15, field = 'tdReport'): Buffer {
  const out = encodeTd(t, TD_REPORT_BODY_15_SIZE, field);
  const O = TdReportBodyOffsets;
  checkFieldSize(t.teeTcbSvn2, 16, `${field}.teeTcbSvn2`, O.teeTcbSvn2).copy(out, O.teeTcbSvn2);
  checkFieldSize(t.mrServiceTd, TD_MEASUREMENT_SIZE, `${field}.mrServiceTd`, O.mrServiceTd).copy(out, O.mrServiceTd);
  return out;
}

function encodeTd(t: TdReportBody10, size: number, field: string): Buffer {
  const O = TdReportBodyOffsets;
  const M = TD_MEASUREMENT_SIZE;
  const out = t.raw ? checkFieldSize(t.raw, size, `${field}.raw`, 0) : Buffer.alloc(size);
  checkFieldSize(t.teeTcbSvn, 16, `${field}.teeTcbSvn`, O.teeTcbSvn).copy(out, O.teeTcbSvn);
  checkFieldSize(t.mrSeam, M, `${field}.mrSeam`, O.mrSeam).copy(out, O.mrSeam);
  checkFieldSize(t.mrSignerSeam, M, `${field}.mrSignerSeam`, O.mrSignerSeam).copy(out, O.mrSignerSeam);
  out.writeBigUInt64LE(checkU64(t.seamAttributes, `${field}.seamAttributes`, O.seamAttributes), O.seamAttributes);
  out.writeBigUInt64LE(checkU64(t.tdAttributes, `${field}.tdAttributes`, O.tdAttributes), O.tdAttributes);
  out.writeBigUInt64LE(checkU64(t.xfam, `${field}.xfam`, O.xfam), O.xfam);
  checkFieldSize(t.mrTd, M, `${field}.mrTd`, O.mrTd).copy(out, O.mrTd);
  checkFieldSize(t.mrConfigId, M, `${field}.mrConfigId`, O.mrConfigId).copy(out, O.mrConfigId);
  checkFieldSize(t.mrOwner, M, `${field}.mrOwner`, O.mrOwner).copy(out, O.mrOwner);
  checkFieldSize(t.mrOwnerConfig, M, `${field}.mrOwnerConfig`, O.mrOwnerConfig).copy(out, O.mrOwnerConfig);
  for (let i = 0; i < TD_RTMR_COUNT; i++) {
    checkFieldSize(t.rtMr?.[i], M, `${field}.rtMr[${i}]`, O.rtMr + i * M).copy(out, O.rtMr + i * M);
  }
  checkFieldSize(t.reportData, 64, `${field}.reportData`, O.reportData).copy(out, O.reportData);
  return out;
}
