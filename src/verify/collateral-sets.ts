import type { Collateral } from '../pcs/types.js';
import { setBounded } from './bounded-map.js';

/** The collateral fields the verifier reads: text fields compared as strings, byte fields byte for byte. */
const TEXT_FIELDS = ['teeType', 'pckCrlIssuerChain', 'tcbInfoIssuerChain', 'tcbInfoBody', 'qeIdentityIssuerChain', 'qeIdentityBody', 'pckCertificateChain'] as const;
const BYTE_FIELDS = ['rootCaCrl', 'pckCrl', 'tcbInfoSignature', 'qeIdentitySignature'] as const;

/** One collateral set as this verifier saw it: a private copy, and a key no other content ever gets. */
export interface CollateralSet {
  /** Unique per content for the verifier's lifetime (a counter; never reused after eviction). */
  key: string;
  /** The verifier's own copy: checks run on it, so a caller changing its object later changes nothing here. */
  collateral: Collateral;
}

/** True when every field is of the declared type, so the copy and the comparison below are exact. */
function wellTyped(c: Collateral): boolean {
  const rec = c as unknown as Record<string, unknown>;
  for (const f of TEXT_FIELDS) if (typeof rec[f] !== 'string' && !(f === 'pckCertificateChain' && rec[f] === undefined)) return false;
  for (const f of BYTE_FIELDS) if (!(rec[f] instanceof Uint8Array)) return false;
  return true;
}

const hex = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('hex');

function sameContent(copy: Collateral, c: Collateral): boolean {
  for (const f of TEXT_FIELDS) if (copy[f] !== c[f]) return false;
  for (const f of BYTE_FIELDS) if (!copy[f].equals(c[f])) return false;
  return true;
}

function copyOf(c: Collateral): Collateral {
  const out: Collateral = {
    teeType: c.teeType,
    pckCrlIssuerChain: c.pckCrlIssuerChain,
    rootCaCrl: Buffer.from(c.rootCaCrl),
    pckCrl: Buffer.from(c.pckCrl),
    tcbInfoIssuerChain: c.tcbInfoIssuerChain,
    tcbInfoBody: c.tcbInfoBody,
    tcbInfoSignature: Buffer.from(c.tcbInfoSignature),
    qeIdentityIssuerChain: c.qeIdentityIssuerChain,
    qeIdentityBody: c.qeIdentityBody,
    qeIdentitySignature: Buffer.from(c.qeIdentitySignature),
  };
  if (c.pckCertificateChain !== undefined) out.pckCertificateChain = c.pckCertificateChain;
  return out;
}

/**
 * The collateral sets a verifier has seen, found by content. Why not a hash of every field per call: the
 * whole set (CRLs, chains, a TDX TCB info of ~10 KB) would be hashed on every warm verification. Instead a
 * set is looked up by its two signatures and then compared field by field with the private copy (string
 * equality is a pointer check when the caller passes the same strings again; buffers are memcmp'd), so
 * any difference, in place or in a new object, makes a new set with a new key that is checked from scratch.
 * Bounded: the oldest set goes first.
 */
export class CollateralSets {
  private readonly sets = new Map<string, CollateralSet>();
  private next = 0;

  constructor(private readonly max = 1024) {}

  /** The set with exactly this content (a new key when it differs in any byte), or undefined for an ill-typed set. */
  lookup(c: Collateral): CollateralSet | undefined {
    if (!wellTyped(c)) return undefined;
    const probe = `${c.teeType}:${hex(c.tcbInfoSignature)}:${hex(c.qeIdentitySignature)}`;
    const hit = this.sets.get(probe);
    if (hit && sameContent(hit.collateral, c)) return hit;
    // New content under the same signatures (or none yet): replace, with a key never used before.
    return setBounded(this.sets, probe, { key: `#${this.next++}`, collateral: copyOf(c) }, this.max);
  }
}
