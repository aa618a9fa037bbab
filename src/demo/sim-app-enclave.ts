import { performance } from 'node:perf_hooks';
import type { AesmClient } from '../client/index.js';
import { checkQeReportInfo, createQeReportInfo, type QeReportCheckFailure } from '../client/index.js';
import { ereport, verifyReportMac, type SimEnclaveIdentity } from '../providers/sim/enclave-report.js';
import type { ReportKeySecret, ReportKeyTarget } from '../providers/sim/report-key.js';
import { AttributeFlags, encodeTargetInfo, type Attributes } from '../sgx/index.js';

/** A production-mode 64-bit enclave: INITTED | MODE64BIT, XFRM = x87 | SSE. */
export const DEFAULT_APP_ATTRIBUTES: Attributes = {
  flags: AttributeFlags.INITTED | AttributeFlags.MODE64BIT,
  xfrm: 0x3n,
};

/**
 * A SIMULATED application enclave: what an enclave does with EREPORT and EGETKEY, done in Node with
 * the simulated platform's report-key secret. Anyone who can read that secret can forge reports:
 * this exists for development, CI and the demo only.
 */
export class SimAppEnclave {
  private readonly self: ReportKeyTarget;

  constructor(
    private readonly secret: ReportKeySecret,
    readonly identity: SimEnclaveIdentity,
  ) {
    this.self = {
      mrEnclave: identity.mrEnclave,
      attributes: identity.attributes,
      miscSelect: identity.miscSelect ?? 0,
      configSvn: identity.configSvn ?? 0,
      configId: identity.configId ?? Buffer.alloc(64),
    };
  }

  /** This enclave's own `sgx_target_info_t`, so the QE can target its report back here. */
  targetInfo(): Buffer {
    return encodeTargetInfo(this.self);
  }

  /** EREPORT targeted at `targetInfo` (the QE's, for a quote), with up to 64 bytes of report data. */
  report(targetInfo: Buffer, reportData: Buffer): Buffer {
    return ereport(this.secret, { ...this.identity, targetInfo, reportData });
  }

  /** sgx_verify_report: is `report` MACed for this enclave on this platform? */
  verifyReport(report: Buffer): boolean {
    return verifyReportMac(this.secret, this.self, report);
  }
}

export interface SimQuoteOutcome {
  /** The QE's target info the daemon returned. */
  qeTargetInfo: Buffer;
  report: Buffer;
  quote: Buffer;
  /** Present when `withQeReportInfo` was asked for. */
  qeReport?: {
    /** report_data == SHA-256(nonce ‖ quote) ‖ 0³², nonce and target info echoed. */
    bindingOk: boolean;
    bindingFailure?: QeReportCheckFailure;
    /** The QE report's MAC verifies for this enclave (so a genuine QE on this platform made it). */
    macOk: boolean;
  };
  timingsMs: { targetInfo: number; report: number; quote: number };
}

/**
 * The whole out-of-process flow an SGX application runs, with a simulated enclave: get the QE's
 * target info (DCAP sequence), make a REPORT for it, ask for the quote, and optionally check the
 * QE report that comes back.
 */
export async function quoteFromSimEnclave(
  client: AesmClient,
  enclave: SimAppEnclave,
  reportData: Buffer,
  opts: { withQeReportInfo?: boolean } = {},
): Promise<SimQuoteOutcome> {
  let t = performance.now();
  const qeTargetInfo = await client.getTargetInfo();
  const targetInfoMs = performance.now() - t;

  t = performance.now();
  const report = enclave.report(qeTargetInfo, reportData);
  const reportMs = performance.now() - t;

  t = performance.now();
  const sent = opts.withQeReportInfo ? createQeReportInfo(enclave.targetInfo()) : undefined;
  const { quote, qeReportInfo } = await client.getQuote(report, sent ? { qeReportInfo: sent } : {});
  const quoteMs = performance.now() - t;

  const outcome: SimQuoteOutcome = { qeTargetInfo, report, quote, timingsMs: { targetInfo: targetInfoMs, report: reportMs, quote: quoteMs } };
  if (sent && qeReportInfo) {
    const check = checkQeReportInfo(sent, qeReportInfo, quote);
    outcome.qeReport = {
      bindingOk: check.ok,
      bindingFailure: check.failure,
      macOk: check.qeReport !== undefined && enclave.verifyReport(check.qeReport),
    };
  }
  return outcome;
}
