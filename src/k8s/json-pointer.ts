/** Escape one JSON-Pointer reference token (RFC 6901): '~' first, then '/'. */
export function escapePointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Build a JSON Pointer from raw tokens, e.g. pointer('metadata', 'annotations', 'sgx.intel.com/epc'). */
export function pointer(...tokens: (string | number)[]): string {
  return tokens.map((t) => `/${escapePointerToken(t)}`).join('');
}
