/**
 * The QuoteProvider interface: what the daemon needs from a quoting backend (sim, dcap, upstream).
 *
 * Shaped after aesmd's quote_ex service bundle (spec aesm-wire-protocol.md §4.2) but with the wire
 * details (protobuf, framing, padding to buf_size, pub_key_id_size bookkeeping) left to the daemon.
 * Failures are thrown as `AesmError` (src/aesm/errors.ts) carrying the AESM code the daemon sends back.
 *
 * Providers may block (the dcap provider calls a native library one call at a time): `maxConcurrency`
 * tells the daemon how many calls it may have in flight; the daemon queues the rest and applies its
 * provider-call timeout.
 */
import type { Registry } from 'prom-client';

export interface QuoteProvider {
  /** 'sim' | 'dcap' | 'upstream' — used in logs, metrics and the info gauge. */
  readonly name: string;
  /** True when quotes are produced by the simulated platform (always labelled SIMULATED). */
  readonly simulated: boolean;
  /** How many provider calls may run at once (1 for native libraries). */
  readonly maxConcurrency: number;

  /** All attestation key ids this provider can quote with: 256-byte `sgx_att_key_id_ext_t` each. */
  supportedAttKeyIds(): Promise<Buffer[]>;

  /**
   * InitQuoteEx with `b_pub_key_id = true`: generate or load and certify the attestation key for
   * `attKeyId` (already matched by the daemon on its 158-byte base). Returns the QE's 512-byte
   * target info and the 32-byte pub_key_id (ECDSA_ID).
   */
  initQuote(attKeyId: Buffer): Promise<{ targetInfo: Buffer; pubKeyId: Buffer }>;

  /** GetQuoteSizeEx: exact size of the quote this key would produce. AESM 42 if the key is not initialised. */
  getQuoteSize(attKeyId: Buffer): Promise<number>;

  /**
   * GetQuoteEx: quote a 432-byte `sgx_report_t` targeted at the QE. Returns the quote at its real
   * length (the daemon pads to buf_size) and, if a 960-byte qe_report_info was given, that structure
   * with its qe_report filled in. `bufSize` is the client's buffer size (the dcap provider hands the
   * QE a buffer of that size, as aesmd does; others may ignore it).
   */
  getQuote(request: { report: Buffer; attKeyId: Buffer; qeReportInfo?: Buffer; bufSize?: number }): Promise<{ quote: Buffer; qeReportInfo?: Buffer }>;

  /** Readiness: can this provider produce a quote right now? Cheap; called by /readyz and metrics. */
  health(): Promise<ProviderHealth>;

  /** Release resources (workers, native handles, upstream connections). */
  close(): Promise<void>;

  /** Optional: the provider's own metrics, added to the daemon's registry at start. */
  registerMetrics?(registry: Registry): void;

  /**
   * Optional: leave the process (after the drain). The dcap provider needs it: while a native call is
   * still running, process.exit() would wait for that worker thread forever.
   */
  exitProcess?(code: number): void;
}

export interface ProviderHealth {
  ready: boolean;
  /** Why not ready, in words an operator can act on. */
  reason?: string;
  /** Platform FMSPC as 12 hex chars, when known. */
  fmspc?: string;
  /** TCB status the platform's collateral gives, when known (sim: its profile). */
  tcbStatus?: string;
  /** Ready, but with something an operator must know (dcap: no QPL, so quotes carry an encrypted PPID). */
  warnings?: string[];
}
