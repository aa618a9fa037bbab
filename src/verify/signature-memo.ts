import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { setBounded } from './bounded-map.js';

/**
 * ECDSA-P256 (r ‖ s) signatures that verified, remembered by their exact bytes: the signer's key (its
 * SubjectPublicKeyInfo DER), the signed data and the signature. Why: a QE signs its report once per
 * attestation key, so every quote of a platform carries the same QE report and signature under the same
 * PCK key; verifying it again gives the same answer (ECDSA verification is a pure function of those three
 * byte strings). A hit needs all three byte for byte equal to a triple that verified before (memcmp, no
 * hash that could collide); anything else, including every failure, is verified again and nothing is
 * remembered for a failure. Bounded: the oldest entry goes first.
 */
export class SignatureMemo {
  private readonly verified = new Map<string, { spki: Buffer; data: Buffer }>();

  /** `max` entries; 0 turns the memo off (every call verifies). */
  constructor(private readonly max: number) {}

  /** True when `sig` is a valid P-256 signature over `data` by `key`, whose SPKI DER is `spki`. */
  verify(spki: Buffer, key: KeyObject, data: Buffer, sig: Buffer): boolean {
    if (this.max <= 0) return verifyP1363(data, key, sig);
    const id = sig.toString('hex');
    const hit = this.verified.get(id);
    if (hit && hit.spki.equals(spki) && hit.data.equals(data)) return true;
    if (!verifyP1363(data, key, sig)) return false;
    // Private copies: the caller's buffers may change after this call.
    setBounded(this.verified, id, { spki: Buffer.from(spki), data: Buffer.from(data) }, this.max);
    return true;
  }

  get size(): number {
    return this.verified.size;
  }
}

/** node:crypto's ECDSA verify of an IEEE P1363 (r ‖ s) signature; false for anything malformed. */
export function verifyP1363(data: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}
