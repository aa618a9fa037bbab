import { asBuffer, ByteReader, checkFieldSize, expectExactSize } from './bytes.js';
import { REPORT_SIZE } from './report.js';
import { TARGET_INFO_SIZE } from './target-info.js';

/** sgx_qe_report_info_t: nonce ‖ app enclave target info ‖ QE report (written by the QE). */
export const QE_REPORT_INFO_SIZE = 960;
export const QE_REPORT_INFO_NONCE_SIZE = 16;
export const QeReportInfoOffsets = { nonce: 0, appEnclaveTargetInfo: 16, qeReport: 528 } as const;

export interface QeReportInfo {
  nonce: Buffer;
  appEnclaveTargetInfo: Buffer; // 512 raw; parseTargetInfo() for fields
  qeReport: Buffer; // 432 raw; parseReport() for fields
}

export function parseQeReportInfo(input: Uint8Array): QeReportInfo {
  const buf = asBuffer(input, 'qeReportInfo');
  expectExactSize(buf, QE_REPORT_INFO_SIZE, 'qeReportInfo');
  const r = new ByteReader(buf);
  const O = QeReportInfoOffsets;
  return {
    nonce: r.bytes(O.nonce, QE_REPORT_INFO_NONCE_SIZE, 'qeReportInfo.nonce'),
    appEnclaveTargetInfo: r.bytes(O.appEnclaveTargetInfo, TARGET_INFO_SIZE, 'qeReportInfo.appEnclaveTargetInfo'),
    qeReport: r.bytes(O.qeReport, REPORT_SIZE, 'qeReportInfo.qeReport'),
  };
}

export function encodeQeReportInfo(info: QeReportInfo): Buffer {
  const O = QeReportInfoOffsets;
  const out = Buffer.alloc(QE_REPORT_INFO_SIZE);
  checkFieldSize(info.nonce, QE_REPORT_INFO_NONCE_SIZE, 'qeReportInfo.nonce', O.nonce).copy(out, O.nonce);
  checkFieldSize(info.appEnclaveTargetInfo, TARGET_INFO_SIZE, 'qeReportInfo.appEnclaveTargetInfo', O.appEnclaveTargetInfo)
    .copy(out, O.appEnclaveTargetInfo);
  checkFieldSize(info.qeReport, REPORT_SIZE, 'qeReportInfo.qeReport', O.qeReport).copy(out, O.qeReport);
  return out;
}
