import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createHash, createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../providers/sim/atomic-file.js';
import type { JwsAlgorithm } from './jws.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * Token-signing keys. Either generated into a state directory on first start (a local signing CA and one
 * leaf per key, so a relying party can pin the CA across rotations) or loaded from files (a Kubernetes
 * Secret shared by every replica). `/certs` lists the active key first, then retired keys until every
 * token they signed has expired.
 */
export interface SigningKey {
  kid: string;
  alg: JwsAlgorithm;
  /** absent for keys that are only published (retired, or previous keys given as files) */
  privateKey?: KeyObject;
  /** leaf first, DER */
  chain: Buffer[];
  createdAt: Date;
  retiredAt?: Date;
}

export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

const INDEX_FILE = 'signing-keys.json';
const CA_KEY_FILE = 'signing-ca.key.pem';
const CA_CERT_FILE = 'signing-ca.cert.pem';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;
const LEAF_VALIDITY_MS = 2 * 365 * 86400_000;
const CA_VALIDITY_MS = 20 * 365 * 86400_000;

interface IndexEntry {
  kid: string;
  alg: JwsAlgorithm;
  keyFile: string;
  certFile: string;
  createdAt: string;
  retiredAt?: string;
}
interface IndexFile {
  version: 1;
  keys: IndexEntry[];
}

/** kid = base64url SHA-256 of the leaf certificate (the RFC 7515 x5t#S256 thumbprint): stable and unique. */
export function kidOf(leafDer: Buffer): string {
  return createHash('sha256').update(leafDer).digest('base64url');
}

function pemToDerList(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(Buffer.from(m[1].replace(/\s/g, ''), 'base64'));
  return out;
}

function algOfKey(key: KeyObject, file: string): JwsAlgorithm {
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyStoreError(`${file}: RSA keys must have at least 2048 bits`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new KeyStoreError(`${file}: signing keys must be RSA (RS256) or EC P-256 (ES256), not ${key.asymmetricKeyType ?? 'unknown'}`);
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KeyStoreError(`cannot read ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function loadPair(keyPath: string, certPath: string): { privateKey: KeyObject; chain: Buffer[]; alg: JwsAlgorithm } {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(read(keyPath, 'signing key'));
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw new KeyStoreError(`${keyPath} is not a PEM or DER private key`);
  }
  const chain = loadChain(certPath);
  if (!new X509Certificate(chain[0]).checkPrivateKey(privateKey)) throw new KeyStoreError(`${keyPath} is not the private key of the first certificate in ${certPath}`);
  return { privateKey, chain, alg: algOfKey(privateKey, keyPath) };
}

function loadChain(certPath: string): Buffer[] {
  const text = read(certPath, 'signing certificate').toString('utf8');
  const chain = pemToDerList(text);
  if (chain.length === 0) throw new KeyStoreError(`${certPath} holds no PEM certificate`);
  for (const der of chain) {
    try {
      new X509Certificate(der);
    } catch {
      throw new KeyStoreError(`${certPath}: a certificate in it does not parse`);
    }
  }
  return chain;
}

async function generateKeys(alg: JwsAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg === 'RS256' ? RSA : EC, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

interface Ca {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

async function loadOrCreateCa(dir: string, issuer: string, now: Date): Promise<Ca> {
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  if (existsSync(keyPath) && existsSync(certPath)) {
    const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
    const der = Buffer.from(readFileSync(keyPath, 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const key = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
    return { cert, key };
  }
  const keys = await generateKeys('ES256');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: new x509.Name([{ '2.5.4.3': [{ utf8String: `sgx-quote-helper attestation signing CA for ${issuer}` }] }]),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileAtomic(keyPath, await pkcs8Pem(keys.privateKey), 0o600);
  writeFileAtomic(certPath, cert.toString('pem'));
  return { cert, key: keys.privateKey };
}

async function issueLeaf(ca: Ca, issuer: string, alg: JwsAlgorithm, now: Date): Promise<{ keyPem: string; chainPem: string; leafDer: Buffer }> {
  const keys = await generateKeys(alg);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name([{ '2.5.4.3': [{ utf8String: issuer }] }]),
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LEAF_VALIDITY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { keyPem: await pkcs8Pem(keys.privateKey), chainPem: cert.toString('pem') + '\n' + ca.cert.toString('pem') + '\n', leafDer: Buffer.from(cert.rawData) };
}

function readIndex(dir: string): IndexFile | undefined {
  const path = join(dir, INDEX_FILE);
  if (!existsSync(path)) return undefined;
  let v: IndexFile;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as IndexFile;
  } catch {
    throw new KeyStoreError(`${path} is not valid JSON; restore it or move the state directory away to start with new keys`);
  }
  if (v?.version !== 1 || !Array.isArray(v.keys)) throw new KeyStoreError(`${path}: unknown format (expected version 1)`);
  return v;
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (e) {
    throw new KeyStoreError(`cannot use state directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function addKey(dir: string, index: IndexFile, issuer: string, alg: JwsAlgorithm, now: Date): Promise<void> {
  const ca = await loadOrCreateCa(dir, issuer, now);
  const leaf = await issueLeaf(ca, issuer, alg, now);
  const kid = kidOf(leaf.leafDer);
  const stem = createHash('sha256').update(kid).digest('hex').slice(0, 16);
  const entry: IndexEntry = { kid, alg, keyFile: `signing-${stem}.key.pem`, certFile: `signing-${stem}.chain.pem`, createdAt: now.toISOString() };
  writeFileAtomic(join(dir, entry.keyFile), leaf.keyPem, 0o600);
  writeFileAtomic(join(dir, entry.certFile), leaf.chainPem);
  index.keys.push(entry);
}

export interface StateKeyOptions {
  stateDir: string;
  /** the token issuer, written into the certificates' subject */
  issuer: string;
  /** for a key generated now (default RS256, what MAA and its consumers use) */
  alg?: JwsAlgorithm;
  now?: Date;
}

/** Open the state directory's keys, generating the CA and the first key when there are none. */
export async function ensureStateKeys(o: StateKeyOptions): Promise<void> {
  ensureDir(o.stateDir);
  const index = readIndex(o.stateDir) ?? { version: 1, keys: [] };
  if (index.keys.some((k) => !k.retiredAt)) return;
  await addKey(o.stateDir, index, o.issuer, o.alg ?? 'RS256', o.now ?? new Date());
  writeFileAtomic(join(o.stateDir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`, 0o600);
}

/**
 * Retire the active key and make a new one. The retired key stays published for `tokenLifetimeSeconds`
 * (tokens it signed stay verifiable); keys retired longer ago than that are deleted.
 */
export async function rotateStateKey(o: StateKeyOptions & { tokenLifetimeSeconds: number }): Promise<string> {
  ensureDir(o.stateDir);
  const now = o.now ?? new Date();
  const index = readIndex(o.stateDir) ?? { version: 1, keys: [] };
  for (const k of index.keys) if (!k.retiredAt) k.retiredAt = now.toISOString();
  const keep: IndexEntry[] = [];
  for (const k of index.keys) {
    if (k.retiredAt && Date.parse(k.retiredAt) + o.tokenLifetimeSeconds * 1000 <= now.getTime()) {
      rmSync(join(o.stateDir, k.keyFile), { force: true });
      rmSync(join(o.stateDir, k.certFile), { force: true });
    } else keep.push(k);
  }
  index.keys = keep;
  await addKey(o.stateDir, index, o.issuer, o.alg ?? 'RS256', now);
  writeFileAtomic(join(o.stateDir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`, 0o600);
  return index.keys[index.keys.length - 1].kid;
}

export type KeySource =
  | { kind: 'state'; stateDir: string }
  /** Key and certificate chain files (e.g. a mounted Secret); `previousCertFiles` stay published. */
  | { kind: 'files'; keyFile: string; certFile: string; previousCertFiles?: string[] };

/** The keys the service signs with and publishes; `reload()` re-reads them (after a rotation or a Secret update). */
export class KeyRing {
  private keys: SigningKey[] = [];
  private stamp = '';

  constructor(
    private readonly source: KeySource,
    private readonly tokenLifetimeSeconds: number,
  ) {}

  /** The signing key: the newest key that is not retired. */
  get active(): SigningKey | undefined {
    return this.keys.find((k) => k.privateKey && !k.retiredAt);
  }

  /** Keys to publish at `now`: the active key first, then retired keys whose tokens may still be alive. */
  published(now: Date = new Date()): SigningKey[] {
    const live = this.keys.filter((k) => !k.retiredAt || k.retiredAt.getTime() + this.tokenLifetimeSeconds * 1000 > now.getTime());
    return [...live.filter((k) => k === this.active), ...live.filter((k) => k !== this.active)];
  }

  /** Returns true when the key set changed. Throws KeyStoreError (the previous keys stay in use). */
  reload(): boolean {
    const stamp = this.fileStamp();
    if (stamp === this.stamp) return false;
    this.keys = this.source.kind === 'state' ? this.loadState(this.source.stateDir) : this.loadFiles(this.source);
    this.stamp = stamp;
    return true;
  }

  private fileStamp(): string {
    const files = this.source.kind === 'state' ? [join(this.source.stateDir, INDEX_FILE)] : [this.source.keyFile, this.source.certFile, ...(this.source.previousCertFiles ?? [])];
    return files.map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}:${s.ino}`;
      } catch {
        return `${f}:missing`;
      }
    }).join('|');
  }

  private loadState(dir: string): SigningKey[] {
    const index = readIndex(dir);
    if (!index) throw new KeyStoreError(`${join(dir, INDEX_FILE)} is missing; start the service once to generate keys`);
    const keys = index.keys.map((e) => {
      const retiredAt = e.retiredAt ? new Date(e.retiredAt) : undefined;
      const chain = loadChain(join(dir, e.certFile));
      if (kidOf(chain[0]) !== e.kid) throw new KeyStoreError(`${join(dir, e.certFile)} does not match kid ${e.kid} in ${INDEX_FILE}`);
      const k: SigningKey = { kid: e.kid, alg: e.alg, chain, createdAt: new Date(e.createdAt), ...(retiredAt ? { retiredAt } : {}) };
      if (!retiredAt) k.privateKey = loadPair(join(dir, e.keyFile), join(dir, e.certFile)).privateKey;
      return k;
    });
    return keys.reverse(); // newest first
  }

  private loadFiles(s: Extract<KeySource, { kind: 'files' }>): SigningKey[] {
    const pair = loadPair(s.keyFile, s.certFile);
    const now = new Date();
    const active: SigningKey = { kid: kidOf(pair.chain[0]), alg: pair.alg, privateKey: pair.privateKey, chain: pair.chain, createdAt: now };
    const previous = (s.previousCertFiles ?? []).map((f): SigningKey => {
      const chain = loadChain(f);
      const pub = new X509Certificate(chain[0]).publicKey;
      // Previous keys given as files are published for as long as they are given: their retirement time is unknown.
      return { kid: kidOf(chain[0]), alg: pub.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256', chain, createdAt: now };
    });
    return [active, ...previous.filter((p) => p.kid !== active.kid)];
  }
}

/** The JWK set body of `GET /certs`: exactly `kty`, `kid`, `x5c` per key, as MAA publishes them. */
export function jwkSet(keys: SigningKey[]): { keys: Array<{ kty: string; kid: string; x5c: string[] }> } {
  return { keys: keys.map((k) => ({ kty: k.alg === 'RS256' ? 'RSA' : 'EC', kid: k.kid, x5c: k.chain.map((d) => d.toString('base64')) })) };
}
