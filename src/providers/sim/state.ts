import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeAttributes, parseAttributes, type Attributes } from '../../sgx/attributes.js';
import { pckExtensionFromCertificate } from '../../sgx/pck-extension.js';
import { writeFileAtomic } from './atomic-file.js';
import { SimStateError } from './errors.js';
import type { CaType } from './pki.js';
import type { ReportKeySecret } from './report-key.js';
import { SECRET_FILES, STATE_FORMAT_VERSION, STATE_KIND, STATE_NOTICE, StateFiles, type StateFileKey } from './state-files.js';
import { isTcbProfile, type TcbProfile } from './tcb-profiles.js';

/**
 * The persistent state of a simulated platform: typed records, their JSON/PEM files, strict loading.
 * A file that is missing, truncated or inconsistent is an error naming the file — never a reason to
 * regenerate, because a platform identity that changes under an application is a bug.
 */

/** Identity of a simulated architectural enclave (QE3, PCE). */
export interface SimEnclaveRecord {
  mrEnclave: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  isvSvn: number;
  attributes: Attributes;
  miscSelect: number;
}

export interface PlatformRecord {
  createdAt: Date;
  ppid: Buffer;
  qeId: Buffer;
  /** Raw CPUSVN; also the 16 TCB component SVNs of the PCK certificate. */
  cpuSvn: Buffer;
  pceSvn: number;
  pceId: Buffer;
  fmspc: Buffer;
  caType: CaType;
  sgxType: number;
  platformInstanceId?: Buffer;
  qe: SimEnclaveRecord;
  pce: SimEnclaveRecord;
  tcbProfile: TcbProfile;
  tcbEvaluationDataNumber: number;
}

export interface AttestationKeyRecord {
  generation: number;
  createdAt: Date;
  privateKeyPem: string;
}

export interface PkiEntry {
  cert: x509.X509Certificate;
  certPem: string;
  keyPem: string;
  key: KeyObject;
}

export interface PkiRecord {
  rootCa: PkiEntry;
  pckCa: PkiEntry;
  pck: PkiEntry;
  tcbSigning: PkiEntry;
}

export interface SimState {
  dir: string;
  platform: PlatformRecord;
  reportKey: ReportKeySecret;
  attestationKey: AttestationKeyRecord;
  pki: PkiRecord;
}

export function statePath(dir: string, file: StateFileKey): string {
  return join(dir, StateFiles[file]);
}

// ---------- field validation ----------

type Obj = Record<string, unknown>;

class FieldReader {
  constructor(
    private readonly obj: Obj,
    private readonly file: string,
    private readonly prefix = '',
  ) {}

  private bad(field: string, why: string): never {
    throw new SimStateError('CORRUPT', `${this.file}: field "${this.prefix}${field}" ${why}; the state is damaged (restore it, or regenerate with \`sim init --force\`)`, this.file);
  }

  hex(field: string, size: number): Buffer {
    const v = this.obj[field];
    if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || v.length !== size * 2) this.bad(field, `must be ${size} bytes of hex`);
    return Buffer.from(v, 'hex');
  }

  int(field: string, max: number): number {
    const v = this.obj[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) this.bad(field, `must be an integer 0..${max}`);
    return v;
  }

  str(field: string): string {
    const v = this.obj[field];
    if (typeof v !== 'string' || v.length === 0) this.bad(field, 'must be a non-empty string');
    return v;
  }

  date(field: string): Date {
    const d = new Date(this.str(field));
    if (Number.isNaN(d.getTime())) this.bad(field, 'must be a date');
    return d;
  }

  sub(field: string): FieldReader {
    const v = this.obj[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(field, 'must be an object');
    return new FieldReader(v as Obj, this.file, `${this.prefix}${field}.`);
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }

  oneOf<T extends string>(field: string, values: readonly T[]): T {
    const v = this.obj[field];
    if (typeof v !== 'string' || !values.includes(v as T)) this.bad(field, `must be one of ${values.join(', ')}`);
    return v as T;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new SimStateError('CORRUPT', `${path} is missing from the state directory (restore it, or regenerate with \`sim init --force\`)`, path);
    }
    throw new SimStateError('IO', `cannot read ${path}: ${(err as Error).message}`, path);
  }
}

function readJson(path: string, kind: string): FieldReader {
  const text = readText(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SimStateError('CORRUPT', `${path} is not valid JSON (truncated or damaged, ${text.length} bytes); restore it, or regenerate with \`sim init --force\``, path);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SimStateError('CORRUPT', `${path} does not hold a JSON object`, path);
  }
  const obj = parsed as Obj;
  if (obj.kind !== kind) throw new SimStateError('CORRUPT', `${path} is not a ${kind} file (kind is ${JSON.stringify(obj.kind)})`, path);
  if (obj.formatVersion !== STATE_FORMAT_VERSION) {
    throw new SimStateError('UNSUPPORTED_VERSION', `${path} has format version ${JSON.stringify(obj.formatVersion)}; this build reads version ${STATE_FORMAT_VERSION}`, path);
  }
  return new FieldReader(obj, path);
}

// ---------- records <-> JSON ----------

function enclaveToJson(e: SimEnclaveRecord): Obj {
  return {
    mrEnclave: e.mrEnclave.toString('hex'),
    mrSigner: e.mrSigner.toString('hex'),
    isvProdId: e.isvProdId,
    isvSvn: e.isvSvn,
    attributes: encodeAttributes(e.attributes).toString('hex'),
    miscSelect: e.miscSelect,
  };
}

function enclaveFromJson(r: FieldReader): SimEnclaveRecord {
  return {
    mrEnclave: r.hex('mrEnclave', 32),
    mrSigner: r.hex('mrSigner', 32),
    isvProdId: r.int('isvProdId', 0xffff),
    isvSvn: r.int('isvSvn', 0xffff),
    attributes: parseAttributes(r.hex('attributes', 16)),
    miscSelect: r.int('miscSelect', 0xffffffff),
  };
}

export function platformToJson(p: PlatformRecord): string {
  const obj: Obj = {
    kind: STATE_KIND.platform,
    formatVersion: STATE_FORMAT_VERSION,
    notice: STATE_NOTICE,
    createdAt: p.createdAt.toISOString(),
    ppid: p.ppid.toString('hex'),
    qeId: p.qeId.toString('hex'),
    cpuSvn: p.cpuSvn.toString('hex'),
    pceSvn: p.pceSvn,
    pceId: p.pceId.toString('hex'),
    fmspc: p.fmspc.toString('hex'),
    caType: p.caType,
    sgxType: p.sgxType,
    ...(p.platformInstanceId ? { platformInstanceId: p.platformInstanceId.toString('hex') } : {}),
    qe: enclaveToJson(p.qe),
    pce: enclaveToJson(p.pce),
    tcbProfile: p.tcbProfile,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
  };
  return JSON.stringify(obj, null, 2) + '\n';
}

export function readPlatform(dir: string): PlatformRecord {
  const path = statePath(dir, 'platform');
  const r = readJson(path, STATE_KIND.platform);
  const tcbProfile = r.str('tcbProfile');
  if (!isTcbProfile(tcbProfile)) {
    throw new SimStateError('CORRUPT', `${path}: field "tcbProfile" holds unknown profile ${JSON.stringify(tcbProfile)}`, path);
  }
  return {
    createdAt: r.date('createdAt'),
    ppid: r.hex('ppid', 16),
    qeId: r.hex('qeId', 16),
    cpuSvn: r.hex('cpuSvn', 16),
    pceSvn: r.int('pceSvn', 0xffff),
    pceId: r.hex('pceId', 2),
    fmspc: r.hex('fmspc', 6),
    caType: r.oneOf('caType', ['processor', 'platform'] as const),
    sgxType: r.int('sgxType', 2),
    ...(r.has('platformInstanceId') ? { platformInstanceId: r.hex('platformInstanceId', 16) } : {}),
    qe: enclaveFromJson(r.sub('qe')),
    pce: enclaveFromJson(r.sub('pce')),
    tcbProfile,
    tcbEvaluationDataNumber: r.int('tcbEvaluationDataNumber', 0xffffffff),
  };
}

export function reportKeyToJson(s: ReportKeySecret): string {
  return JSON.stringify({
    kind: STATE_KIND.reportKey,
    formatVersion: STATE_FORMAT_VERSION,
    notice: `${STATE_NOTICE}. Whoever can read this file can forge SGX reports for this simulated platform.`,
    baseReportKey: s.baseReportKey.toString('hex'),
    ownerEpoch: s.ownerEpoch.toString('hex'),
    keyId: s.keyId.toString('hex'),
    cpuSvn: s.cpuSvn.toString('hex'),
  }, null, 2) + '\n';
}

/** Only the report-key secret: what `sim report` needs (a container can mount just this file). */
export function readReportKey(dir: string): ReportKeySecret {
  const path = statePath(dir, 'reportKey');
  if (!existsSync(path) && stateStatus(dir) === 'absent') {
    throw new SimStateError('NOT_INITIALIZED', `no simulated platform in ${dir}: run \`sgx-quote-helper sim init --state-dir ${dir}\``, dir);
  }
  const r = readJson(path, STATE_KIND.reportKey);
  return { baseReportKey: r.hex('baseReportKey', 16), ownerEpoch: r.hex('ownerEpoch', 16), keyId: r.hex('keyId', 32), cpuSvn: r.hex('cpuSvn', 16) };
}

export function attestationKeyToJson(a: AttestationKeyRecord): string {
  return JSON.stringify({
    kind: STATE_KIND.attestationKey,
    formatVersion: STATE_FORMAT_VERSION,
    notice: STATE_NOTICE,
    generation: a.generation,
    createdAt: a.createdAt.toISOString(),
    privateKey: a.privateKeyPem,
  }, null, 2) + '\n';
}

export function readAttestationKey(dir: string): AttestationKeyRecord & { key: KeyObject } {
  const path = statePath(dir, 'attestationKey');
  const r = readJson(path, STATE_KIND.attestationKey);
  const privateKeyPem = r.str('privateKey');
  const key = parsePrivateKey(privateKeyPem, path);
  return { generation: r.int('generation', Number.MAX_SAFE_INTEGER), createdAt: r.date('createdAt'), privateKeyPem, key };
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new SimStateError('CORRUPT', `${path} does not hold a readable private key (truncated or damaged)`, path);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SimStateError('CORRUPT', `${path} holds a key that is not ECDSA P-256`, path);
  }
  return key;
}

function readPkiEntry(dir: string, certFile: StateFileKey, keyFile: StateFileKey): PkiEntry {
  const certPath = statePath(dir, certFile);
  const keyPath = statePath(dir, keyFile);
  const certPem = readText(certPath);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    throw new SimStateError('CORRUPT', `${certPath} does not hold a readable certificate (truncated or damaged)`, certPath);
  }
  const keyPem = readText(keyPath);
  const key = parsePrivateKey(keyPem, keyPath);
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(cert.publicKey.rawData).equals(fromKey)) {
    throw new SimStateError('CORRUPT', `${keyPath} does not match the public key in ${certPath}`, keyPath);
  }
  return { cert, certPem, keyPem, key };
}

export function readPki(dir: string): PkiRecord {
  return {
    rootCa: readPkiEntry(dir, 'rootCaCert', 'rootCaKey'),
    pckCa: readPkiEntry(dir, 'pckCaCert', 'pckCaKey'),
    pck: readPkiEntry(dir, 'pckCert', 'pckKey'),
    tcbSigning: readPkiEntry(dir, 'tcbSigningCert', 'tcbSigningKey'),
  };
}

/** What is in `dir`: nothing of ours, a complete state (commit marker present), or a partial one. */
export function stateStatus(dir: string): 'absent' | 'complete' | 'partial' {
  if (!existsSync(statePath(dir, 'platform'))) {
    const any = (Object.keys(StateFiles) as StateFileKey[]).some((k) => existsSync(statePath(dir, k)));
    return any ? 'partial' : 'absent';
  }
  return 'complete';
}

/** Load and cross-check a complete state. */
export function readState(dir: string): SimState {
  const status = stateStatus(dir);
  if (status === 'absent') {
    throw new SimStateError('NOT_INITIALIZED', `no simulated platform in ${dir}: run \`sgx-quote-helper sim init --state-dir ${dir}\``, dir);
  }
  if (status === 'partial') {
    throw new SimStateError('PARTIAL', `${dir} holds an incomplete simulated platform (${statePath(dir, 'platform')} is missing, e.g. after an interrupted init); regenerate it with \`sim init --force\``, statePath(dir, 'platform'));
  }
  const platform = readPlatform(dir);
  const reportKey = readReportKey(dir);
  const attestationKey = readAttestationKey(dir);
  const pki = readPki(dir);
  const rkPath = statePath(dir, 'reportKey');
  if (!reportKey.cpuSvn.equals(platform.cpuSvn)) {
    throw new SimStateError('CORRUPT', `${rkPath}: cpuSvn differs from ${StateFiles.platform}; the files come from different platforms`, rkPath);
  }
  const pckPath = statePath(dir, 'pckCert');
  let ext;
  try {
    ext = pckExtensionFromCertificate(Buffer.from(pki.pck.cert.rawData));
  } catch {
    throw new SimStateError('CORRUPT', `${pckPath}: the SGX extension cannot be read`, pckPath);
  }
  if (!ext.ppid.equals(platform.ppid) || !ext.fmspc.equals(platform.fmspc) || !ext.tcb.cpuSvn.equals(platform.cpuSvn) || ext.tcb.pceSvn !== platform.pceSvn) {
    throw new SimStateError('CORRUPT', `${pckPath} was issued for a different platform than ${StateFiles.platform} describes`, pckPath);
  }
  return { dir, platform, reportKey, attestationKey, pki };
}

// ---------- writing ----------

export function ensureStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new SimStateError('IO', `cannot create state directory ${dir}: ${(err as Error).message}`, dir);
  }
}

export function writeStateFile(dir: string, file: StateFileKey, data: string): void {
  const path = statePath(dir, file);
  try {
    writeFileAtomic(path, data, SECRET_FILES.has(file) ? 0o600 : 0o644);
  } catch (err) {
    throw new SimStateError('IO', `cannot write ${path}: ${(err as Error).message}`, path);
  }
}

/** Remove the commit marker first, so an interrupted regeneration is detected as partial. */
export function removeState(dir: string): void {
  const order: StateFileKey[] = ['platform', ...(Object.keys(StateFiles) as StateFileKey[]).filter((k) => k !== 'platform')];
  for (const k of order) {
    try {
      rmSync(statePath(dir, k), { force: true });
    } catch (err) {
      throw new SimStateError('IO', `cannot remove ${statePath(dir, k)}: ${(err as Error).message}`, statePath(dir, k));
    }
  }
}

/**
 * Cheap change detector for a state file (rename-on-write gives a new inode). Number stats, not
 * bigint: the daemon stats twice per quote, and mtimeMs still resolves well under a microsecond.
 */
export function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.mtimeMs}:${s.size}`;
  } catch {
    return 'missing';
  }
}
