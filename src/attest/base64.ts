/**
 * MAA's binary fields: api-version 2020-10-01 and 2022-08-01 declare base64url, 2025-06-01 standard
 * base64, and real clients send unpadded base64url (`@azure/attestation`, Gramine, EGo). Inputs are
 * therefore accepted in either alphabet, padded or not; what we emit is always unpadded base64url.
 */
const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decode base64 or base64url, with or without padding; undefined when the text is neither. */
export function decodeBinary(text: string): Buffer | undefined {
  if (!BASE64_ANY.test(text)) return undefined;
  // Mixing the two alphabets in one value is not something any client does; refuse it rather than guess.
  if (/[+/]/.test(text) && /[-_]/.test(text)) return undefined;
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined; // no base64 text has this length
  const padded = text.length % 4 === 0 || !text.endsWith('=');
  if (!padded) return undefined;
  const out = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Reject non-canonical trailing bits so one value has exactly one encoding.
  if (base64url(out) !== body.replace(/\+/g, '-').replace(/\//g, '_')) return undefined;
  return out;
}

/** Unpadded base64url (RFC 7515 §2). */
export function base64url(data: Buffer | Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}
