import { createHash, createPublicKey, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { AesmCode, AesmError } from '../../aesm/errors.js';
import { AttributeFlags } from '../../sgx/attributes.js';
import { CertType, ECDSA_SIGNATURE_SIZE, pemChainCertificationData } from '../../sgx/certification-data.js';
import { encodeQeReportInfo, parseQeReportInfo, QE_REPORT_INFO_SIZE } from '../../sgx/qe-report-info.js';
import { QUOTE_USER_DATA_SIZE } from '../../sgx/quote-header.js';
import { buildQuoteV3, QUOTE_V3_MIN_SIZE, QUOTE_V3_SIGNED_LENGTH, QuoteV3Offsets } from '../../sgx/quote.js';
import { REPORT_BODY_SIZE } from '../../sgx/report-body.js';
import { REPORT_KEY_ID_SIZE, REPORT_MAC_SIZE, REPORT_SIZE, ReportOffsets, reportBodyBytes } from '../../sgx/report.js';
import { encodeTargetInfo, parseTargetInfo, type TargetInfo } from '../../sgx/target-info.js';
import { SgxParseError } from '../../sgx/errors.js';
import { aesCmac } from './cmac.js';
import { ereport, verifyReportMac } from './enclave-report.js';
import { deriveReportKey, type ReportKeySecret, type ReportKeyTarget } from './report-key.js';
import type { SimEnclaveRecord } from './state.js';

/**
 * The simulated QE3 (+ PCE): verifies application reports like hardware (report MAC under the QE's own
 * report key), signs quotes with its attestation key, and has that key certified by the PCK key
 * through a QE report targeted at the PCE (spec §1.5–§2, §6).
 */

/** The 32 bytes of QE authentication data Intel's quote library always uses (00 01 … 1F). */
export const QE_AUTH_DATA: Buffer = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

export interface QuotingEnclaveConfig {
  secret: ReportKeySecret;
  qe: SimEnclaveRecord;
  pce: SimEnclaveRecord;
  qeId: Buffer;
  /** Current PCE ISVSVN, put in the quote header. */
  pceSvn: number;
  /** The PCK private key (held by the PCE). */
  pckKey: KeyObject;
  /** PEM leaf (PCK) ‖ intermediate ‖ root. */
  pckChainPem: string[];
}

export interface AttestationKey {
  generation: number;
  key: KeyObject;
}

function targetOf(e: SimEnclaveRecord): TargetInfo {
  return { mrEnclave: e.mrEnclave, attributes: e.attributes, configSvn: 0, miscSelect: e.miscSelect, configId: Buffer.alloc(64) };
}

function selfOf(e: SimEnclaveRecord): ReportKeyTarget {
  return targetOf(e);
}

/** x‖y (64 bytes, big-endian) of a P-256 key, the quote's attest_pub_key encoding. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
}

function p1363Sign(data: Buffer, key: KeyObject): Buffer {
  return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

/** Everything fixed for one attestation key: built once, reused by every quote. */
interface CertifiedKey {
  generation: number;
  key: KeyObject;
  attestPubKey: Buffer;
  pubKeyId: Buffer;
  qeReportBody: Buffer;
  qeReportSignature: Buffer;
  /**
   * A complete quote for this key with a zero report body and signature: every quote is this
   * template with the app's report body and the signature over [0, 432) written in.
   */
  template: Buffer;
}

export class SimQuotingEnclave {
  /** The QE's 512-byte TARGETINFO, what InitQuoteEx returns. */
  readonly targetInfo: Buffer;
  /** Type-5 certification data (PEM chain + NUL), fixed per platform. */
  private readonly certData: Buffer;
  private readonly certified: CertifiedKey;
  /** The QE's own report key for the last key id seen (EGETKEY result; fixed per boot key id). */
  private ownReportKey: { keyId: Buffer; key: Buffer } | undefined;

  constructor(
    private readonly cfg: QuotingEnclaveConfig,
    attKey: AttestationKey,
  ) {
    this.targetInfo = encodeTargetInfo(targetOf(cfg.qe));
    this.certData = pemChainCertificationData(cfg.pckChainPem);
    this.certified = this.certify(attKey);
  }

  get generation(): number {
    return this.certified.generation;
  }

  /** ECDSA_ID: SHA-256(attest_pub_key ‖ auth data), the report_data[0..32) of the certified QE report. */
  get pubKeyId(): Buffer {
    return Buffer.from(this.certified.pubKeyId);
  }

  get attestPubKey(): Buffer {
    return Buffer.from(this.certified.attestPubKey);
  }

  /** Exact size of every quote this key produces (1020 + auth data + certification data). */
  get quoteSize(): number {
    return QUOTE_V3_MIN_SIZE + QE_AUTH_DATA.length + this.certData.length;
  }

  /** The QE report for the PCE, certified by the PCK key (what real QE3 does in gen_att_key + PCE certify_enclave). */
  private certify(attKey: AttestationKey): CertifiedKey {
    const attestPubKey = rawPublicKey(attKey.key);
    const pubKeyId = createHash('sha256').update(attestPubKey).update(QE_AUTH_DATA).digest();
    const reportData = Buffer.concat([pubKeyId, Buffer.alloc(32)]);
    const qeReport = ereport(this.cfg.secret, { ...this.cfg.qe, targetInfo: targetOf(this.cfg.pce), reportData });
    // The PCE's checks before it signs: the report must be for the PCE, from an enclave with PROVISION_KEY.
    if (!verifyReportMac(this.cfg.secret, selfOf(this.cfg.pce), qeReport)) {
      throw new AesmError(AesmCode.KEY_CERTIFICATION_ERROR, 'simulated PCE rejected the QE report MAC');
    }
    if ((this.cfg.qe.attributes.flags & AttributeFlags.PROVISION_KEY) === 0n) {
      throw new AesmError(AesmCode.KEY_CERTIFICATION_ERROR, 'simulated QE lacks PROVISION_KEY');
    }
    const qeReportBody = reportBodyBytes(qeReport);
    const qeReportSignature = p1363Sign(qeReportBody, this.cfg.pckKey);
    const template = buildQuoteV3({
      header: this.header(),
      reportBody: Buffer.alloc(REPORT_BODY_SIZE),
      signature: Buffer.alloc(ECDSA_SIGNATURE_SIZE),
      attestPubKey,
      qeReport: qeReportBody,
      qeReportSignature,
      qeAuthData: QE_AUTH_DATA,
      certificationData: { type: CertType.PCK_CERT_CHAIN, data: this.certData },
    });
    return { generation: attKey.generation, key: attKey.key, attestPubKey, pubKeyId, qeReportBody, qeReportSignature, template };
  }

  /**
   * sgx_verify_report inside the QE (what verifyReportMac does), with the QE's report key derived
   * once per key id instead of once per quote.
   */
  private reportMacValid(report: Buffer): boolean {
    const keyId = report.subarray(ReportOffsets.keyId, ReportOffsets.keyId + REPORT_KEY_ID_SIZE);
    let own = this.ownReportKey;
    if (!own || !own.keyId.equals(keyId)) {
      own = { keyId: Buffer.from(keyId), key: deriveReportKey(this.cfg.secret, selfOf(this.cfg.qe), keyId) };
      this.ownReportKey = own;
    }
    const mac = aesCmac(own.key, report.subarray(ReportOffsets.body, ReportOffsets.body + REPORT_BODY_SIZE));
    return timingSafeEqual(mac, report.subarray(ReportOffsets.mac, ReportOffsets.mac + REPORT_MAC_SIZE));
  }

  private header() {
    const userData = Buffer.alloc(QUOTE_USER_DATA_SIZE);
    this.cfg.qeId.copy(userData);
    return { qeSvn: this.cfg.qe.isvSvn, pceSvn: this.cfg.pceSvn, userData };
  }

  /**
   * GetQuoteEx: `report` must be a 432-byte REPORT targeted at this QE (else AESM 3 / 47). With a 960-byte
   * `qeReportInfo`, also returns it with a QE report for the app: report_data = SHA-256(nonce ‖ quote) ‖ 0³².
   *
   * The ECDSA signature is computed synchronously, on the event loop (~40-45 µs on a 2 vCPU VM).
   * `crypto.sign` with a callback would move ~30 µs of that off the loop but costs more CPU in all
   * (Node 20: 12 µs on the calling thread plus the signature and the wake-ups on libuv's pool, +15 µs
   * per signature in a loop and more in the daemon), and on a node the daemon shares, total CPU is
   * what quotes cost. A quote blocks the loop for one signature, far below any client deadline
   * (docs/benchmarks.md "What the quote path spends").
   */
  quote(report: Buffer, qeReportInfo?: Buffer): { quote: Buffer; qeReportInfo?: Buffer } {
    const quote = this.unsignedQuote(report, qeReportInfo);
    p1363Sign(quote.subarray(0, QUOTE_V3_SIGNED_LENGTH), this.certified.key).copy(quote, QuoteV3Offsets.signature);
    return this.withQeReport(quote, qeReportInfo);
  }

  /** Checks the inputs and fills the template with the report body; the signature is still zero. */
  private unsignedQuote(report: Buffer, qeReportInfo?: Buffer): Buffer {
    if (!Buffer.isBuffer(report) || report.length !== REPORT_SIZE) {
      throw new AesmError(AesmCode.PARAMETER_ERROR, `report must be ${REPORT_SIZE} bytes, got ${report?.length ?? 0}`);
    }
    if (qeReportInfo !== undefined && qeReportInfo.length !== QE_REPORT_INFO_SIZE) {
      throw new AesmError(AesmCode.PARAMETER_ERROR, `qe_report_info must be ${QE_REPORT_INFO_SIZE} bytes, got ${qeReportInfo.length}`);
    }
    if (!this.reportMacValid(report)) {
      throw new AesmError(AesmCode.INVALID_REPORT, 'report MAC does not verify: it was not produced on this platform for the QE target info');
    }
    const c = this.certified;
    const quote = Buffer.allocUnsafe(c.template.length);
    c.template.copy(quote);
    report.copy(quote, QuoteV3Offsets.reportBody, ReportOffsets.body, ReportOffsets.body + REPORT_BODY_SIZE);
    return quote;
  }

  private withQeReport(quote: Buffer, qeReportInfo?: Buffer): { quote: Buffer; qeReportInfo?: Buffer } {
    if (!qeReportInfo) return { quote };
    const info = parseQeReportInfo(qeReportInfo);
    let appTarget: TargetInfo;
    try {
      appTarget = parseTargetInfo(info.appEnclaveTargetInfo);
    } catch (err) {
      if (err instanceof SgxParseError) throw new AesmError(AesmCode.PARAMETER_ERROR, `qe_report_info target info: ${err.message}`);
      throw err;
    }
    const digest = createHash('sha256').update(info.nonce).update(quote).digest();
    const qeReport = ereport(this.cfg.secret, { ...this.cfg.qe, targetInfo: appTarget, reportData: Buffer.concat([digest, Buffer.alloc(32)]) });
    return { quote, qeReportInfo: encodeQeReportInfo({ ...info, qeReport }) };
  }
}
