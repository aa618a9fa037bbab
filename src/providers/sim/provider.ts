import { AesmCode, AesmError } from '../../aesm/errors.js';
import { ATT_KEY_ID_BASE_SIZE, ATT_KEY_ID_EXT_SIZE, attKeyIdBase, DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../../sgx/att-key-id.js';
import type { ProviderHealth, QuoteProvider } from '../provider.js';
import { SimStateError } from './errors.js';
import { SimPlatform } from './platform.js';
import type { AttestationKey } from './quoting-enclave.js';
import { fileStamp, readAttestationKey, statePath } from './state.js';
import type { TcbProfile } from './tcb-profiles.js';

/**
 * The `sim` QuoteProvider: a simulated QE3 behind the daemon. It re-checks the state directory on every
 * call (two stat() calls) so `sim rotate-key`, `sim set-tcb` and `sim init --force` run from another
 * process take effect in a running daemon, with the same AESM codes a real QE3 gives.
 */

export interface SimProviderOptions {
  stateDir: string;
  /** Create a platform when the directory holds none (first start). Default true. */
  initIfMissing?: boolean;
  /** Profile for a platform created on first start. */
  tcbProfile?: TcbProfile;
  /** How many calls the daemon may run at once (the sim is in-process CPU work). */
  maxConcurrency?: number;
}

const DEFAULT_BASE = attKeyIdBase(DEFAULT_ECDSA_P256_ATT_KEY_ID);

function checkAttKeyId(attKeyId: Buffer): void {
  if (!Buffer.isBuffer(attKeyId) || attKeyId.length < ATT_KEY_ID_EXT_SIZE) {
    throw new AesmError(AesmCode.PARAMETER_ERROR, `att_key_id must be ${ATT_KEY_ID_EXT_SIZE} bytes, got ${attKeyId?.length ?? 0}`);
  }
  if (!attKeyIdBase(attKeyId).equals(DEFAULT_BASE)) {
    throw new AesmError(AesmCode.UNSUPPORTED_ATT_KEY_ID, `the simulated QE only has the default ECDSA-P256 key (first ${ATT_KEY_ID_BASE_SIZE} bytes differ)`);
  }
}

export class SimProvider implements QuoteProvider {
  readonly name = 'sim';
  readonly simulated = true;
  readonly maxConcurrency: number;

  private platformStamp: string;
  private attStamp: string;
  /** The two files every call stats (joined once: path.join is measurable per quote). */
  private readonly platformFile: string;
  private readonly attKeyFile: string;
  private attKey: AttestationKey;
  /** Generation of the key InitQuoteEx certified; quotes need it to equal the current one (else AESM 42). */
  private initializedGeneration: number | undefined;
  private reloading?: Promise<void>;

  private constructor(
    private platform: SimPlatform,
    opts: SimProviderOptions,
  ) {
    this.maxConcurrency = opts.maxConcurrency ?? 4;
    this.platformFile = statePath(platform.stateDir, 'platform');
    this.attKeyFile = statePath(platform.stateDir, 'attestationKey');
    this.platformStamp = fileStamp(this.platformFile);
    this.attStamp = fileStamp(this.attKeyFile);
    const rec = platform.readAttestationKey();
    this.attKey = { generation: rec.generation, key: rec.key };
    // The key persisted in the state dir is usable after a restart, like aesmd's cached ECDSA blob.
    this.initializedGeneration = rec.generation;
  }

  static async create(opts: SimProviderOptions): Promise<SimProvider> {
    const platform = opts.initIfMissing === false
      ? await SimPlatform.load(opts.stateDir)
      : await SimPlatform.loadOrInit({ stateDir: opts.stateDir, tcbProfile: opts.tcbProfile });
    return new SimProvider(platform, opts);
  }

  /** The platform behind this provider (for the daemon's info endpoint and tests). */
  get simPlatform(): SimPlatform {
    return this.platform;
  }

  /** Notice changes made by other processes; cheap when nothing changed. */
  private async refresh(): Promise<void> {
    if (this.reloading) await this.reloading;
    const dir = this.platform.stateDir;
    const pStamp = fileStamp(this.platformFile);
    if (pStamp !== this.platformStamp) {
      this.reloading = (async () => {
        try {
          const before = this.platform.record.ppid;
          const next = await SimPlatform.load(dir);
          if (!next.record.ppid.equals(before)) {
            // A new platform (sim init --force): its QE has no certified key until InitQuoteEx.
            this.initializedGeneration = undefined;
            this.attStamp = '';
          }
          this.platform = next;
          this.platformStamp = pStamp;
        } catch (err) {
          throw this.stateFailure(err);
        } finally {
          this.reloading = undefined;
        }
      })();
      await this.reloading;
    }
    const aStamp = fileStamp(this.attKeyFile);
    if (aStamp !== this.attStamp) {
      let rec;
      try {
        rec = readAttestationKey(dir);
      } catch (err) {
        throw this.stateFailure(err, AesmCode.ATT_KEY_BLOB_ERROR);
      }
      this.attKey = { generation: rec.generation, key: rec.key };
      this.attStamp = aStamp;
    }
  }

  private stateFailure(err: unknown, code: number = AesmCode.UNEXPECTED_ERROR): AesmError {
    if (err instanceof AesmError) return err;
    const msg = err instanceof SimStateError ? err.message : `simulated platform state: ${(err as Error)?.message ?? err}`;
    return new AesmError(code, msg, { cause: err });
  }

  private initializedQe() {
    if (this.initializedGeneration === undefined || this.initializedGeneration !== this.attKey.generation) {
      throw new AesmError(AesmCode.ATT_KEY_NOT_INITIALIZED, 'the attestation key changed (sim rotate-key or a new platform): call InitQuoteEx again');
    }
    return this.platform.quotingEnclave(this.attKey);
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    return [Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID)];
  }

  async initQuote(attKeyId: Buffer): Promise<{ targetInfo: Buffer; pubKeyId: Buffer }> {
    checkAttKeyId(attKeyId);
    await this.refresh();
    const qe = this.platform.quotingEnclave(this.attKey);
    this.initializedGeneration = this.attKey.generation;
    return { targetInfo: Buffer.from(qe.targetInfo), pubKeyId: qe.pubKeyId };
  }

  async getQuoteSize(attKeyId: Buffer): Promise<number> {
    checkAttKeyId(attKeyId);
    await this.refresh();
    return this.initializedQe().quoteSize;
  }

  async getQuote(request: { report: Buffer; attKeyId: Buffer; qeReportInfo?: Buffer }): Promise<{ quote: Buffer; qeReportInfo?: Buffer }> {
    checkAttKeyId(request.attKeyId);
    await this.refresh();
    return this.initializedQe().quote(request.report, request.qeReportInfo);
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.refresh();
    } catch (err) {
      return { ready: false, reason: `SIMULATED platform unusable: ${(err as Error).message}` };
    }
    const r = this.platform.record;
    return { ready: true, fmspc: r.fmspc.toString('hex').toUpperCase(), tcbStatus: r.tcbProfile };
  }

  async close(): Promise<void> {
    // Nothing held open: state is re-read on demand.
  }
}

/** Create the sim provider for the daemon (creates the platform on first start unless initIfMissing=false). */
export async function createSimProvider(opts: SimProviderOptions): Promise<SimProvider> {
  return SimProvider.create(opts);
}
