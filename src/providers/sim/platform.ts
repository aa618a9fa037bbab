import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { AttributeFlags, type Attributes } from '../../sgx/attributes.js';
import { encodePckExtension } from '../../sgx/pck-extension.js';
import { buildCollateral, collateralIssueDate, type SimCollateral } from './collateral.js';
import { ereport as ereportWith, type EreportInput } from './enclave-report.js';
import { SimInputError, SimStateError } from './errors.js';
import { certPem, createPki, exportPkcs8Pem, importKeyPair, type CaType, type Issued } from './pki.js';
import { SimQuotingEnclave, type AttestationKey } from './quoting-enclave.js';
import type { ReportKeySecret } from './report-key.js';
import {
  attestationKeyToJson,
  ensureStateDir,
  platformToJson,
  readAttestationKey,
  readState,
  removeState,
  reportKeyToJson,
  stateStatus,
  statePath,
  writeStateFile,
  type PlatformRecord,
  type SimEnclaveRecord,
  type SimState,
} from './state.js';
import { StateFiles } from './state-files.js';
import { DEFAULT_TCB_PROFILE, isTcbProfile, parseTcbProfile, type TcbProfile } from './tcb-profiles.js';

/**
 * A simulated SGX platform backed by a state directory: identity, PKI, report keys, QE3/PCE and
 * collateral. The library API the sim provider, the collateral server and the demo build on.
 */

export interface SimInitOptions {
  stateDir: string;
  tcbProfile?: TcbProfile;
  /** Replace an existing state (a new platform identity). */
  force?: boolean;
  /** Clock for certificate validity (default: the real clock). */
  now?: Date;
  caType?: CaType;
  /** 6-byte FMSPC (default: random, so several simulated platforms can share one collateral server). */
  fmspc?: Buffer;
}

/** Public identity of the platform, as `sim show` prints it. */
export interface SimPlatformIdentity {
  simulated: true;
  stateDir: string;
  createdAt: string;
  ppid: string;
  qeId: string;
  cpuSvn: string;
  tcbComponents: number[];
  pceSvn: number;
  pceId: string;
  fmspc: string;
  caType: CaType;
  sgxType: number;
  tcbProfile: TcbProfile;
  tcbEvaluationDataNumber: number;
  qe: { mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number; attributes: string; miscSelect: number };
  pckCertSerial: string;
  rootCertSha256: string;
  attestationKeyGeneration: number;
  /** Hex of the 32-byte ECDSA_ID of the current attestation key. */
  pubKeyId: string;
}

/** Default platform TCB: component SVNs = CPUSVN bytes (realistic values, room above and below). */
const DEFAULT_CPUSVN = Buffer.from([14, 14, 3, 3, 4, 1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const DEFAULT_PCESVN = 13;
const DEFAULT_QE_SVN = 8;
const DEFAULT_TCB_EVALUATION_DATA_NUMBER = 17;
/** INIT | MODE64BIT | PROVISION_KEY, xfrm legacy+AVX+AVX-512 (real QE3/PCE values, spec §1.1). */
const AE_ATTRIBUTES: Attributes = {
  flags: AttributeFlags.INITTED | AttributeFlags.MODE64BIT | AttributeFlags.PROVISION_KEY,
  xfrm: 0xe7n,
};

/** Our simulated QE/PCE measurements: recognisably not Intel's (derived from a SIMULATED label). */
function simMeasurement(label: string): Buffer {
  return createHash('sha256').update(`sgx-quote-helper SIMULATED ${label}`).digest();
}

function newAttestationKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export class SimPlatform {
  private collateralCache?: { key: string; value: SimCollateral };
  private qeCache?: SimQuotingEnclave;

  private constructor(
    private state: SimState,
    private readonly rootCa: Issued,
    private readonly pckCa: Issued,
  ) {}

  /** Create a new platform in `stateDir` (refuses to overwrite one unless `force`). */
  static async init(o: SimInitOptions): Promise<SimPlatform> {
    const dir = o.stateDir;
    const status = stateStatus(dir);
    if (status !== 'absent' && !o.force) {
      throw new SimStateError(
        status === 'partial' ? 'PARTIAL' : 'ALREADY_INITIALIZED',
        status === 'partial'
          ? `${dir} holds an incomplete simulated platform; use --force to regenerate it`
          : `${dir} already holds a simulated platform; use --force to replace it (this creates a NEW platform identity)`,
        dir,
      );
    }
    const requested = o.tcbProfile ?? DEFAULT_TCB_PROFILE;
    const tcbProfile = isTcbProfile(requested) ? requested : parseTcbProfile(String(requested));
    if (o.caType !== undefined && o.caType !== 'processor' && o.caType !== 'platform') {
      throw new SimInputError('INVALID_ARGUMENT', `CA type must be processor or platform, got ${JSON.stringify(o.caType)}`, 'caType');
    }
    if (o.fmspc && o.fmspc.length !== 6) throw new SimInputError('INVALID_SIZE', `FMSPC must be 6 bytes, got ${o.fmspc.length}`, 'fmspc');
    const now = o.now ?? new Date();
    const caType = o.caType ?? 'processor';
    const qeSigner = simMeasurement('QE3/PCE MRSIGNER');
    const qe: SimEnclaveRecord = { mrEnclave: simMeasurement('QE3 MRENCLAVE'), mrSigner: qeSigner, isvProdId: 1, isvSvn: DEFAULT_QE_SVN, attributes: AE_ATTRIBUTES, miscSelect: 0 };
    const pce: SimEnclaveRecord = { mrEnclave: simMeasurement('PCE MRENCLAVE'), mrSigner: qeSigner, isvProdId: 0, isvSvn: DEFAULT_PCESVN, attributes: AE_ATTRIBUTES, miscSelect: 0 };
    const platform: PlatformRecord = {
      createdAt: now,
      ppid: randomBytes(16),
      qeId: randomBytes(16),
      cpuSvn: Buffer.from(DEFAULT_CPUSVN),
      pceSvn: DEFAULT_PCESVN,
      pceId: Buffer.alloc(2),
      fmspc: o.fmspc ? Buffer.from(o.fmspc) : randomBytes(6),
      caType,
      sgxType: caType === 'platform' ? 1 : 0,
      ...(caType === 'platform' ? { platformInstanceId: randomBytes(16) } : {}),
      qe,
      pce,
      tcbProfile,
      tcbEvaluationDataNumber: DEFAULT_TCB_EVALUATION_DATA_NUMBER,
    };
    const sgxExtensionDer = encodePckExtension({
      ppid: platform.ppid,
      tcb: { compSvns: [...platform.cpuSvn], pceSvn: platform.pceSvn, cpuSvn: platform.cpuSvn },
      pceId: platform.pceId,
      fmspc: platform.fmspc,
      sgxType: platform.sgxType,
      ...(platform.platformInstanceId
        ? { platformInstanceId: platform.platformInstanceId, configuration: { dynamicPlatform: true, cachedKeys: true, smtEnabled: true } }
        : {}),
    });
    const pki = await createPki({ now, caType, sgxExtensionDer });
    const reportKey: ReportKeySecret = { baseReportKey: randomBytes(16), ownerEpoch: randomBytes(16), keyId: randomBytes(32), cpuSvn: Buffer.from(platform.cpuSvn) };

    ensureStateDir(dir);
    if (status !== 'absent') removeState(dir);
    const pairs: Array<[keyof typeof StateFiles, keyof typeof StateFiles, Issued]> = [
      ['rootCaCert', 'rootCaKey', pki.root],
      ['pckCaCert', 'pckCaKey', pki.pckCa],
      ['pckCert', 'pckKey', pki.pck],
      ['tcbSigningCert', 'tcbSigningKey', pki.tcbSigning],
    ];
    for (const [certFile, keyFile, issued] of pairs) {
      writeStateFile(dir, keyFile, await exportPkcs8Pem(issued.keys.privateKey));
      writeStateFile(dir, certFile, certPem(issued.cert));
    }
    writeStateFile(dir, 'reportKey', reportKeyToJson(reportKey));
    writeStateFile(dir, 'attestationKey', attestationKeyToJson({ generation: 1, createdAt: now, privateKeyPem: newAttestationKeyPem() }));
    // Last: the commit marker. Until it exists the directory reads as partial, never as a platform.
    writeStateFile(dir, 'platform', platformToJson(platform));
    return SimPlatform.load(dir);
  }

  /** Load an existing platform; typed SimStateError when absent, partial or damaged. */
  static async load(stateDir: string): Promise<SimPlatform> {
    const state = readState(stateDir);
    const corrupt = (file: string) => () => {
      throw new SimStateError('CORRUPT', `${file}: the key cannot be imported`, file);
    };
    const rootCa: Issued = {
      cert: state.pki.rootCa.cert,
      keys: await importKeyPair(state.pki.rootCa.keyPem, state.pki.rootCa.cert).catch(corrupt(statePath(stateDir, 'rootCaKey'))),
    };
    const pckCa: Issued = {
      cert: state.pki.pckCa.cert,
      keys: await importKeyPair(state.pki.pckCa.keyPem, state.pki.pckCa.cert).catch(corrupt(statePath(stateDir, 'pckCaKey'))),
    };
    return new SimPlatform(state, rootCa, pckCa);
  }

  /** Load, or create with defaults when the directory holds no platform at all ("on first start"). */
  static async loadOrInit(o: SimInitOptions): Promise<SimPlatform> {
    if (stateStatus(o.stateDir) === 'absent') return SimPlatform.init({ ...o, force: false });
    return SimPlatform.load(o.stateDir);
  }

  get stateDir(): string {
    return this.state.dir;
  }

  get record(): Readonly<PlatformRecord> {
    return this.state.platform;
  }

  get reportKeySecret(): ReportKeySecret {
    return this.state.reportKey;
  }

  get tcbProfile(): TcbProfile {
    return this.state.platform.tcbProfile;
  }

  get attestationKeyGeneration(): number {
    return this.state.attestationKey.generation;
  }

  get rootCertPem(): string {
    return this.state.pki.rootCa.certPem;
  }

  get rootCertDer(): Buffer {
    return Buffer.from(this.state.pki.rootCa.cert.rawData);
  }

  get pckCertPem(): string {
    return this.state.pki.pck.certPem;
  }

  /** PEM leaf, PCK CA, root: the chain every quote carries. */
  get pckCertChainPem(): string[] {
    return [this.state.pki.pck.certPem, this.state.pki.pckCa.certPem, this.state.pki.rootCa.certPem];
  }

  /** The QE's 512-byte target info (what InitQuoteEx returns). */
  qeTargetInfo(): Buffer {
    return this.quotingEnclave().targetInfo;
  }

  /**
   * The QE3 for the attestation key currently in memory. `attKey` replaces it (the provider passes a key
   * it re-read after `sim rotate-key`).
   */
  quotingEnclave(attKey?: AttestationKey): SimQuotingEnclave {
    if (attKey && (!this.qeCache || this.qeCache.generation !== attKey.generation)) {
      this.qeCache = this.newQe(attKey);
    }
    if (!this.qeCache) {
      this.qeCache = this.newQe({ generation: this.state.attestationKey.generation, key: createPrivateKey(this.state.attestationKey.privateKeyPem) });
    }
    return this.qeCache;
  }

  private newQe(attKey: AttestationKey): SimQuotingEnclave {
    const s = this.state;
    return new SimQuotingEnclave(
      { secret: s.reportKey, qe: s.platform.qe, pce: s.platform.pce, qeId: s.platform.qeId, pceSvn: s.platform.pceSvn, pckKey: s.pki.pck.key, pckChainPem: this.pckCertChainPem },
      attKey,
    );
  }

  identity(): SimPlatformIdentity {
    const p = this.state.platform;
    const enc = (e: SimEnclaveRecord) => ({
      mrEnclave: e.mrEnclave.toString('hex'),
      mrSigner: e.mrSigner.toString('hex'),
      isvProdId: e.isvProdId,
      isvSvn: e.isvSvn,
      attributes: `${e.attributes.flags.toString(16).padStart(16, '0')}:${e.attributes.xfrm.toString(16).padStart(16, '0')}`,
      miscSelect: e.miscSelect,
    });
    return {
      simulated: true,
      stateDir: this.state.dir,
      createdAt: p.createdAt.toISOString(),
      ppid: p.ppid.toString('hex'),
      qeId: p.qeId.toString('hex'),
      cpuSvn: p.cpuSvn.toString('hex'),
      tcbComponents: [...p.cpuSvn],
      pceSvn: p.pceSvn,
      pceId: p.pceId.toString('hex'),
      fmspc: p.fmspc.toString('hex').toUpperCase(),
      caType: p.caType,
      sgxType: p.sgxType,
      tcbProfile: p.tcbProfile,
      tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
      qe: enc(p.qe),
      pckCertSerial: this.state.pki.pck.cert.serialNumber,
      rootCertSha256: createHash('sha256').update(this.rootCertDer).digest('hex'),
      attestationKeyGeneration: this.state.attestationKey.generation,
      pubKeyId: this.quotingEnclave().pubKeyId.toString('hex'),
    };
  }

  /** EREPORT on this platform: a 432-byte report for `targetInfo` (e.g. the QE's) from a simulated enclave. */
  ereport(input: EreportInput): Buffer {
    return ereportWith(this.state.reportKey, input);
  }

  /** Collateral valid at `now` (default: the real clock); cached while the hour-rounded window is the same. */
  async collateral(opts: { now?: Date } = {}): Promise<SimCollateral> {
    const now = opts.now ?? new Date();
    const key = `${collateralIssueDate(now).getTime()}|${this.state.platform.tcbProfile}`;
    if (this.collateralCache?.key === key) return this.collateralCache.value;
    const value = await buildCollateral({ platform: this.state.platform, pki: this.state.pki, rootCa: this.rootCa, pckCa: this.pckCa, now });
    this.collateralCache = { key, value };
    return value;
  }

  /** Change what the collateral says about this platform (persisted; identity unchanged). */
  async setTcbProfile(profile: TcbProfile | string): Promise<void> {
    const p = isTcbProfile(profile) ? profile : parseTcbProfile(profile);
    const next: PlatformRecord = { ...this.state.platform, tcbProfile: p };
    writeStateFile(this.state.dir, 'platform', platformToJson(next));
    this.state = { ...this.state, platform: next };
    this.collateralCache = undefined;
  }

  /**
   * Replace the attestation key and bump its generation (persisted). Running providers notice on their
   * next call and answer AESM 42 until InitQuoteEx runs again, as a real QE3 does.
   */
  async rotateKey(now: Date = new Date()): Promise<number> {
    const current = readAttestationKey(this.state.dir);
    const next = { generation: current.generation + 1, createdAt: now, privateKeyPem: newAttestationKeyPem() };
    writeStateFile(this.state.dir, 'attestationKey', attestationKeyToJson(next));
    this.state = { ...this.state, attestationKey: next };
    this.qeCache = undefined;
    return next.generation;
  }

  /** Re-read the attestation key from disk (cheap enough per call; used after a rotation elsewhere). */
  readAttestationKey(): AttestationKey & { privateKeyPem: string } {
    const rec = readAttestationKey(this.state.dir);
    return { generation: rec.generation, key: rec.key, privateKeyPem: rec.privateKeyPem };
  }
}

