import {
  decodeResponse,
  encodeRequest,
  type AesmOperation,
  type AesmRequest,
  type AesmResponse,
} from '../aesm/index.js';
import {
  ATT_KEY_ID_EXT_SIZE,
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  encodeAttKeyIdList,
  QE_REPORT_INFO_SIZE,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
} from '../sgx/index.js';
import { AesmClientError, AesmClientOptionError } from './client-error.js';
import { resolveSocketPath } from './socket-path.js';
import { DEFAULT_RETRY_DEADLINE_MS, DEFAULT_TIMEOUT_MS, transact } from './transport.js';

/** The pub_key_id (ECDSA_ID) of an ECDSA-P256 key is a SHA-256: 32 bytes (spec §4.2). */
export const ECDSA_PUB_KEY_ID_SIZE = 32;

export interface AesmClientOptions {
  /** Socket path. Default: `SQH_SOCKET`, then `/var/run/aesmd/aesm.socket`. */
  socketPath?: string;
  /**
   * Per-call limit in ms for connect + request + complete answer (default 15 000, Intel's
   * IPC_LATENCY). Also sent in the request's `timeout` field, as Intel's client does.
   */
  timeoutMs?: number;
  /**
   * How long a call keeps retrying, with backoff, while the socket is missing (ENOENT) or refusing
   * (ECONNREFUSED), e.g. during a daemon restart or socket handover (default 5 000 ms; 0 = no retry).
   * Nothing is retried once the request has been sent.
   */
  retryDeadlineMs?: number;
  /** Environment to read `SQH_SOCKET` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The answer to the real InitQuoteEx (`b_pub_key_id = true`). */
export interface InitQuoteResult {
  /** The QE's `sgx_target_info_t` (512 bytes): target your enclave's REPORT at it. */
  targetInfo: Buffer;
  /** The attestation key's ECDSA_ID (32 bytes). */
  pubKeyId: Buffer;
}

/** The answer to the InitQuoteEx size query (`b_pub_key_id = false`). */
export interface PubKeyIdSizeResult {
  pubKeyIdSize: number;
  /** Real aesmd returns 512 zero bytes here (spec §8 item 15); do not rely on it. */
  targetInfo?: Buffer;
}

export interface GetQuoteOptions {
  /** 256-byte `sgx_att_key_id_t`; default: Intel's ECDSA-P256 key id, as the DCAP library uses. */
  attKeyId?: Buffer;
  /**
   * 960-byte `sgx_qe_report_info_t` (nonce ‖ your enclave's target info ‖ zeros); the QE fills in
   * its report. Build one with `createQeReportInfo`, check the answer with `checkQeReportInfo`.
   */
  qeReportInfo?: Buffer;
  /** Quote buffer size to ask for; default: the size GetQuoteSizeEx reports (one extra call). */
  quoteSize?: number;
}

export interface GetQuoteResult {
  /** The quote, exactly `quoteSize` bytes (zero-padded if `quoteSize` exceeded the real length). */
  quote: Buffer;
  /** The QE report info with `qe_report` filled in, when one was sent. */
  qeReportInfo?: Buffer;
}

/**
 * Client for an AESM-compatible socket (Intel's aesmd or sgx-quote-helper's daemon): what
 * `libsgx_quote_ex` does for C programs, for Node.
 *
 * Every method opens its own connection, sends one request and reads one answer (the protocol
 * allows nothing else, spec §1.2). Failures are thrown as {@link AesmClientError}.
 *
 * @example
 * ```ts
 * const client = new AesmClient();                 // SQH_SOCKET or /var/run/aesmd/aesm.socket
 * const targetInfo = await client.getTargetInfo(); // DCAP: #15 (size query), #15 (init)
 * const report = myEnclave.createReport(targetInfo, reportData);
 * const { quote } = await client.getQuote(report); // DCAP: #16, #17
 * ```
 */
export class AesmClient {
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly retryDeadlineMs: number;

  constructor(opts: AesmClientOptions = {}) {
    this.socketPath = resolveSocketPath(opts.socketPath, opts.env ?? process.env);
    this.timeoutMs = positiveInt(opts.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.retryDeadlineMs = nonNegativeInt(opts.retryDeadlineMs, DEFAULT_RETRY_DEADLINE_MS, 'retryDeadlineMs');
  }

  /** GetSupportedAttKeyIDNum (#21): how many attestation key ids the daemon offers. */
  async getSupportedAttKeyIdNum(): Promise<number> {
    const op = 'getSupportedAttKeyIdNum';
    const res = await this.call(op, { kind: op });
    if (res.kind !== op || res.attKeyIdNum === undefined) throw this.bad(op, 'the answer has no att_key_id_num');
    return res.attKeyIdNum;
  }

  /**
   * The attestation key ids the daemon offers (256-byte `sgx_att_key_id_ext_t` each), via
   * GetSupportedAttKeyIDNum (#21) then GetSupportedAttKeyIDs (#22), as Intel's SDK does.
   * Decode them with `parseAttKeyIdExt` from `sgx-quote-helper/sgx`.
   */
  async getSupportedAttKeyIds(): Promise<Buffer[]> {
    const num = await this.getSupportedAttKeyIdNum();
    const op = 'getSupportedAttKeyIds';
    const bufSize = num * ATT_KEY_ID_EXT_SIZE;
    const res = await this.call(op, { kind: op, bufSize });
    if (res.kind !== op || res.attKeyIds === undefined) throw this.bad(op, 'the answer has no att_key_ids');
    if (res.attKeyIds.length !== bufSize) {
      throw this.bad(op, `att_key_ids is ${res.attKeyIds.length} bytes, expected ${num} × ${ATT_KEY_ID_EXT_SIZE}`);
    }
    const ids: Buffer[] = [];
    for (let off = 0; off < bufSize; off += ATT_KEY_ID_EXT_SIZE) {
      ids.push(Buffer.from(res.attKeyIds.subarray(off, off + ATT_KEY_ID_EXT_SIZE)));
    }
    return ids;
  }

  /**
   * SelectAttKeyID (#19): let the daemon pick an attestation key id.
   * @param list omitted or empty: any key the daemon has (it prefers ECDSA-P256). An array of
   *   256-byte key ids: the daemon picks among those (at most 10). A Buffer: an already encoded
   *   `sgx_ql_att_key_id_list_t`, sent unchanged.
   * @returns the selected 256-byte key id (with an explicit list, your own entry).
   */
  async selectAttKeyId(list?: Buffer | readonly Buffer[]): Promise<Buffer> {
    const op = 'selectAttKeyId';
    let attKeyIdList: Buffer | undefined;
    if (Buffer.isBuffer(list)) {
      attKeyIdList = list.length > 0 ? list : undefined;
    } else if (list !== undefined && list.length > 0) {
      try {
        attKeyIdList = encodeAttKeyIdList([...list]);
      } catch (e) {
        throw this.invalid(op, `cannot encode the key id list: ${(e as Error).message}`, e);
      }
    }
    const res = await this.call(op, { kind: op, attKeyIdList });
    if (res.kind !== op || res.selectedAttKeyId === undefined) throw this.bad(op, 'the answer has no selected_att_key_id');
    if (res.selectedAttKeyId.length !== ATT_KEY_ID_EXT_SIZE) {
      throw this.bad(op, `selected_att_key_id is ${res.selectedAttKeyId.length} bytes, expected ${ATT_KEY_ID_EXT_SIZE}`);
    }
    return res.selectedAttKeyId;
  }

  /**
   * InitQuoteEx size query (#15 with `b_pub_key_id = false`): the first of the two InitQuoteEx
   * calls Intel's SDK and DCAP library make. Returns the pub_key_id size to use in {@link initQuote}.
   */
  async queryPubKeyIdSize(attKeyId: Buffer = DEFAULT_ECDSA_P256_ATT_KEY_ID): Promise<PubKeyIdSizeResult> {
    const op = 'initQuoteEx';
    this.checkSize(op, 'attKeyId', attKeyId, ATT_KEY_ID_EXT_SIZE);
    const res = await this.call(op, { kind: op, attKeyId, bPubKeyId: false });
    if (res.kind !== op || res.pubKeyIdSize === undefined) throw this.bad(op, 'the answer has no pub_key_id_size');
    if (res.pubKeyId !== undefined) throw this.bad(op, 'the answer carries a pub_key_id although none was asked for');
    if (res.targetInfo !== undefined && res.targetInfo.length > TARGET_INFO_SIZE) {
      throw this.bad(op, `target_info is ${res.targetInfo.length} bytes, at most ${TARGET_INFO_SIZE} allowed`);
    }
    const size = res.pubKeyIdSize;
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad(op, `pub_key_id_size ${size} is implausible`);
    return { pubKeyIdSize: Number(size), targetInfo: res.targetInfo };
  }

  /**
   * InitQuoteEx (#15 with `b_pub_key_id = true`): have the QE create or load and certify the
   * attestation key. Returns the QE's target info (target your enclave's REPORT at it) and the key's
   * pub_key_id. A daemon whose key was rotated answers 42 to later quote calls: call this again.
   * @param pubKeyIdSize the buffer size to announce (32 for ECDSA; {@link queryPubKeyIdSize} asks).
   */
  async initQuote(attKeyId: Buffer = DEFAULT_ECDSA_P256_ATT_KEY_ID, pubKeyIdSize = ECDSA_PUB_KEY_ID_SIZE): Promise<InitQuoteResult> {
    const op = 'initQuoteEx';
    this.checkSize(op, 'attKeyId', attKeyId, ATT_KEY_ID_EXT_SIZE);
    if (!Number.isSafeInteger(pubKeyIdSize) || pubKeyIdSize <= 0) {
      throw this.invalid(op, `pubKeyIdSize must be a positive integer, got ${pubKeyIdSize}`);
    }
    const res = await this.call(op, { kind: op, attKeyId, bPubKeyId: true, bufSize: BigInt(pubKeyIdSize) });
    if (res.kind !== op) throw this.bad(op, 'wrong answer');
    if (res.targetInfo === undefined || res.targetInfo.length !== TARGET_INFO_SIZE) {
      throw this.bad(op, `target_info is ${res.targetInfo?.length ?? 'absent'}, expected ${TARGET_INFO_SIZE} bytes`);
    }
    // Intel's client copies pub_key_id only when its length equals the announced size (spec §4.2).
    const announced = res.pubKeyIdSize !== undefined ? Number(res.pubKeyIdSize) : undefined;
    if (res.pubKeyId === undefined || (announced !== undefined && res.pubKeyId.length !== announced)) {
      throw this.bad(op, 'pub_key_id is missing or does not match pub_key_id_size');
    }
    if (res.pubKeyId.length > pubKeyIdSize) {
      throw this.bad(op, `pub_key_id is ${res.pubKeyId.length} bytes, larger than the ${pubKeyIdSize} announced`);
    }
    return { targetInfo: res.targetInfo, pubKeyId: res.pubKeyId };
  }

  /**
   * GetQuoteSizeEx (#16): the exact size of the quote the daemon would produce for this key.
   * Answers AESM 42 (ATT_KEY_NOT_INITIALIZED) until InitQuoteEx has run for the key.
   */
  async getQuoteSize(attKeyId: Buffer = DEFAULT_ECDSA_P256_ATT_KEY_ID): Promise<number> {
    const op = 'getQuoteSizeEx';
    this.checkSize(op, 'attKeyId', attKeyId, ATT_KEY_ID_EXT_SIZE);
    const res = await this.call(op, { kind: op, attKeyId });
    if (res.kind !== op || res.quoteSize === undefined || res.quoteSize === 0) {
      throw this.bad(op, 'the answer has no quote_size');
    }
    return res.quoteSize;
  }

  /**
   * Quote a 432-byte `sgx_report_t` that targets the QE: GetQuoteSizeEx (#16, unless `quoteSize`
   * is given) then GetQuoteEx (#17). With no options this is exactly what Intel's DCAP library
   * sends for `sgx_qe_get_quote_size` + `sgx_qe_get_quote` in out-of-process mode (spec §5.2).
   */
  async getQuote(report: Buffer, opts: GetQuoteOptions = {}): Promise<GetQuoteResult> {
    const op = 'getQuoteEx';
    const attKeyId = opts.attKeyId ?? DEFAULT_ECDSA_P256_ATT_KEY_ID;
    this.checkSize(op, 'report', report, REPORT_SIZE);
    this.checkSize(op, 'attKeyId', attKeyId, ATT_KEY_ID_EXT_SIZE);
    if (opts.qeReportInfo !== undefined) this.checkSize(op, 'qeReportInfo', opts.qeReportInfo, QE_REPORT_INFO_SIZE);
    if (opts.quoteSize !== undefined && !(Number.isInteger(opts.quoteSize) && opts.quoteSize > 0 && opts.quoteSize <= 0xffffffff)) {
      throw this.invalid(op, `quoteSize must be a positive 32-bit integer, got ${opts.quoteSize}`);
    }
    const bufSize = opts.quoteSize ?? (await this.getQuoteSize(attKeyId));
    const res = await this.call(op, { kind: op, report, attKeyId, qeReportInfo: opts.qeReportInfo, bufSize });
    if (res.kind !== op || res.quote === undefined || res.quote.length === 0) throw this.bad(op, 'the answer has no quote');
    if (res.quote.length > bufSize) throw this.bad(op, `quote is ${res.quote.length} bytes, more than the ${bufSize} asked for`);
    if (opts.qeReportInfo !== undefined && res.qeReportInfo?.length !== QE_REPORT_INFO_SIZE) {
      throw this.bad(op, 'qe_report_info was sent but not returned');
    }
    return opts.qeReportInfo !== undefined ? { quote: res.quote, qeReportInfo: res.qeReportInfo } : { quote: res.quote };
  }

  /**
   * DCAP-style `sgx_qe_get_target_info`: the same two InitQuoteEx calls Intel's DCAP library makes
   * out-of-process (spec §5.2): a size query that must answer 32, then the real call. Returns the
   * QE's 512-byte target info. Pair it with `getQuote(report)`.
   */
  async getTargetInfo(): Promise<Buffer> {
    const { pubKeyIdSize } = await this.queryPubKeyIdSize(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    if (pubKeyIdSize !== ECDSA_PUB_KEY_ID_SIZE) {
      // The DCAP wrapper insists on 32 here and fails with SGX_QL_ERROR_UNEXPECTED otherwise.
      throw this.bad('initQuoteEx', `pub_key_id_size is ${pubKeyIdSize}, the DCAP library requires ${ECDSA_PUB_KEY_ID_SIZE}`);
    }
    const { targetInfo } = await this.initQuote(DEFAULT_ECDSA_P256_ATT_KEY_ID, pubKeyIdSize);
    return targetInfo;
  }

  private async call(op: AesmOperation, req: AesmRequest): Promise<AesmResponse> {
    let body: Buffer;
    try {
      body = encodeRequest(req, { timeoutMs: this.timeoutMs });
    } catch (e) {
      throw this.invalid(op, `cannot encode the request: ${(e as Error).message}`, e);
    }
    const answer = await transact(op, body, {
      socketPath: this.socketPath,
      timeoutMs: this.timeoutMs,
      retryDeadlineMs: this.retryDeadlineMs,
    });
    let res: AesmResponse;
    try {
      res = decodeResponse(answer, op);
    } catch (e) {
      throw this.bad(op, `undecodable answer: ${(e as Error).message}`, e);
    }
    if (res.errorCode !== 0) {
      throw new AesmClientError({
        kind: 'aesm',
        operation: op,
        socketPath: this.socketPath,
        aesmCode: res.errorCode,
        message: `${op} failed: the daemon answered ${res.errorCode}`,
      });
    }
    return res;
  }

  private checkSize(op: AesmOperation, field: string, value: unknown, size: number): void {
    if (!Buffer.isBuffer(value) && !(value instanceof Uint8Array)) throw this.invalid(op, `${field} must be a Buffer`);
    if (value.length !== size) throw this.invalid(op, `${field} must be ${size} bytes, got ${value.length}`);
  }

  private invalid(op: AesmOperation, message: string, cause?: unknown): AesmClientError {
    return new AesmClientError({ kind: 'invalid-argument', operation: op, socketPath: this.socketPath, message: `${op}: ${message}`, cause });
  }

  private bad(op: AesmOperation, message: string, cause?: unknown): AesmClientError {
    return new AesmClientError({ kind: 'protocol', operation: op, socketPath: this.socketPath, message: `${op}: ${message}`, cause });
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0 || value > 0x7fffffff) {
    throw new AesmClientOptionError(name, `${name} must be a positive integer of milliseconds, got ${value}`);
  }
  return value;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new AesmClientOptionError(name, `${name} must be a non-negative integer of milliseconds, got ${value}`);
  }
  return value;
}
