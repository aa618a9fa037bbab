import { createHash } from 'node:crypto';
import { DEFAULT_ACCEPTED_STATUSES, TCB_LEVEL_STATUSES, type Policy } from '../verify/index.js';
import { base64url } from './base64.js';

/**
 * The attestation policy: the verifier's policy layer (src/verify/policy.ts) read from a JSON file. MAA's
 * claim-rule language is not implemented. The default copies what MAA's default SGX policy does: every
 * quote that verifies (TCB status accepted, collateral not expired) gets a token, DEBUG enclaves included —
 * the token's `x-ms-sgx-is-debuggable` tells the relying party, which must check it.
 */
export interface AttestPolicy {
  /** the policy's text as given (the file's bytes); `x-ms-policy-hash` is computed over it */
  text: string;
  policy: Policy;
  source: 'default' | string;
}

export const DEFAULT_POLICY_TEXT = `${JSON.stringify(
  { version: 1, allowDebug: true, acceptedStatuses: DEFAULT_ACCEPTED_STATUSES, allowExpiredCollateral: false },
  null,
  2,
)}\n`;

export const MAX_POLICY_BYTES = 64 * 1024;

export class PolicyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFileError';
  }
}

/** MAA's rule (verified against a real MAA token): base64url(SHA-256(ASCII of base64url(UTF-8 policy text))). */
export function policyHash(text: string): string {
  return createHash('sha256').update(base64url(Buffer.from(text, 'utf8')), 'ascii').digest('base64url');
}

const KNOWN = new Set([
  'version', 'acceptedStatuses', 'acceptedAdvisoryIds', 'mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn', 'mrTd',
  'allowDebug', 'allowExpiredCollateral', 'maxCollateralAgeSeconds',
]);
const STATUSES = new Set<string>([...TCB_LEVEL_STATUSES]);

function hexList(v: unknown, bytes: number, field: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.length > 256) throw new PolicyFileError(`${field}: give 1 to 256 values`);
  return list.map((h) => {
    if (typeof h !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(h)) throw new PolicyFileError(`${field}: ${JSON.stringify(h)} is not ${bytes * 2} hex digits`);
    return h.toLowerCase();
  });
}

function uint(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new PolicyFileError(`${field} must be an integer 0..${max}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new PolicyFileError(`${field} must be true or false`);
  return v;
}

/** Parse a policy file's text; every field is checked, unknown fields are refused (a typo must not loosen policy). */
export function parsePolicy(text: string, source = 'policy file'): AttestPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new PolicyFileError(`${source} is larger than ${MAX_POLICY_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PolicyFileError(`${source} is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PolicyFileError(`${source} must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new PolicyFileError(`${source}: unknown field ${JSON.stringify(k)} (known: ${[...KNOWN].join(', ')})`);
  if (o.version !== undefined && o.version !== 1) throw new PolicyFileError(`${source}: version must be 1`);
  const p: Policy = {};
  if (o.acceptedStatuses !== undefined) {
    if (!Array.isArray(o.acceptedStatuses) || o.acceptedStatuses.some((s) => typeof s !== 'string' || !STATUSES.has(s))) {
      throw new PolicyFileError(`acceptedStatuses must be a list of ${[...STATUSES].join(', ')}`);
    }
    p.acceptedStatuses = o.acceptedStatuses as Policy['acceptedStatuses'];
  }
  if (o.acceptedAdvisoryIds !== undefined) {
    if (!Array.isArray(o.acceptedAdvisoryIds) || o.acceptedAdvisoryIds.some((s) => typeof s !== 'string')) throw new PolicyFileError('acceptedAdvisoryIds must be a list of strings');
    p.acceptedAdvisoryIds = o.acceptedAdvisoryIds as string[];
  }
  if (o.mrEnclave !== undefined) p.mrEnclave = hexList(o.mrEnclave, 32, 'mrEnclave');
  if (o.mrSigner !== undefined) p.mrSigner = hexList(o.mrSigner, 32, 'mrSigner');
  if (o.mrTd !== undefined) p.mrTd = hexList(o.mrTd, 48, 'mrTd');
  if (o.isvProdId !== undefined) p.isvProdId = uint(o.isvProdId, 'isvProdId', 0xffff);
  if (o.minIsvSvn !== undefined) p.minIsvSvn = uint(o.minIsvSvn, 'minIsvSvn', 0xffff);
  // Unlike the verifier CLI, the service follows MAA: debug enclaves are allowed unless the policy says no.
  p.allowDebug = o.allowDebug === undefined ? true : bool(o.allowDebug, 'allowDebug');
  if (o.allowExpiredCollateral !== undefined) p.allowExpiredCollateral = bool(o.allowExpiredCollateral, 'allowExpiredCollateral');
  if (o.maxCollateralAgeSeconds !== undefined) p.maxCollateralAgeSeconds = uint(o.maxCollateralAgeSeconds, 'maxCollateralAgeSeconds', 10 * 365 * 86400);
  return { text, policy: p, source };
}

export function defaultPolicy(): AttestPolicy {
  return { ...parsePolicy(DEFAULT_POLICY_TEXT, 'default policy'), source: 'default' };
}
