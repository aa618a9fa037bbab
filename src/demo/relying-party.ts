// The demo's attestation half: the attestation service as a child process, the application's MAA
// request, and a relying party that releases a secret only after `attest token` verified the token
// strictly. Everything here is SIMULATED: the service trusts the simulator's root.
import { constants, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { base64url } from '../attest/base64.js';
import { CliProcess } from './cli-process.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The processes this module starts, so the demo's cleanup stops them on every path. */
export interface AttestProcesses {
  attest?: CliProcess;
  verifiers?: CliProcess[];
}

/** The enclave's key pair and the runtime data (JSON, Key Vault's `keys` shape) that carries its public half. */
export interface EnclaveKey {
  privateKey: KeyObject;
  runtimeData: Buffer;
}

const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

async function rsaJwk(kid: string): Promise<{ privateKey: KeyObject; jwk: JsonWebKey }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { kid, ...publicKey.export({ format: 'jwk' }) } };
}

/** A fresh RSA key for the (SIMULATED) enclave; the runtime data is `{"keys":[jwk],"challenge":…}`. */
export async function newEnclaveKey(challenge: string): Promise<EnclaveKey> {
  const { privateKey, jwk } = await rsaJwk('enclave-key');
  return { privateKey, runtimeData: Buffer.from(JSON.stringify({ keys: [jwk], challenge })) };
}

export function unwrapSecret(key: EnclaveKey, wrapped: Buffer): Buffer {
  return privateDecrypt({ key: key.privateKey, ...oaep }, wrapped);
}

/** Start `attest serve` on loopback (plain HTTP, development only) and return the issuer URL it prints. */
export async function startAttestationService(
  running: AttestProcesses,
  o: { dir: string; rootCertPem: string; collateralUrl: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  const attestDir = join(o.dir, 'attest');
  mkdirSync(attestDir, { recursive: true });
  const rootFile = join(attestDir, 'sim-root.pem');
  writeFileSync(rootFile, o.rootCertPem);
  running.attest = new CliProcess(
    'the attestation service',
    [
      'attest', 'serve', '--listen', '127.0.0.1:0', '--insecure-http', '--state-dir', join(attestDir, 'state'),
      '--trust-root', rootFile, '--collateral-url', o.collateralUrl, '--log-level', 'info',
    ],
    o.env,
  );
  const m = await running.attest.waitFor(/^.*"msg":"attestation service listening".*$/m, 20_000);
  const url = (JSON.parse(m[0]) as { url?: unknown }).url;
  if (typeof url !== 'string') throw new Error(`the attestation service printed no URL: ${m[0]}`);
  return url;
}

export interface AttestAnswer {
  status: number;
  token?: string;
  alg?: string;
  kid?: string;
  /** MAA's error code when there is no token */
  error?: string;
}

/** What Microsoft's client sends: POST /attest/SgxEnclave with the quote and JSON runtime data. */
export async function attestQuote(issuer: string, quote: Buffer, runtimeData: Buffer): Promise<AttestAnswer> {
  const res = await fetch(`${issuer}/attest/SgxEnclave?api-version=2022-08-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ quote: base64url(quote), runtimeData: { data: base64url(runtimeData), dataType: 'JSON' } }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: unknown; error?: { code?: unknown } };
  if (res.ok && typeof body.token === 'string') {
    const header = JSON.parse(Buffer.from(body.token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string; kid?: string };
    return { status: res.status, token: body.token, alg: header.alg, kid: header.kid };
  }
  return { status: res.status, error: typeof body.error?.code === 'string' ? body.error.code : 'no error code' };
}

/** The quote with one MRENCLAVE byte flipped (header 48 bytes, MRENCLAVE at 64 in the report body). */
export function tamperQuote(quote: Buffer): Buffer {
  const q = Buffer.from(quote);
  q[48 + 64] = (q[48 + 64] ?? 0) ^ 0x01;
  return q;
}

/**
 * What an attacker who intercepted the token would do: put their own key into `x-ms-runtime.keys`
 * (so the secret is wrapped to them) and keep the original signature. Returns the edited token.
 */
export async function tamperToken(token: string): Promise<string> {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const { jwk } = await rsaJwk('enclave-key');
  claims['x-ms-runtime'] = { ...(claims['x-ms-runtime'] as object), keys: [jwk] };
  return `${h}.${base64url(Buffer.from(JSON.stringify(claims)))}.${s}`;
}

export interface Release {
  pid: number | undefined;
  /** one line: what `attest token` said */
  verdict: string;
  /** the secret wrapped to the enclave's key, only when the token verified */
  wrapped?: Buffer;
}

/**
 * The relying party: runs `attest token` (our strict verifier) as its own process, pinned to the
 * expected MRENCLAVE and MRSIGNER; only when it exits 0 is the secret wrapped (RSA-OAEP-256) to the
 * key in the verified `x-ms-runtime.keys`, so only the enclave that made the quote can read it.
 */
export async function relyingPartyReleases(
  running: AttestProcesses,
  o: { issuer: string; tokenFile: string; expect: { mrEnclave: string; mrSigner: string }; secret: Buffer; env: NodeJS.ProcessEnv },
): Promise<Release> {
  const verifier = new CliProcess(
    'the relying party',
    ['attest', 'token', o.tokenFile, '--issuer', o.issuer, '--mrenclave', o.expect.mrEnclave, '--mrsigner', o.expect.mrSigner, '--allow-simulated', '--json'],
    o.env,
  );
  (running.verifiers ??= []).push(verifier);
  const { code } = await verifier.exited;
  const pid = verifier.child.pid;
  let out: { verified?: boolean; reason?: string; message?: string; header?: { kid?: string }; claims?: Record<string, unknown> };
  try {
    out = JSON.parse(verifier.stdout) as typeof out;
  } catch {
    return { pid, verdict: `attest token exited ${code} without a JSON answer: ${verifier.tail(2)}` };
  }
  if (code !== 0 || out.verified !== true) return { pid, verdict: `NOT VERIFIED: ${out.reason}: ${out.message}` };
  const keys = (out.claims?.['x-ms-runtime'] as { keys?: JsonWebKey[] } | undefined)?.keys;
  if (!keys?.[0]) return { pid, verdict: 'VERIFIED, but the token binds no key (x-ms-runtime.keys): nothing to wrap the secret to' };
  const wrapped = publicEncrypt({ key: createPublicKey({ key: keys[0], format: 'jwk' }), ...oaep }, o.secret);
  const sim = out.claims?.['x-sqh-simulated'] === true ? ', SIMULATED platform' : '';
  return { pid, verdict: `VERIFIED (kid ${out.header?.kid}${sim}; MRENCLAVE, MRSIGNER as expected)`, wrapped };
}
