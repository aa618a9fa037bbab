import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  encodeQeReportInfo,
  parseQeReportInfo,
  parseQuote,
  parseReport,
  QE_REPORT_INFO_NONCE_SIZE,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
} from '../sgx/index.js';

/**
 * Build the 960-byte `sgx_qe_report_info_t` to send with GetQuoteEx: a fresh random nonce, your
 * enclave's target info (the QE's report is targeted at it, so your enclave can check its MAC) and
 * an empty QE report for the QE to fill in.
 */
export function createQeReportInfo(appEnclaveTargetInfo: Buffer, nonce: Buffer = randomBytes(QE_REPORT_INFO_NONCE_SIZE)): Buffer {
  return encodeQeReportInfo({
    nonce,
    appEnclaveTargetInfo,
    qeReport: Buffer.alloc(REPORT_SIZE),
  });
}

export type QeReportCheckFailure = 'nonce-changed' | 'target-info-changed' | 'report-data-mismatch' | 'malformed';

export interface QeReportCheck {
  ok: boolean;
  failure?: QeReportCheckFailure;
  /** What the QE report's report_data must be: SHA-256(nonce ‖ quote) ‖ 32 zero bytes. */
  expectedReportData: Buffer;
  actualReportData?: Buffer;
  /** The QE's REPORT (432 bytes), for a MAC check by the enclave it targets. */
  qeReport?: Buffer;
}

/**
 * Check the binding the QE puts into a returned `qe_report_info` (spec §4.1): the QE report's
 * report_data is SHA-256(nonce ‖ quote) followed by 32 zero bytes, and the nonce and target info
 * came back unchanged. This proves the quote came from the QE that made the report; that the report
 * itself is genuine is the targeted enclave's job (it verifies the MAC with EGETKEY; with the
 * simulator, `SimPlatform` can do it).
 *
 * @param sent the qe_report_info you sent; @param returned the one the daemon returned;
 * @param quote the quote as returned; zero padding after the quote (a buffer larger than the quote
 *   size) is left out of the hash, as the QE hashes exactly the quote's bytes.
 */
export function checkQeReportInfo(sent: Buffer, returned: Buffer, quote: Buffer): QeReportCheck {
  const before = parseQeReportInfo(sent);
  const expectedReportData = Buffer.concat([
    createHash('sha256').update(before.nonce).update(withoutPadding(quote)).digest(),
    Buffer.alloc(32),
  ]);
  let after;
  try {
    after = parseQeReportInfo(returned);
  } catch {
    return { ok: false, failure: 'malformed', expectedReportData };
  }
  if (!after.nonce.equals(before.nonce)) return { ok: false, failure: 'nonce-changed', expectedReportData };
  if (after.appEnclaveTargetInfo.length !== TARGET_INFO_SIZE || !after.appEnclaveTargetInfo.equals(before.appEnclaveTargetInfo)) {
    return { ok: false, failure: 'target-info-changed', expectedReportData };
  }
  const actualReportData = parseReport(after.qeReport).body.reportData;
  const ok = actualReportData.length === expectedReportData.length && timingSafeEqual(actualReportData, expectedReportData);
  return ok
    ? { ok, expectedReportData, actualReportData, qeReport: after.qeReport }
    : { ok, failure: 'report-data-mismatch', expectedReportData, actualReportData, qeReport: after.qeReport };
}

/** The quote without trailing zero padding; unparseable input is hashed as given. */
function withoutPadding(quote: Buffer): Buffer {
  let trailing: Buffer;
  try {
    trailing = parseQuote(quote).trailing;
  } catch {
    return quote;
  }
  if (trailing.length === 0 || trailing.some((b) => b !== 0)) return quote;
  return quote.subarray(0, quote.length - trailing.length);
}
