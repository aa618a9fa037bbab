/**
 * Issuer-chain headers: PCS sends concatenated PEM certificates (signing or intermediate CA first,
 * root last) percent-encoded into one header value.
 */

/** Decode a header value into PEM text. Tolerates an already-decoded PEM (some proxies unescape). */
export function decodeIssuerChainHeader(value: string): string {
  if (value.includes('-----BEGIN CERTIFICATE-----')) return value;
  return decodeURIComponent(value);
}

/**
 * Encode PEM text as Intel does: encodeURIComponent output matches Intel's headers byte for byte
 * (space → %20, newline → %0A, + / = escaped), checked against captured PCS headers in the tests.
 */
export function encodeIssuerChainHeader(pem: string): string {
  return encodeURIComponent(pem);
}
