import { sign, verify, type KeyObject } from 'node:crypto';
import { base64url } from './base64.js';

/** The algorithms we sign with and accept. `none`, HMAC and everything else are never produced or accepted. */
export type JwsAlgorithm = 'RS256' | 'ES256';
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = ['RS256', 'ES256'];

export interface JwsHeader {
  alg: string;
  typ?: string;
  kid?: string;
  jku?: string;
  [k: string]: unknown;
}

/** ES256 signatures are r‖s (RFC 7518 §3.4), not DER. */
function signatureOptions(alg: JwsAlgorithm, key: KeyObject) {
  return alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : { key };
}

/** A compact JWS over a JSON payload. */
export function signJws(header: JwsHeader & { alg: JwsAlgorithm }, payload: object, key: KeyObject): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const sig = sign('sha256', Buffer.from(input), signatureOptions(header.alg, key));
  return `${input}.${base64url(sig)}`;
}

/**
 * The same, signing on libuv's thread pool: an RSA-2048 signature costs about a millisecond, which would
 * otherwise stall every other connection of the service.
 */
export function signJwsAsync(header: JwsHeader & { alg: JwsAlgorithm }, payload: object, key: KeyObject): Promise<string> {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(input), signatureOptions(header.alg, key), (err, sig) => (err ? reject(err) : resolve(`${input}.${base64url(sig)}`)));
  });
}

export function verifyJwsSignature(alg: JwsAlgorithm, signingInput: string, signature: Buffer, key: KeyObject): boolean {
  if (alg === 'RS256' && key.asymmetricKeyType !== 'rsa') return false;
  if (alg === 'ES256' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) return false;
  try {
    return verify('sha256', Buffer.from(signingInput), signatureOptions(alg, key), signature);
  } catch {
    return false;
  }
}

export interface DecodedJws {
  header: JwsHeader;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;
/** Tokens beyond this are refused before any parsing (ours are a few kB). */
export const MAX_TOKEN_LENGTH = 64 * 1024;

/** Split and parse a compact JWS; throws Error with a one-line reason for anything malformed. */
export function decodeJws(token: string): DecodedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw new Error(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw new Error('not a compact JWS (three base64url parts separated by dots)');
  const json = (part: string, what: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    } catch {
      throw new Error(`the token ${what} is not base64url JSON`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`the token ${what} is not a JSON object`);
    return v as Record<string, unknown>;
  };
  const header = json(parts[0], 'header');
  if (typeof header.alg !== 'string') throw new Error('the token header has no "alg"');
  return {
    header: header as JwsHeader,
    payload: json(parts[1], 'payload'),
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2], 'base64url'),
  };
}
