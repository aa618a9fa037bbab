import { X509Certificate, createPublicKey } from 'node:crypto';
import { getJson, type GetJsonOptions } from './fetch-json.js';
import { JWS_ALGORITHMS, decodeJws, verifyJwsSignature, type JwsAlgorithm, type JwsHeader } from './jws.js';

/**
 * A strict verifier for tokens of this service (or MAA). Microsoft's client 1.0.0 accepts `alg: none`,
 * keys carried in the token header and expired certificates; this one accepts none of them:
 * only RS256/ES256, the key is found by `kid` in the issuer's `/certs` and nowhere else, the certificate
 * chain must be valid at the verification time, `iss`, `exp` and `nbf` are checked, and SIMULATED or
 * debuggable enclaves are refused unless allowed.
 */
export type TokenRejection =
  | 'MALFORMED'
  | 'ALG_NOT_ALLOWED'
  | 'HEADER_KEY_NOT_ALLOWED'
  | 'JKU_MISMATCH'
  | 'KID_MISSING'
  | 'KID_UNKNOWN'
  | 'CERTIFICATE_INVALID'
  | 'BAD_SIGNATURE'
  | 'ISSUER_MISMATCH'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'MRENCLAVE_MISMATCH'
  | 'MRSIGNER_MISMATCH'
  | 'SIMULATED'
  | 'DEBUGGABLE'
  | 'CERTS_UNAVAILABLE';

export interface JwkSet {
  keys: Array<{ kty?: unknown; kid?: unknown; x5c?: unknown }>;
}

export interface TokenVerifyOptions {
  /** the issuer the token must come from: exactly its `iss`; keys come from `<issuer>/certs` */
  issuer: string;
  /** the issuer's `/certs` body, when already fetched (else it is fetched) */
  jwks?: JwkSet;
  fetch?: GetJsonOptions;
  algorithms?: JwsAlgorithm[];
  now?: Date;
  /** tolerance for `exp`/`nbf` and certificate validity (default 60 s) */
  clockSkewSeconds?: number;
  expectedMrEnclave?: string | string[];
  expectedMrSigner?: string | string[];
  /** accept tokens for SIMULATED platforms (`x-sqh-simulated: true`); default false */
  allowSimulated?: boolean;
  /** accept debuggable enclaves; default false */
  allowDebug?: boolean;
  /** PEM/DER certificates one of which must be in the signer's x5c chain (pin the issuer's signing CA) */
  trustedSigners?: (string | Buffer)[];
}

export type TokenVerification =
  | { ok: true; header: JwsHeader; claims: Record<string, unknown>; kid: string; simulated: boolean }
  | { ok: false; reason: TokenRejection; message: string; header?: JwsHeader; claims?: Record<string, unknown> };

const HEADER_KEYS = ['jwk', 'x5c', 'x5u', 'x5t', 'x5t#S256'];
const norm = (v: string | string[]) => (Array.isArray(v) ? v : [v]).map((s) => s.toLowerCase());

export async function fetchJwks(issuer: string, o?: GetJsonOptions): Promise<JwkSet> {
  const body = await getJson(`${issuer.replace(/\/+$/, '')}/certs`, o);
  if (typeof body !== 'object' || body === null || !Array.isArray((body as JwkSet).keys)) throw new Error(`${issuer}/certs is not a JWK set`);
  return body as JwkSet;
}

function checkChain(x5c: unknown, now: Date, skewMs: number, pins: Set<string> | undefined): X509Certificate | string {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 10 || x5c.some((c) => typeof c !== 'string')) return 'the key has no x5c certificate chain';
  let chain: X509Certificate[];
  try {
    chain = (x5c as string[]).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    return 'a certificate in the x5c chain does not parse';
  }
  for (const [i, c] of chain.entries()) {
    if (Date.parse(c.validFrom) - skewMs > now.getTime() || Date.parse(c.validTo) + skewMs < now.getTime()) {
      return `certificate ${i} of the chain (${c.subject.replace(/\n/g, ', ')}) is not valid at ${now.toISOString()} (valid ${c.validFrom} – ${c.validTo})`;
    }
    const issuer = chain[i + 1] ?? c;
    if (chain[i + 1] && !c.checkIssued(issuer)) return `certificate ${i} of the chain was not issued by certificate ${i + 1}`;
    if ((chain[i + 1] || c.checkIssued(c)) && !c.verify(issuer.publicKey)) return `certificate ${i} of the chain has a bad signature`;
  }
  if (pins && !chain.some((c) => pins.has(c.fingerprint256))) return 'no certificate of the signer chain is one of the trusted signers';
  return chain[0];
}

export async function verifyAttestationToken(token: string, o: TokenVerifyOptions): Promise<TokenVerification> {
  const issuer = o.issuer.replace(/\/+$/, '');
  const now = o.now ?? new Date();
  const skew = o.clockSkewSeconds ?? 60;
  const fail = (reason: TokenRejection, message: string, header?: JwsHeader, claims?: Record<string, unknown>): TokenVerification =>
    ({ ok: false, reason, message, ...(header ? { header } : {}), ...(claims ? { claims } : {}) });
  let d;
  try {
    d = decodeJws(token.trim());
  } catch (e) {
    return fail('MALFORMED', (e as Error).message);
  }
  const { header, payload } = d;
  const allowed = o.algorithms ?? [...JWS_ALGORITHMS];
  if (!allowed.includes(header.alg as JwsAlgorithm) || !JWS_ALGORITHMS.includes(header.alg as JwsAlgorithm)) {
    return fail('ALG_NOT_ALLOWED', `alg ${JSON.stringify(header.alg)} is not allowed (allowed: ${allowed.join(', ')})`, header);
  }
  const alg = header.alg as JwsAlgorithm;
  const carried = HEADER_KEYS.filter((k) => k in header);
  if (carried.length) return fail('HEADER_KEY_NOT_ALLOWED', `the token header carries its own key material (${carried.join(', ')}); keys are taken only from ${issuer}/certs`, header);
  if (header.jku !== undefined && header.jku !== `${issuer}/certs`) return fail('JKU_MISMATCH', `jku ${JSON.stringify(header.jku)} is not ${issuer}/certs`, header);
  if (typeof header.kid !== 'string' || header.kid === '') return fail('KID_MISSING', 'the token header has no kid', header);

  let jwks: JwkSet;
  try {
    jwks = o.jwks ?? (await fetchJwks(issuer, o.fetch));
  } catch (e) {
    return fail('CERTS_UNAVAILABLE', `cannot get the issuer's keys: ${(e as Error).message}`, header);
  }
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return fail('KID_UNKNOWN', `kid ${header.kid} is not in ${issuer}/certs`, header);
  const pins = o.trustedSigners ? new Set(o.trustedSigners.map((p) => new X509Certificate(p).fingerprint256)) : undefined;
  const leaf = checkChain(jwk.x5c, now, skew * 1000, pins);
  if (typeof leaf === 'string') return fail('CERTIFICATE_INVALID', leaf, header);
  if (!verifyJwsSignature(alg, d.signingInput, d.signature, createPublicKey(leaf.publicKey.export({ type: 'spki', format: 'pem' })))) {
    return fail('BAD_SIGNATURE', `the signature does not verify with key ${header.kid}`, header);
  }
  // Signed by the issuer's key: from here on the claims are the issuer's word.
  if (payload.iss !== issuer) return fail('ISSUER_MISMATCH', `iss ${JSON.stringify(payload.iss)} is not ${JSON.stringify(issuer)}`, header, payload);
  const t = now.getTime() / 1000;
  if (typeof payload.exp !== 'number') return fail('MALFORMED', 'the token has no numeric exp', header, payload);
  if (payload.exp + skew <= t) return fail('EXPIRED', `the token expired at ${new Date(payload.exp * 1000).toISOString()}`, header, payload);
  if (typeof payload.nbf === 'number' && payload.nbf - skew > t) return fail('NOT_YET_VALID', `the token is not valid before ${new Date(payload.nbf * 1000).toISOString()}`, header, payload);
  const simulated = payload['x-sqh-simulated'] === true;
  if (simulated && !o.allowSimulated) return fail('SIMULATED', 'the token is for a SIMULATED platform (x-sqh-simulated: true); pass allowSimulated / --allow-simulated for development', header, payload);
  const sgx = payload['x-ms-attestation-type'] === 'sgx';
  const debug = sgx ? payload['x-ms-sgx-is-debuggable'] !== false : payload.tdx_td_attributes_debug === true;
  if (debug && !o.allowDebug) return fail('DEBUGGABLE', 'the enclave is debuggable (its memory is readable by the host); pass allowDebug / --allow-debug to accept it', header, payload);
  if (o.expectedMrEnclave !== undefined && !norm(o.expectedMrEnclave).includes(String(payload['x-ms-sgx-mrenclave']))) {
    return fail('MRENCLAVE_MISMATCH', `x-ms-sgx-mrenclave ${String(payload['x-ms-sgx-mrenclave'])} is not an expected MRENCLAVE`, header, payload);
  }
  if (o.expectedMrSigner !== undefined && !norm(o.expectedMrSigner).includes(String(payload['x-ms-sgx-mrsigner']))) {
    return fail('MRSIGNER_MISMATCH', `x-ms-sgx-mrsigner ${String(payload['x-ms-sgx-mrsigner'])} is not an expected MRSIGNER`, header, payload);
  }
  return { ok: true, header, claims: payload, kid: header.kid, simulated };
}
