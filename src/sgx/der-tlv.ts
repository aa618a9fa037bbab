/** One DER element's header: its tag and where it, its contents and the element end (exclusive) lie. */
export interface DerTlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/**
 * The DER TLV at `off`, or undefined if its header or contents do not fit before `limit`. Only the
 * definite length forms of up to 4 length bytes (certificates are far smaller). Kept tiny and
 * allocation-free: it runs on every quote's certification data.
 */
export function readDerTlv(b: Buffer, off: number, limit: number): DerTlv | undefined {
  if (off + 2 > limit) return undefined;
  const tag = b[off];
  let len = b[off + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || off + 2 + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + 2 + i];
    head += n;
  }
  const end = off + head + len;
  return end > limit ? undefined : { tag, start: off, contentStart: off + head, end };
}
