import { ATTRIBUTES_SIZE, type Attributes, parseAttributes, writeAttributes } from './attributes.js';
import { ByteReader, checkFieldSize, checkUint } from './bytes.js';

/** sgx_report_body_t (linux-sgx common/inc/sgx_report.h). */
export const REPORT_BODY_SIZE = 384;

export const ReportBodyOffsets = {
  cpuSvn: 0,
  miscSelect: 16,
  reserved1: 20,
  isvExtProdId: 32,
  attributes: 48,
  mrEnclave: 64,
  reserved2: 96,
  mrSigner: 128,
  reserved3: 160,
  configId: 192,
  isvProdId: 256,
  isvSvn: 258,
  configSvn: 260,
  reserved4: 262,
  isvFamilyId: 304,
  reportData: 320,
} as const;

export const ReportBodySizes = {
  cpuSvn: 16,
  isvExtProdId: 16,
  attributes: ATTRIBUTES_SIZE,
  mrEnclave: 32,
  mrSigner: 32,
  configId: 64,
  isvFamilyId: 16,
  reportData: 64,
} as const;

export interface ReportBody {
  cpuSvn: Buffer;
  miscSelect: number;
  isvExtProdId: Buffer;
  attributes: Attributes;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  configId: Buffer;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Buffer;
  reportData: Buffer;
  /**
   * The 384 bytes as parsed. Encoding starts from these bytes (then writes the named fields over them), so
   * reserved bytes survive a parse → encode round trip; without `raw` reserved bytes are zero.
   */
  raw?: Buffer;
}

/** Parse the 384 bytes at `offset`; `base`/`field` only shape error messages for nested use. */
export function parseReportBody(buf: Buffer, offset = 0, field = 'reportBody', base = 0): ReportBody {
  const r = new ByteReader(buf, base);
  const O = ReportBodyOffsets;
  const S = ReportBodySizes;
  r.need(offset, REPORT_BODY_SIZE, field);
  return {
    cpuSvn: r.bytes(offset + O.cpuSvn, S.cpuSvn, `${field}.cpuSvn`),
    miscSelect: r.u32(offset + O.miscSelect, `${field}.miscSelect`),
    isvExtProdId: r.bytes(offset + O.isvExtProdId, S.isvExtProdId, `${field}.isvExtProdId`),
    attributes: parseAttributes(buf, offset + O.attributes, `${field}.attributes`, base),
    mrEnclave: r.bytes(offset + O.mrEnclave, S.mrEnclave, `${field}.mrEnclave`),
    mrSigner: r.bytes(offset + O.mrSigner, S.mrSigner, `${field}.mrSigner`),
    configId: r.bytes(offset + O.configId, S.configId, `${field}.configId`),
    isvProdId: r.u16(offset + O.isvProdId, `${field}.isvProdId`),
    isvSvn: r.u16(offset + O.isvSvn, `${field}.isvSvn`),
    configSvn: r.u16(offset + O.configSvn, `${field}.configSvn`),
    isvFamilyId: r.bytes(offset + O.isvFamilyId, S.isvFamilyId, `${field}.isvFamilyId`),
    reportData: r.bytes(offset + O.reportData, S.reportData, `${field}.reportData`),
    raw: r.bytes(offset, REPORT_BODY_SIZE, field),
  };
}

export function encodeReportBody(body: ReportBody, field = 'reportBody'): Buffer {
  const O = ReportBodyOffsets;
  const S = ReportBodySizes;
  const out = body.raw ? checkFieldSize(body.raw, REPORT_BODY_SIZE, `${field}.raw`, 0) : Buffer.alloc(REPORT_BODY_SIZE);
  checkFieldSize(body.cpuSvn, S.cpuSvn, `${field}.cpuSvn`, O.cpuSvn).copy(out, O.cpuSvn);
  out.writeUInt32LE(checkUint(body.miscSelect, 32, `${field}.miscSelect`, O.miscSelect), O.miscSelect);
  checkFieldSize(body.isvExtProdId, S.isvExtProdId, `${field}.isvExtProdId`, O.isvExtProdId).copy(out, O.isvExtProdId);
  writeAttributes(out, O.attributes, body.attributes, `${field}.attributes`);
  checkFieldSize(body.mrEnclave, S.mrEnclave, `${field}.mrEnclave`, O.mrEnclave).copy(out, O.mrEnclave);
  checkFieldSize(body.mrSigner, S.mrSigner, `${field}.mrSigner`, O.mrSigner).copy(out, O.mrSigner);
  checkFieldSize(body.configId, S.configId, `${field}.configId`, O.configId).copy(out, O.configId);
  out.writeUInt16LE(checkUint(body.isvProdId, 16, `${field}.isvProdId`, O.isvProdId), O.isvProdId);
  out.writeUInt16LE(checkUint(body.isvSvn, 16, `${field}.isvSvn`, O.isvSvn), O.isvSvn);
  out.writeUInt16LE(checkUint(body.configSvn, 16, `${field}.configSvn`, O.configSvn), O.configSvn);
  checkFieldSize(body.isvFamilyId, S.isvFamilyId, `${field}.isvFamilyId`, O.isvFamilyId).copy(out, O.isvFamilyId);
  checkFieldSize(body.reportData, S.reportData, `${field}.reportData`, O.reportData).copy(out, O.reportData);
  return out;
}

export function emptyReportBody(): ReportBody {
  return {
    cpuSvn: Buffer.alloc(ReportBodySizes.cpuSvn),
    miscSelect: 0,
    isvExtProdId: Buffer.alloc(ReportBodySizes.isvExtProdId),
    attributes: { flags: 0n, xfrm: 0n },
    mrEnclave: Buffer.alloc(ReportBodySizes.mrEnclave),
    mrSigner: Buffer.alloc(ReportBodySizes.mrSigner),
    configId: Buffer.alloc(ReportBodySizes.configId),
    isvProdId: 0,
    isvSvn: 0,
    configSvn: 0,
    isvFamilyId: Buffer.alloc(ReportBodySizes.isvFamilyId),
    reportData: Buffer.alloc(ReportBodySizes.reportData),
  };
}
