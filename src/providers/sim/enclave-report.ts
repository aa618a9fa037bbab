import { timingSafeEqual } from 'node:crypto';
import type { Attributes } from '../../sgx/attributes.js';
import { emptyReportBody, encodeReportBody, REPORT_BODY_SIZE, type ReportBody } from '../../sgx/report-body.js';
import { encodeReport, parseReport, REPORT_SIZE, ReportOffsets } from '../../sgx/report.js';
import { parseTargetInfo, type TargetInfo } from '../../sgx/target-info.js';
import { SgxParseError } from '../../sgx/errors.js';
import { aesCmac } from './cmac.js';
import { SimInputError } from './errors.js';
import { deriveReportKey, type ReportKeySecret, type ReportKeyTarget } from './report-key.js';

/**
 * Simulated EREPORT and report verification (EGETKEY + CMAC), spec §6. Anyone holding the
 * ReportKeySecret can forge reports for this platform: that is the nature of a simulator.
 */

/** The reporting enclave's SECS values plus its report data. */
export interface SimEnclaveIdentity {
  mrEnclave: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  isvSvn: number;
  attributes: Attributes;
  miscSelect?: number;
  configSvn?: number;
  configId?: Buffer;
  isvExtProdId?: Buffer;
  isvFamilyId?: Buffer;
}

export interface EreportInput extends SimEnclaveIdentity {
  /** The target's 512-byte sgx_target_info_t, or its parsed form. */
  targetInfo: Buffer | TargetInfo;
  /** Up to 64 bytes; shorter input is zero-padded. */
  reportData: Buffer;
}

const REPORT_DATA_SIZE = 64;

function toTarget(ti: Buffer | TargetInfo): ReportKeyTarget {
  if (Buffer.isBuffer(ti)) {
    try {
      return parseTargetInfo(ti);
    } catch (err) {
      if (err instanceof SgxParseError) {
        throw new SimInputError('INVALID_SIZE', `target info: ${err.message}`, 'targetInfo');
      }
      throw err;
    }
  }
  return ti;
}

function pad(data: Buffer, size: number, field: string): Buffer {
  if (data.length > size) {
    throw new SimInputError('INVALID_SIZE', `${field} is ${data.length} bytes, at most ${size} allowed`, field);
  }
  const out = Buffer.alloc(size);
  data.copy(out);
  return out;
}

/** The 384-byte report body an enclave with `id` would get on this platform. */
export function simReportBody(secret: ReportKeySecret, id: SimEnclaveIdentity, reportData: Buffer): ReportBody {
  const body = emptyReportBody();
  body.cpuSvn = Buffer.from(secret.cpuSvn);
  body.miscSelect = id.miscSelect ?? 0;
  body.attributes = id.attributes;
  body.mrEnclave = pad(id.mrEnclave, 32, 'mrEnclave');
  body.mrSigner = pad(id.mrSigner, 32, 'mrSigner');
  body.isvProdId = id.isvProdId;
  body.isvSvn = id.isvSvn;
  body.configSvn = id.configSvn ?? 0;
  if (id.configId) body.configId = pad(id.configId, 64, 'configId');
  if (id.isvExtProdId) body.isvExtProdId = pad(id.isvExtProdId, 16, 'isvExtProdId');
  if (id.isvFamilyId) body.isvFamilyId = pad(id.isvFamilyId, 16, 'isvFamilyId');
  body.reportData = pad(reportData, REPORT_DATA_SIZE, 'reportData');
  return body;
}

/** EREPORT: a 432-byte sgx_report_t MACed with the report key of `input.targetInfo`. */
export function ereport(secret: ReportKeySecret, input: EreportInput): Buffer {
  const target = toTarget(input.targetInfo);
  const body = simReportBody(secret, input, input.reportData);
  let bodyBytes: Buffer;
  try {
    bodyBytes = encodeReportBody(body);
  } catch (err) {
    if (err instanceof SgxParseError) throw new SimInputError('INVALID_ARGUMENT', err.message, err.field);
    throw err;
  }
  const key = deriveReportKey(secret, target, secret.keyId);
  return encodeReport({ body, keyId: Buffer.from(secret.keyId), mac: aesCmac(key, bodyBytes) });
}

/**
 * What the target enclave `self` does with a report it received (sgx_verify_report): derive its own
 * report key for the report's key id and compare the CMAC over the body in constant time.
 */
export function verifyReportMac(secret: ReportKeySecret, self: ReportKeyTarget, report: Buffer): boolean {
  if (!Buffer.isBuffer(report) || report.length !== REPORT_SIZE) return false;
  const parsed = parseReport(report);
  const key = deriveReportKey(secret, self, parsed.keyId);
  const body = report.subarray(ReportOffsets.body, ReportOffsets.body + REPORT_BODY_SIZE);
  return timingSafeEqual(aesCmac(key, body), parsed.mac);
}
