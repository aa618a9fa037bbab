import {
  AesmCode,
  aesmErrorName,
  quote3ErrorFor,
  quote3ErrorName,
  sgxStatusFor,
  sgxStatusName,
  TRANSPORT_STATUS,
  type AesmOperation,
} from '../aesm/index.js';

/**
 * What went wrong, in the categories Intel's client distinguishes (wire spec §4.4 step 1) plus the
 * daemon's own errorCode:
 * - `aesm`: the daemon answered with a non-zero errorCode (`aesmCode` is set).
 * - `unavailable`: no socket, or nobody listening (still so when the retry deadline passed).
 * - `permission`: the socket exists but this process may not connect to it (EACCES/EPERM).
 * - `timeout`: connected, but no complete answer within the per-call timeout.
 * - `closed`: the daemon closed or reset the connection without an answer.
 * - `protocol`: an answer arrived but was not a valid response to this request.
 * - `invalid-argument`: the caller passed something the client refuses to send.
 */
export type AesmClientErrorKind =
  | 'aesm'
  | 'unavailable'
  | 'permission'
  | 'timeout'
  | 'closed'
  | 'protocol'
  | 'invalid-argument';

// What Intel's client reports when no errorCode exists (wire spec §4.4 step 1): EACCES is a
// connect failure like a missing socket; a close or an unusable answer is "unexpected".
const STATUS_BY_KIND: Record<Exclude<AesmClientErrorKind, 'aesm'>, number> = {
  unavailable: TRANSPORT_STATUS['connect-failed'],
  permission: TRANSPORT_STATUS['connect-failed'],
  timeout: TRANSPORT_STATUS.timeout,
  closed: TRANSPORT_STATUS['bad-response'],
  protocol: TRANSPORT_STATUS['bad-response'],
  'invalid-argument': TRANSPORT_STATUS['invalid-request'],
};

export interface AesmClientErrorInit {
  kind: AesmClientErrorKind;
  operation: AesmOperation;
  socketPath: string;
  message: string;
  aesmCode?: number;
  /** The Node error code of the underlying socket error (ENOENT, ECONNREFUSED, EACCES, …). */
  errno?: string;
  timeoutMs?: number;
  cause?: unknown;
}

/**
 * A failed AESM call, as a value: the AESM errorCode and its name (when the daemon answered), the
 * `sgx_status_t` Intel's `libsgx_quote_ex` would have returned for the same outcome, the
 * `quote3_error_t` Intel's DCAP library would have returned on top of that, and a one-line hint.
 */
export class AesmClientError extends Error {
  override readonly name = 'AesmClientError';
  readonly kind: AesmClientErrorKind;
  /** The AESM operation that failed (`initQuoteEx`, `getQuoteEx`, …). */
  readonly operation: AesmOperation;
  readonly socketPath: string;
  /** aesm_error_t from the response; only for kind `aesm`. */
  readonly aesmCode?: number;
  /** Intel's name for `aesmCode`, e.g. `AESM_ATT_KEY_NOT_INITIALIZED`. */
  readonly aesmName?: string;
  /** What Intel's quote_ex client returns for this outcome (e.g. 0x4001 SGX_ERROR_SERVICE_UNAVAILABLE). */
  readonly sgxStatus: number;
  readonly sgxStatusName: string;
  /** What Intel's DCAP library returns in out-of-process mode (e.g. 0xE040 SGX_QL_SERVICE_UNAVAILABLE). */
  readonly quote3Error: number;
  readonly quote3ErrorName: string;
  /** One line saying what to check, for the common failures; undefined when there is nothing useful to say. */
  readonly hint?: string;
  readonly errno?: string;

  constructor(init: AesmClientErrorInit) {
    const sgxStatus =
      init.kind === 'aesm' ? sgxStatusFor(init.operation, init.aesmCode ?? AesmCode.UNEXPECTED_ERROR) : STATUS_BY_KIND[init.kind];
    const hint = hintFor(init);
    super(hint ? `${init.message} (${hint})` : init.message, { cause: init.cause });
    this.kind = init.kind;
    this.operation = init.operation;
    this.socketPath = init.socketPath;
    if (init.kind === 'aesm') {
      this.aesmCode = init.aesmCode ?? AesmCode.UNEXPECTED_ERROR;
      this.aesmName = aesmErrorName(this.aesmCode);
    }
    this.sgxStatus = sgxStatus;
    this.sgxStatusName = sgxStatusName(sgxStatus);
    this.quote3Error = quote3ErrorFor(sgxStatus);
    this.quote3ErrorName = quote3ErrorName(this.quote3Error);
    this.hint = hint;
    this.errno = init.errno;
  }

  /** A compact one-line summary with every code, for logs and CLI output. */
  describe(): string {
    const codes = [
      this.aesmName ? `${this.aesmName} (${this.aesmCode})` : undefined,
      `${this.sgxStatusName} (0x${this.sgxStatus.toString(16).padStart(4, '0')})`,
      `${this.quote3ErrorName} (0x${this.quote3Error.toString(16)})`,
    ].filter(Boolean);
    return `${this.message} [${codes.join(', ')}]`;
  }
}

function hintFor(init: AesmClientErrorInit): string | undefined {
  const p = init.socketPath;
  switch (init.kind) {
    case 'unavailable':
      if (init.errno === 'ECONNREFUSED') {
        return `nothing is listening on ${p}: is the quote helper running (it may be restarting)?`;
      }
      return `no AESM socket at ${p}: is the quote helper running, and is /var/run/aesmd mounted into this container?`;
    case 'permission':
      return `permission denied on ${p}: this user may not connect to the socket; check the socket's mode/owner and the mount`;
    case 'timeout':
      return `no answer within ${init.timeoutMs ?? '?'} ms: the daemon or its provider is stuck or overloaded; check its logs and /readyz`;
    case 'closed':
      return 'the daemon closed the connection without an answer: check its logs (it rejects malformed or oversized requests)';
    case 'protocol':
      return `the answer was not a valid AESM response: is something other than an AESM-compatible daemon listening on ${p}?`;
    case 'invalid-argument':
      return undefined;
    case 'aesm':
      return aesmHint(init.aesmCode ?? AesmCode.UNEXPECTED_ERROR);
  }
}

function aesmHint(code: number): string | undefined {
  switch (code) {
    case AesmCode.ATT_KEY_NOT_INITIALIZED:
      return 'the attestation key is not initialised (or was rotated): run initQuote/getTargetInfo again, then retry';
    case AesmCode.INVALID_REPORT:
    case AesmCode.ERROR_REPORT:
      return 'the report is not targeted at the QE: create it with the target info from initQuote/getTargetInfo';
    case AesmCode.UNSUPPORTED_ATT_KEY_ID:
      return 'the daemon does not offer this attestation key id: list them with getSupportedAttKeyIds or use selectAttKeyId';
    case AesmCode.PARAMETER_ERROR:
      return 'the daemon rejected a parameter (sizes: report 432, att key id 256, qe_report_info 960 bytes)';
    case AesmCode.SERVICE_UNAVAILABLE:
    case AesmCode.SERVICE_STOPPED:
      return "the daemon's quote provider is not available: check the daemon's logs and /readyz";
    case AesmCode.BUSY:
      return 'the daemon is at its concurrency limit: retry shortly';
    case AesmCode.NO_PLATFORM_CERT_DATA:
    case AesmCode.KEY_CERTIFICATION_ERROR:
      return "the platform's PCK certificate data is unavailable: check the provider's PCCS/collateral configuration";
    default:
      return undefined;
  }
}

/** A bad {@link AesmClientOptions} value (e.g. a negative timeout), thrown by the constructor. */
export class AesmClientOptionError extends Error {
  override readonly name = 'AesmClientOptionError';
  readonly code = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}
