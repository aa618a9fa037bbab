/**
 * The hardware provider: hosts Intel's QE3 and PCE in this process, as aesmd's ECDSA bundle does
 * (dcap-provider spec §4), and answers the daemon's calls with the sgx_ql_* family.
 *
 * - Native calls run on koffi worker threads, strictly one at a time (aesmd's single quoting worker).
 * - A native call still running after `callTimeoutMs` marks the provider stuck: /readyz turns false,
 *   a metric counts it; the daemon's queue has already answered the client AESM_BUSY and starts no
 *   other call until this one returns.
 * - Start-up (bounded by `warmupTimeoutMs`): persistent load policy, key id, QPL handle, load_qe, and
 *   one sgx_ql_init_quote with a buffer so the attestation key is certified before the first client.
 *   (aesmd does not do the last step: after its restart GetQuoteSizeEx answers 42 until an
 *   InitQuoteEx. Doing it here makes /readyz mean "a quote can be produced now".)
 * - Every quote3_error_t becomes the AESM code aesmd would send; the native value is logged and counted.
 */
import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AesmError } from '../../aesm/errors.js';
import { QuoteV3Offsets } from '../../sgx/index.js';
import type { ProviderHealth, QuoteProvider } from '../provider.js';
import { checkDcapHost, dcapHostProblemMessage } from './host-check.js';
import { DcapLoadError, loadDcapNative, SGX_QL_EPHEMERAL, SGX_QL_PERSISTENT, SgxQlPathType, type DcapNative } from './native-binding.js';
import { aesmCodeForQuote3, describeNativeCode, nativeCodeHex, nativeCodeName, REQUEST_CAUSED } from './quote3-errors.js';

export class DcapUnavailableError extends Error {
  override readonly name = 'DcapUnavailableError';
  readonly code = 'DCAP_NOT_AVAILABLE';
}

export interface DcapProviderOptions {
  /** `--dcap-lib-dir`: load libsgx_dcap_ql.so.1 and its dependencies from here. */
  libDir?: string;
  /** Enclave images / QPL to use instead of the library's lookup (sgx_ql_set_path). */
  qe3Path?: string;
  pcePath?: string;
  qplPath?: string;
  idePath?: string;
  /** The daemon's provider timeout: a native call running longer counts as stuck. */
  callTimeoutMs?: number;
  /** Upper bound for start-up before the socket is published; the warm-up goes on in the background after it. */
  warmupTimeoutMs?: number;
  /** While the key is not certified, retry the certification this often. */
  certifyRetryMs?: number;
  /** Where the SGX device nodes are looked for (default /dev). */
  deviceDir?: string;
  logger?: Logger;
  /** The environment the library's constructor reads (default process.env; SGX_AESM_ADDR is removed from it). */
  env?: NodeJS.ProcessEnv;
  /** For tests and embedding: a binding instead of loading Intel's libraries. */
  native?: DcapNative;
}

const FUNCTIONS = ['sgx_ql_set_enclave_load_policy', 'sgx_ql_get_keyid', 'sgx_ql_set_path', 'load_qe', 'get_qpl_handle', 'sgx_ql_init_quote', 'sgx_ql_get_quote_size', 'sgx_ql_get_quote'] as const;
type NativeFunction = (typeof FUNCTIONS)[number];
const PATH_TYPES = [
  ['qe3Path', SgxQlPathType.QE3, 'QE3'],
  ['pcePath', SgxQlPathType.PCE, 'PCE'],
  ['qplPath', SgxQlPathType.QPL, 'QPL'],
  ['idePath', SgxQlPathType.IDE, 'IDE'],
] as const;

/** Quote size without a QPL: 1052 + an RSA-3072-encrypted PPID block of 404 bytes (spec §4.3). */
export const ENCRYPTED_PPID_QUOTE_SIZE = 1456;

export const NO_QPL_WARNING =
  'no quote provider library (QPL): quotes carry an encrypted PPID (certification data type 3) instead of the PCK certificate chain, and most verifiers cannot use them; install libsgx-dcap-default-qpl and point /etc/sgx_default_qcnl.conf at a PCCS, or az-dcap-client on Azure';

/** Hints for load_qe's raw sgx_status_t values (spec §5.2). */
function loadQeHint(code: number): string {
  switch (code) {
    case 0x2006:
      return 'no usable SGX device: check /dev/sgx_enclave and that the CPU has SGX enabled';
    case 0x200f:
      return 'the QE3 enclave image (libsgx_qe3.signed.so.1, package libsgx-ae-qe3) is missing beside libsgx_qe3_logic.so; install it or pass --dcap-qe3-path';
    case 0x4004:
      return 'not allowed to load a provisioning enclave: the user needs /dev/sgx_provision (group sgx_prv)';
    case 0xe012:
      return 'out of EPC memory';
    default:
      return 'see docs/dcap.md (troubleshooting); also check that /dev is mounted exec';
  }
}

interface InFlight {
  fn: NativeFunction;
  since: number;
  stuck: boolean;
}

export class DcapProvider implements QuoteProvider {
  readonly name = 'dcap';
  readonly simulated = false;
  /** One native call at a time: the daemon's queue enforces it, and so does this provider's own gate. */
  readonly maxConcurrency = 1;

  private keyId: Buffer | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight: InFlight | undefined;
  private qplLoaded = false;
  private encryptedPpid = false;
  private keyCertified = false;
  private startupFailure: string | undefined;
  private platformFailure: string | undefined;
  private warmupDone = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly callTimeoutMs: number;
  private readonly log: Logger | undefined;

  private readonly mCalls = new Counter({
    name: 'sqh_dcap_native_calls_total',
    help: 'Calls into Intel\'s DCAP library, by function and native result (code = quote3_error_t or raw sgx_status_t in hex)',
    labelNames: ['function', 'code', 'name'],
    registers: [],
  });
  private readonly mDuration = new Histogram({
    name: 'sqh_dcap_native_call_duration_seconds',
    help: 'Duration of calls into Intel\'s DCAP library, by function',
    labelNames: ['function'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120],
    registers: [],
  });
  private readonly mTimeouts = new Counter({
    name: 'sqh_dcap_native_timeouts_total',
    help: 'Native calls still running after the provider timeout (the client got AESM_BUSY; no other native call ran until it returned)',
    labelNames: ['function'],
    registers: [],
  });
  private readonly mStuck = new Gauge({ name: 'sqh_dcap_native_call_stuck', help: '1 while a native call runs past the provider timeout', registers: [] });
  private readonly mQpl = new Gauge({
    name: 'sqh_dcap_qpl_loaded',
    help: '1 when a quote provider library is loaded (quotes carry the PCK certificate chain); 0: quotes carry an encrypted PPID',
    registers: [],
  });
  private readonly mKey = new Gauge({ name: 'sqh_dcap_attestation_key_certified', help: '1 once the QE3 attestation key is generated and certified', registers: [] });

  constructor(
    private readonly native: DcapNative,
    private readonly opts: DcapProviderOptions = {},
  ) {
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.log = opts.logger;
    for (const fn of FUNCTIONS) this.mTimeouts.inc({ function: fn }, 0);
  }

  registerMetrics(registry: Registry): void {
    for (const m of [this.mCalls, this.mDuration, this.mTimeouts, this.mStuck, this.mQpl, this.mKey]) registry.registerMetric(m);
  }

  /**
   * One native call behind the gate. Resolves with the native result; `stuckAfterMs` (default the
   * provider timeout) is when a still-running call starts counting as stuck.
   */
  private call<T extends { code: number }>(fn: NativeFunction, run: () => Promise<T>, stuckAfterMs = this.callTimeoutMs): Promise<T> {
    const turn = this.tail.then(async () => {
      const entry: InFlight = { fn, since: Date.now(), stuck: false };
      this.inFlight = entry;
      const timer = setTimeout(() => {
        entry.stuck = true;
        this.mTimeouts.inc({ function: fn });
        this.mStuck.set(1);
        this.log?.error({ function: fn, timeoutMs: stuckAfterMs }, 'native DCAP call has not returned within the timeout: answering AESM_BUSY, not ready, no other native call until it returns');
      }, stuckAfterMs);
      timer.unref();
      const end = this.mDuration.startTimer({ function: fn });
      try {
        const r = await run();
        this.mCalls.inc({ function: fn, code: nativeCodeHex(r.code), name: nativeCodeName(r.code) });
        return r;
      } finally {
        end();
        clearTimeout(timer);
        this.inFlight = undefined;
        if (entry.stuck) {
          this.mStuck.set(0);
          this.log?.warn({ function: fn, tookMs: Date.now() - entry.since }, 'stuck native DCAP call returned; native calls resume');
        }
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** A failed native result as the AESM error aesmd would send; platform failures make us unready. */
  private fail(fn: NativeFunction, code: number): never {
    const aesm = aesmCodeForQuote3(code);
    const what = `${fn} returned ${describeNativeCode(code)}`;
    const line = { function: fn, nativeCode: nativeCodeHex(code), native: describeNativeCode(code), aesmCode: aesm };
    if (REQUEST_CAUSED.has(code)) {
      // The request's fault (the dispatcher logs the answer at warn already).
      this.log?.debug(line, 'native DCAP call refused the request');
    } else {
      this.platformFailure = what;
      this.log?.warn(line, 'native DCAP call failed');
    }
    throw new AesmError(aesm, `native ${what}`);
  }

  /** Start-up: fatal problems throw DcapUnavailableError; a failed certification leaves us unready and retrying. */
  async start(): Promise<void> {
    const policy = await this.call('sgx_ql_set_enclave_load_policy', () => this.native.setEnclaveLoadPolicy(SGX_QL_PERSISTENT));
    if (policy.code !== 0) throw new DcapUnavailableError(`sgx_ql_set_enclave_load_policy(PERSISTENT) returned ${describeNativeCode(policy.code)}`);
    const key = await this.call('sgx_ql_get_keyid', () => this.native.getKeyId());
    if (key.code !== 0) throw new DcapUnavailableError(`sgx_ql_get_keyid returned ${describeNativeCode(key.code)}`);
    this.keyId = key.keyId;
    for (const [opt, type, label] of PATH_TYPES) {
      const file = this.opts[opt];
      if (!file) continue;
      const r = await this.call('sgx_ql_set_path', () => this.native.setPath(type, file));
      if (r.code !== 0) throw new DcapUnavailableError(`sgx_ql_set_path(${label}, ${file}) returned ${describeNativeCode(r.code)}: the file must exist and be a regular file or a link`);
      this.log?.info({ type: label, path: file }, 'DCAP path set');
    }
    const qpl = await this.call('get_qpl_handle', () => this.native.getQplHandle());
    this.qplLoaded = qpl.loaded;
    this.mQpl.set(qpl.loaded ? 1 : 0);
    if (!qpl.loaded) this.log?.warn({ qpl: 'missing' }, `NOT USABLE BY MOST VERIFIERS: ${NO_QPL_WARNING}`);
    const qe = await this.call('load_qe', () => this.native.loadQe(), this.opts.warmupTimeoutMs ?? 60_000);
    if (qe.code !== 0) throw new DcapUnavailableError(`load_qe (loading Intel's QE3 enclave) returned ${describeNativeCode(qe.code)}: ${loadQeHint(qe.code)}`);
    await this.certify();
    this.warmupDone = true;
    this.log?.info(
      { library: this.native.loadedFrom, qplLoaded: this.qplLoaded, encryptedPpid: this.encryptedPpid, keyCertified: this.keyCertified },
      'dcap provider ready: Intel QE3 loaded (persistent policy)',
    );
  }

  /** A warm-up that failed after the socket was published: logged, and the readiness reason from now on. */
  noteWarmupFailure(message: string): void {
    this.startupFailure = message;
    this.log?.error({ err: message }, 'dcap warm-up failed');
  }

  /** sgx_ql_init_quote with a buffer (generate or certify the key) and one quote-size query. */
  private async certify(): Promise<boolean> {
    if (!this.keyId) return false;
    const keyId = this.keyId;
    const init = await this.call('sgx_ql_init_quote', () => this.native.initQuote(keyId), this.opts.warmupTimeoutMs ?? 60_000);
    if (init.code !== 0) {
      this.startupFailure = `attestation key not certified: sgx_ql_init_quote returned ${describeNativeCode(init.code)}`;
      this.log?.error({ nativeCode: nativeCodeHex(init.code), native: describeNativeCode(init.code), retryMs: this.retryMs }, 'attestation key certification failed; not ready, retrying');
      this.scheduleRetry();
      return false;
    }
    const size = await this.call('sgx_ql_get_quote_size', () => this.native.getQuoteSize(keyId));
    if (size.code === 0) this.encryptedPpid = !this.qplLoaded || size.quoteSize === ENCRYPTED_PPID_QUOTE_SIZE;
    this.keyCertified = true;
    this.mKey.set(1);
    this.startupFailure = undefined;
    this.platformFailure = undefined;
    return true;
  }

  private get retryMs(): number {
    return this.opts.certifyRetryMs ?? 30_000;
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || this.keyCertified) return;
      void this.certify().catch((e) => this.log?.error({ err: (e as Error).message }, 'certification retry failed'));
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    return this.keyId ? [this.keyId] : [];
  }

  async initQuote(attKeyId: Buffer): Promise<{ targetInfo: Buffer; pubKeyId: Buffer }> {
    const r = await this.call('sgx_ql_init_quote', () => this.native.initQuote(attKeyId));
    if (r.code !== 0) this.fail('sgx_ql_init_quote', r.code);
    this.keyCertified = true;
    this.mKey.set(1);
    this.platformFailure = undefined;
    this.startupFailure = undefined;
    return { targetInfo: r.targetInfo, pubKeyId: r.pubKeyId };
  }

  async getQuoteSize(attKeyId: Buffer): Promise<number> {
    const r = await this.call('sgx_ql_get_quote_size', () => this.native.getQuoteSize(attKeyId));
    if (r.code !== 0) this.fail('sgx_ql_get_quote_size', r.code);
    this.platformFailure = undefined;
    return r.quoteSize;
  }

  async getQuote(req: { report: Buffer; attKeyId: Buffer; qeReportInfo?: Buffer; bufSize?: number }): Promise<{ quote: Buffer; qeReportInfo?: Buffer }> {
    // aesmd hands the QE the client's buf_size; without one, ask the library for the exact size first.
    const size = req.bufSize ?? (await this.getQuoteSize(req.attKeyId));
    const r = await this.call('sgx_ql_get_quote', () => this.native.getQuote(req.report, req.attKeyId, req.qeReportInfo, size));
    if (r.code !== 0) this.fail('sgx_ql_get_quote', r.code);
    this.platformFailure = undefined;
    // The quote's own length (header + body + signature data), not the zero padding after it.
    const sigLen = r.quote.length >= QuoteV3Offsets.signatureData ? r.quote.readUInt32LE(QuoteV3Offsets.signatureDataLength) : 0;
    const real = QuoteV3Offsets.signatureData + sigLen;
    const quote = real > QuoteV3Offsets.signatureData && real <= r.quote.length ? r.quote.subarray(0, real) : r.quote;
    return { quote, ...(r.qeReportInfo ? { qeReportInfo: r.qeReportInfo } : {}) };
  }

  async health(): Promise<ProviderHealth> {
    const warnings = this.encryptedPpid || !this.qplLoaded ? [NO_QPL_WARNING] : [];
    const withWarnings = (h: ProviderHealth): ProviderHealth => (warnings.length ? { ...h, warnings } : h);
    const f = this.inFlight;
    const running = f ? `native ${f.fn} for ${((Date.now() - f.since) / 1000).toFixed(1)} s` : '';
    if (this.startupFailure) return withWarnings({ ready: false, reason: this.startupFailure });
    if (!this.warmupDone) return withWarnings({ ready: false, reason: `warm-up still running${f ? ` (${running})` : ''}` });
    if (f?.stuck) return withWarnings({ ready: false, reason: `${running.replace(' for ', ' has been running for ')} (over the ${this.callTimeoutMs} ms provider timeout); clients get AESM_BUSY until it returns` });
    if (!this.keyCertified) return withWarnings({ ready: false, reason: 'attestation key not certified yet' });
    if (this.platformFailure) return withWarnings({ ready: false, reason: `last native call failed: ${this.platformFailure}` });
    return withWarnings({ ready: true });
  }

  /** True while a native call is running (then the process can only leave through _exit). */
  get nativeCallRunning(): boolean {
    return this.inFlight !== undefined;
  }

  /**
   * Leave the process. A native call still running would make process.exit() wait for its worker
   * thread forever, so then the process leaves through _exit once the log is flushed.
   */
  exitProcess(code: number): void {
    if (!this.inFlight) process.exit(code);
    this.log?.warn({ function: this.inFlight!.fn, exitCode: code }, 'exiting while a native DCAP call is still running');
    // _exit drops whatever the logger has not written yet: wait (at most 1 s) for its asynchronous
    // write to finish, write the rest synchronously, then leave.
    const stream = (this.log as unknown as Record<symbol, { _writing?: boolean; flushSync?: () => void } | undefined> | undefined)?.[pino.symbols.streamSym];
    const deadline = Date.now() + 1000;
    const leave = () => {
      if (stream?._writing && Date.now() < deadline) {
        setTimeout(leave, 5);
        return;
      }
      try {
        stream?.flushSync?.();
      } catch {
        // nothing more to do: leave anyway
      }
      this.native.exitImmediately(code);
    };
    leave();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // Like aesmd's stop(): the EPHEMERAL policy unloads the QE3 and PCE. Skipped while a call is stuck.
    if (this.inFlight?.stuck) return;
    await Promise.race([
      this.call('sgx_ql_set_enclave_load_policy', () => this.native.setEnclaveLoadPolicy(SGX_QL_EPHEMERAL)).catch(() => undefined),
      new Promise((r) => setTimeout(r, this.callTimeoutMs).unref()),
    ]);
  }
}

/**
 * Check the host, remove SGX_AESM_ADDR, load Intel's libraries and warm up. Throws
 * DcapUnavailableError with one message naming what is missing.
 */
export async function createDcapProvider(opts: DcapProviderOptions = {}): Promise<DcapProvider> {
  const env = opts.env ?? process.env;
  let native = opts.native;
  if (!native) {
    const host = checkDcapHost({ ...(opts.libDir ? { libDir: opts.libDir } : {}), ...(opts.deviceDir ? { deviceDir: opts.deviceDir } : {}), env });
    if (host.problems.length > 0) throw new DcapUnavailableError(dcapHostProblemMessage(host));
    if (env.SGX_AESM_ADDR !== undefined) {
      // Intel's library reads it in a load-time constructor and would then send every sgx_qe_* call to
      // an AESM socket, that is, back to this daemon (spec §5.4). Deleting it reaches the C environment.
      const value = env.SGX_AESM_ADDR;
      delete env.SGX_AESM_ADDR;
      opts.logger?.warn({ removed: 'SGX_AESM_ADDR', value }, 'removed SGX_AESM_ADDR from the daemon\'s own environment before loading Intel\'s library (this daemon is the AESM endpoint; the variable would route the library back to it)');
    }
    try {
      native = await loadDcapNative(opts.libDir ? { libDir: opts.libDir } : {});
    } catch (e) {
      if (e instanceof DcapLoadError) throw new DcapUnavailableError(`the dcap provider cannot load Intel's DCAP library: ${e.message}`);
      throw e;
    }
    opts.logger?.info({ library: native.loadedFrom, ...(native.preloadedQpl ? { qpl: native.preloadedQpl } : {}), enclaveDevice: host.enclaveDevice, provisionDevice: host.provisionDevice }, 'loaded Intel DCAP quote library');
  }
  const provider = new DcapProvider(native, opts);
  const warmupMs = opts.warmupTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const started = provider.start();
  const outcome = await Promise.race([
    started.then(() => 'done' as const),
    new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), warmupMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (outcome === 'timeout') {
    // Serve anyway (not ready); a fatal problem found later is logged and kept as the readiness reason.
    opts.logger?.error({ warmupTimeoutMs: warmupMs }, 'dcap warm-up did not finish in time; serving, not ready until it does');
    started.catch((e) => provider.noteWarmupFailure((e as Error).message));
  }
  return provider;
}
