/**
 * AESM request dispatch: the per-call semantics of real aesmd (wire spec §4.2, §8), generic over
 * providers. The provider only produces key material and quotes; everything the wire demands
 * (key matching, list validation, sizes, padding, which fields appear in which answer) is here.
 */
import type { Logger } from 'pino';
import {
  AesmCode,
  AesmError,
  aesmErrorName,
  decodeRequest,
  encodeResponseFrameParts,
  errorResponseFor,
  type AesmRequest,
  type AesmResponse,
} from '../aesm/index.js';
import {
  ATT_KEY_ID_EXT_SIZE,
  ATT_KEY_ID_LIST_HEADER_SIZE,
  ATT_KEY_ID_LIST_MAX,
  AttKeyIdListOffsets,
  AttKeyIdOffsets,
  QE_REPORT_INFO_SIZE,
  REPORT_SIZE,
  SGX_QL_ALG_ECDSA_P256,
  TARGET_INFO_SIZE,
  attKeyIdBase,
} from '../sgx/index.js';
import type { QuoteProvider } from '../providers/provider.js';
import type { RequestOutcome } from './aesm-socket-server.js';
import type { DaemonMetrics } from './metrics.js';
import type { ProviderQueue } from './provider-queue.js';

/** EPID, launch-token, white-list and other non-quote_ex requests: answered, in their own field, with this. */
export const LEGACY_REQUEST_ERROR_CODE = AesmCode.SERVICE_UNAVAILABLE;
/** ECDSA pub_key_id (ECDSA_ID) size: the only buf_size aesmd accepts with b_pub_key_id (spec §4.2). */
export const PUB_KEY_ID_SIZE = 32;
/**
 * Largest GetQuoteEx buf_size we allocate (the reply is padded to it). A real ECDSA quote with its
 * PCK certificate chain is about 5 KB and Gramine asks for 8 KiB; 64 KiB leaves ample margin while a
 * neighbour's unread replies cost at most --max-connections x 64 KiB. Above it we answer like aesmd
 * does when it cannot allocate the buffer: AESM_OUT_OF_MEMORY_ERROR.
 */
export const MAX_QUOTE_BUFFER = 64 * 1024;
/** aesmd's default quoting type, used to break ties in SelectAttKeyID. */
const DEFAULT_QUOTING_ALGORITHM = SGX_QL_ALG_ECDSA_P256;

export interface DispatcherOptions {
  provider: QuoteProvider;
  queue: ProviderQueue;
  metrics: DaemonMetrics;
  logger: Logger;
}

const fail = (code: number, why: string): never => {
  throw new AesmError(code, why);
};

export class AesmDispatcher {
  private keyIds: Buffer[] | undefined;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Load the provider's key ids now (so InitQuoteEx without pub_key_id never waits for the provider). */
  async warmUp(): Promise<void> {
    await this.supportedKeyIds();
  }

  /** Socket-server entry point: body in, response body (or a reason to close silently) out. Never throws. */
  async handle(body: Buffer, conn: { id: number }): Promise<RequestOutcome> {
    const started = process.hrtime.bigint();
    const decoded = decodeRequest(body);
    if (!decoded.ok) {
      // Logged (aggregated) by the socket server: a neighbour can send these as fast as it likes.
      this.opts.logger.debug({ conn: conn.id, reason: decoded.reason, bytes: body.length }, 'unparseable request closed without reply');
      return { rejectReason: decoded.reason };
    }
    const req = decoded.request;
    const operation = req.kind === 'legacy' ? 'legacy' : req.kind;
    const { metrics, logger } = this.opts;
    metrics.inFlight.inc();
    let response: AesmResponse;
    let detail: string | undefined;
    try {
      if (logger.isLevelEnabled('debug')) logger.debug({ conn: conn.id, operation, request: describeRequest(req), missingRequired: decoded.missingRequired }, 'request');
      if (decoded.missingRequired.length > 0) {
        // aesmd dispatches on the sub-message and answers 1 when required fields are missing (§8 item 13).
        fail(AesmCode.UNEXPECTED_ERROR, `missing required field(s) ${decoded.missingRequired.join(', ')}`);
      }
      response = await this.dispatch(req);
    } catch (e) {
      const code = e instanceof AesmError ? e.code : AesmCode.UNEXPECTED_ERROR;
      if (!(e instanceof AesmError)) logger.error({ conn: conn.id, operation, err: (e as Error).message }, 'unexpected error while dispatching');
      detail = (e as Error).message;
      response = this.errorResponse(req, code);
    } finally {
      metrics.inFlight.dec();
    }
    let frame: Buffer[];
    try {
      frame = encodeResponseFrameParts(response);
    } catch (e) {
      // Only reachable through a provider returning unencodable values; still answer in the right field.
      logger.error({ conn: conn.id, operation, err: (e as Error).message }, 'response could not be encoded');
      response = this.errorResponse(req, AesmCode.UNEXPECTED_ERROR);
      frame = encodeResponseFrameParts(response);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const code = response.errorCode;
    metrics.requests.inc({ operation, code: String(code), result: aesmErrorName(code) });
    metrics.latency.observe({ operation }, seconds);
    // The per-request line is built only when it will be written (the bench and busy nodes run at warn).
    if (logger.isLevelEnabled(code === 0 ? 'info' : 'warn')) {
      const line = { conn: conn.id, operation, code, result: aesmErrorName(code), latencyMs: Math.round(seconds * 1e6) / 1e3, ...(detail ? { detail } : {}) };
      if (code === 0) logger.info(line, 'aesm request');
      else logger.warn(line, 'aesm request failed');
    }
    return { frame };
  }

  private errorResponse(req: AesmRequest, code: number): AesmResponse {
    const res = errorResponseFor(req, code);
    // qe_report_info is echoed unmodified on error (spec §4.2), when it has the size clients accept.
    if (req.kind === 'getQuoteEx' && res.kind === 'getQuoteEx' && req.qeReportInfo?.length === QE_REPORT_INFO_SIZE) {
      res.qeReportInfo = req.qeReportInfo;
    }
    return res;
  }

  private async dispatch(req: AesmRequest): Promise<AesmResponse> {
    switch (req.kind) {
      case 'selectAttKeyId':
        return { kind: 'selectAttKeyId', errorCode: 0, selectedAttKeyId: await this.select(req.attKeyIdList) };
      case 'initQuoteEx':
        return this.initQuoteEx(req);
      case 'getQuoteSizeEx': {
        const key = await this.matchKey(req.attKeyId);
        const size = await this.call('getQuoteSizeEx', () => this.opts.provider.getQuoteSize(key));
        if (!Number.isInteger(size) || size <= 0 || size > MAX_QUOTE_BUFFER) fail(AesmCode.UNEXPECTED_ERROR, `provider reported quote size ${size}`);
        return { kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: size };
      }
      case 'getQuoteEx':
        return this.getQuoteEx(req);
      case 'getSupportedAttKeyIdNum': {
        const ids = await this.supportedKeyIds();
        if (ids.length === 0) fail(AesmCode.SERVICE_UNAVAILABLE, 'provider supports no attestation key');
        return { kind: 'getSupportedAttKeyIdNum', errorCode: 0, attKeyIdNum: ids.length };
      }
      case 'getSupportedAttKeyIds': {
        const ids = await this.supportedKeyIds();
        if (ids.length === 0) fail(AesmCode.SERVICE_UNAVAILABLE, 'provider supports no attestation key');
        if (req.bufSize !== ids.length * ATT_KEY_ID_EXT_SIZE) {
          fail(AesmCode.PARAMETER_ERROR, `buf_size ${req.bufSize} != ${ids.length} x ${ATT_KEY_ID_EXT_SIZE}`);
        }
        return { kind: 'getSupportedAttKeyIds', errorCode: 0, attKeyIds: Buffer.concat(ids) };
      }
      case 'legacy':
        return { kind: 'legacy', fieldNumber: req.fieldNumber, errorCode: LEGACY_REQUEST_ERROR_CODE };
    }
  }

  private async initQuoteEx(req: Extract<AesmRequest, { kind: 'initQuoteEx' }>): Promise<AesmResponse> {
    const key = await this.matchKey(req.attKeyId);
    if (!req.bPubKeyId) {
      // aesmd's size query: buf_size is ignored (it may be an uninitialised uint64 from the DCAP
      // wrapper), the QE is not consulted, target_info is 512 zero bytes, no pub_key_id (§4.2, §8 3–4).
      return { kind: 'initQuoteEx', errorCode: 0, targetInfo: Buffer.alloc(TARGET_INFO_SIZE), pubKeyIdSize: BigInt(PUB_KEY_ID_SIZE) };
    }
    if (req.bufSize !== BigInt(PUB_KEY_ID_SIZE)) fail(AesmCode.PARAMETER_ERROR, `buf_size must be ${PUB_KEY_ID_SIZE} with b_pub_key_id`);
    const r = await this.call('initQuoteEx', () => this.opts.provider.initQuote(key));
    if (r.targetInfo?.length !== TARGET_INFO_SIZE || r.pubKeyId?.length !== PUB_KEY_ID_SIZE) {
      fail(AesmCode.UNEXPECTED_ERROR, `provider returned target_info/pub_key_id of ${r.targetInfo?.length}/${r.pubKeyId?.length} bytes`);
    }
    return { kind: 'initQuoteEx', errorCode: 0, targetInfo: r.targetInfo, pubKeyIdSize: BigInt(PUB_KEY_ID_SIZE), pubKeyId: r.pubKeyId };
  }

  private async getQuoteEx(req: Extract<AesmRequest, { kind: 'getQuoteEx' }>): Promise<AesmResponse> {
    if (req.report.length !== REPORT_SIZE) fail(AesmCode.PARAMETER_ERROR, `report is ${req.report.length} bytes, must be ${REPORT_SIZE}`);
    if (req.qeReportInfo !== undefined && req.qeReportInfo.length !== QE_REPORT_INFO_SIZE) {
      fail(AesmCode.PARAMETER_ERROR, `qe_report_info is ${req.qeReportInfo.length} bytes, must be ${QE_REPORT_INFO_SIZE}`);
    }
    const key = await this.matchKey(req.attKeyId);
    if (req.bufSize > MAX_QUOTE_BUFFER) fail(AesmCode.OUT_OF_MEMORY_ERROR, `buf_size ${req.bufSize} above the daemon's ${MAX_QUOTE_BUFFER}-byte limit`);
    const r = await this.call('getQuoteEx', () =>
      this.opts.provider.getQuote({ report: req.report, attKeyId: key, bufSize: req.bufSize, ...(req.qeReportInfo ? { qeReportInfo: req.qeReportInfo } : {}) }),
    );
    if (!r.quote || r.quote.length === 0) fail(AesmCode.UNEXPECTED_ERROR, 'provider returned an empty quote');
    if (r.quote.length > req.bufSize) fail(AesmCode.PARAMETER_ERROR, `buf_size ${req.bufSize} < quote size ${r.quote.length}`);
    // aesmd hands the QE a zeroed buffer of buf_size and returns all of it (§4.2, §8 item 6). Intel's
    // library asks for the exact size, so usually there is nothing to pad; the encoder points any
    // padding into one shared zero buffer (no padded copy, no 64 KiB per reply waiting for a reader).
    const res: AesmResponse = { kind: 'getQuoteEx', errorCode: 0, quote: r.quote };
    if (r.quote.length < req.bufSize) res.quotePadding = req.bufSize - r.quote.length;
    if (req.qeReportInfo) {
      if (r.qeReportInfo?.length !== QE_REPORT_INFO_SIZE) fail(AesmCode.UNABLE_TO_GENERATE_QE_REPORT, 'provider returned no 960-byte qe_report_info');
      res.qeReportInfo = r.qeReportInfo;
    }
    return res;
  }

  /** SelectAttKeyID (§4.2): validate the optional list, pick a candidate. */
  private async select(list: Buffer | undefined): Promise<Buffer> {
    const supported = await this.supportedKeyIds();
    let candidates: Buffer[];
    if (list === undefined) {
      candidates = supported;
    } else {
      if (list.length < ATT_KEY_ID_LIST_HEADER_SIZE + ATT_KEY_ID_EXT_SIZE) fail(AesmCode.PARAMETER_ERROR, `att_key_id_list of ${list.length} bytes is too short`);
      const id = list.readUInt16LE(AttKeyIdListOffsets.id);
      const version = list.readUInt16LE(AttKeyIdListOffsets.version);
      const num = list.readUInt32LE(AttKeyIdListOffsets.numAttIds);
      if (id !== 0 || version !== 0) fail(AesmCode.PARAMETER_ERROR, `att_key_id_list header id/version ${id}/${version}, must be 0/0`);
      if (num > ATT_KEY_ID_LIST_MAX) fail(AesmCode.PARAMETER_ERROR, `att_key_id_list has ${num} entries, at most ${ATT_KEY_ID_LIST_MAX}`);
      if (list.length !== ATT_KEY_ID_LIST_HEADER_SIZE + num * ATT_KEY_ID_EXT_SIZE) fail(AesmCode.PARAMETER_ERROR, `att_key_id_list length ${list.length} does not match ${num} entries`);
      candidates = [];
      for (let i = 0; i < num; i++) {
        const off = AttKeyIdListOffsets.ids + i * ATT_KEY_ID_EXT_SIZE;
        const entry = Buffer.from(list.subarray(off, off + ATT_KEY_ID_EXT_SIZE));
        if (this.findSupported(supported, entry)) candidates.push(entry);
      }
    }
    if (candidates.length === 0) fail(AesmCode.UNSUPPORTED_ATT_KEY_ID, 'no listed attestation key id is supported');
    if (candidates.length === 1) return candidates[0];
    const preferred = candidates.find((c) => c.readUInt32LE(AttKeyIdOffsets.algorithmId) === DEFAULT_QUOTING_ALGORITHM);
    return preferred ?? candidates[0];
  }

  /** Key matching (§4.2): absent or short → 3, no base match → 38. Returns the provider's own key id. */
  private async matchKey(attKeyId: Buffer | undefined): Promise<Buffer> {
    if (!attKeyId || attKeyId.length < ATT_KEY_ID_EXT_SIZE) {
      fail(AesmCode.PARAMETER_ERROR, `att_key_id ${attKeyId ? `of ${attKeyId.length} bytes` : 'absent'}; ${ATT_KEY_ID_EXT_SIZE} bytes required`);
    }
    const match = this.findSupported(await this.supportedKeyIds(), attKeyId!);
    if (!match) fail(AesmCode.UNSUPPORTED_ATT_KEY_ID, 'att_key_id matches no supported key');
    return match!;
  }

  private findSupported(supported: Buffer[], keyId: Buffer): Buffer | undefined {
    const base = attKeyIdBase(keyId);
    return supported.find((s) => attKeyIdBase(s).equals(base));
  }

  private async supportedKeyIds(): Promise<Buffer[]> {
    if (this.keyIds) return this.keyIds;
    const ids = await this.call('supportedAttKeyIds', () => this.opts.provider.supportedAttKeyIds());
    const valid = ids.filter((k) => k.length === ATT_KEY_ID_EXT_SIZE);
    if (valid.length !== ids.length) this.opts.logger.error({ count: ids.length - valid.length }, 'provider returned key ids that are not 256 bytes; ignored');
    // Key ids are fixed per provider; cache once known so later calls never wait on the provider.
    if (valid.length > 0) this.keyIds = valid.map((k) => Buffer.from(k));
    return valid;
  }

  /** A provider call through the bounded queue; failures are counted and become AesmError. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.opts.queue.run(operation, fn);
    } catch (e) {
      const code = e instanceof AesmError ? e.code : AesmCode.UNEXPECTED_ERROR;
      this.opts.metrics.providerErrors.inc({ operation, code: String(code) });
      if (e instanceof AesmError) throw e;
      this.opts.logger.error({ operation, err: (e as Error).message }, 'provider call failed');
      throw new AesmError(AesmCode.UNEXPECTED_ERROR, `provider ${operation} failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** What debug logs show about a request: sizes and flags, never payload bytes. */
function describeRequest(req: AesmRequest): Record<string, unknown> {
  switch (req.kind) {
    case 'selectAttKeyId':
      return { attKeyIdListBytes: req.attKeyIdList?.length };
    case 'initQuoteEx':
      return { attKeyIdBytes: req.attKeyId?.length, bPubKeyId: req.bPubKeyId, bufSize: req.bufSize?.toString() };
    case 'getQuoteSizeEx':
      return { attKeyIdBytes: req.attKeyId?.length };
    case 'getQuoteEx':
      return { reportBytes: req.report.length, attKeyIdBytes: req.attKeyId?.length, qeReportInfoBytes: req.qeReportInfo?.length, bufSize: req.bufSize };
    case 'getSupportedAttKeyIdNum':
      return {};
    case 'getSupportedAttKeyIds':
      return { bufSize: req.bufSize };
    case 'legacy':
      return { fieldNumber: req.fieldNumber, name: req.name };
  }
}
