import { asBuffer, ByteReader, checkFieldSize, expectExactSize } from './bytes.js';
import { encodeReportBody, parseReportBody, REPORT_BODY_SIZE, type ReportBody } from './report-body.js';

/** sgx_report_t: body ‖ key_id ‖ mac. */
export const REPORT_SIZE = 432;
export const ReportOffsets = { body: 0, keyId: 384, mac: 416 } as const;
export const REPORT_KEY_ID_SIZE = 32;
export const REPORT_MAC_SIZE = 16;

export interface Report {
  body: ReportBody;
  keyId: Buffer;
  mac: Buffer;
}

export function parseReport(input: Uint8Array): Report {
  const buf = asBuffer(input, 'report');
  expectExactSize(buf, REPORT_SIZE, 'report');
  const r = new ByteReader(buf);
  return {
    body: parseReportBody(buf, ReportOffsets.body, 'report.body'),
    keyId: r.bytes(ReportOffsets.keyId, REPORT_KEY_ID_SIZE, 'report.keyId'),
    mac: r.bytes(ReportOffsets.mac, REPORT_MAC_SIZE, 'report.mac'),
  };
}

export function encodeReport(report: Report): Buffer {
  const out = Buffer.alloc(REPORT_SIZE);
  encodeReportBody(report.body, 'report.body').copy(out, ReportOffsets.body);
  checkFieldSize(report.keyId, REPORT_KEY_ID_SIZE, 'report.keyId', ReportOffsets.keyId).copy(out, ReportOffsets.keyId);
  checkFieldSize(report.mac, REPORT_MAC_SIZE, 'report.mac', ReportOffsets.mac).copy(out, ReportOffsets.mac);
  return out;
}

/** The 384-byte body of a 432-byte report, the part that goes into a quote and that the MAC covers. */
export function reportBodyBytes(report: Uint8Array): Buffer {
  const buf = asBuffer(report, 'report');
  expectExactSize(buf, REPORT_SIZE, 'report');
  return Buffer.from(buf.subarray(ReportOffsets.body, ReportOffsets.body + REPORT_BODY_SIZE));
}
