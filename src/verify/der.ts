/**
 * A small DER reader for the certificates and CRLs the verifier checks: one pass over the bytes, no
 * objects per element beyond {tag, offsets}. Why not asn1js: on a cold verification (a new platform, a
 * stateless service) asn1js parsing was half of the time, for structures whose every field we read anyway.
 *
 * What it accepts: definite lengths (1 + up to 4 length bytes), low tag numbers (< 31), constructed
 * children that tile their parent exactly. Anything else is a DerError, which the callers turn into a
 * *_FORMAT verification failure (fail closed). Signatures are checked over the exact raw bytes, so the
 * reader never needs to re-encode anything.
 */

/** A DER structure did not have the expected shape. Internal: callers map it to a verification reason. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** One element: its identifier octet and where it, its contents and its end (exclusive) lie in `buf`. */
export interface DerElement {
  buf: Buffer;
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Universal tags (identifier octets) the verifier reads. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

const CONSTRUCTED = 0x20;

/** The element at `off`, which must end at or before `limit`. */
function readElement(buf: Buffer, off: number, limit: number, what: string): DerElement {
  if (off + 2 > limit) throw new DerError(`${what}: truncated element header at offset ${off}`);
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: multi-byte tag at offset ${off} is not supported`);
  let len = buf[off + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`${what}: indefinite length at offset ${off} is not DER`);
    if (n > 4) throw new DerError(`${what}: length of ${n} bytes at offset ${off} is too long`);
    if (off + 2 + n > limit) throw new DerError(`${what}: truncated length at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    head += n;
  }
  const end = off + head + len;
  if (end > limit) throw new DerError(`${what}: element at offset ${off} runs ${end - limit} bytes past its container`);
  return { buf, tag, start: off, contentStart: off + head, end };
}

/** Parse exactly one DER element spanning the whole buffer. */
export function parseDer(buf: Uint8Array, what: string): DerElement {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length === 0) throw new DerError(`${what}: empty`);
  const el = readElement(b, 0, b.length, what);
  if (el.end !== b.length) throw new DerError(`${what}: ${b.length - el.end} trailing bytes`);
  return el;
}

/** The children of a constructed element (they must tile its contents exactly). */
export function children(el: DerElement | undefined, what: string): DerElement[] {
  if (!el || !(el.tag & CONSTRUCTED)) throw new DerError(`${what}: expected a constructed element`);
  const out: DerElement[] = [];
  for (let off = el.contentStart; off < el.end; ) {
    const c = readElement(el.buf, off, el.end, what);
    out.push(c);
    off = c.end;
  }
  return out;
}

/** The contents (value octets) of an element, without copying. */
export function contentOf(el: DerElement): Buffer {
  return el.buf.subarray(el.contentStart, el.end);
}

export function isTag(el: DerElement | undefined, tag: number): boolean {
  return !!el && el.tag === tag;
}

/** A context-specific tag [n], primitive or constructed. */
export function isContext(el: DerElement | undefined, n: number): boolean {
  return !!el && (el.tag & 0xc0) === 0x80 && (el.tag & 0x1f) === n;
}

/** The exact encoded bytes of an element (tag, length and value), e.g. the signed TBS part. */
export function rawOf(el: DerElement): Buffer {
  return el.buf.subarray(el.start, el.end);
}

/** Dotted OBJECT IDENTIFIER (base-128 arcs; the first octet holds the first two arcs). */
export function oidOf(el: DerElement | undefined, what: string): string {
  if (!isTag(el, Tag.oid)) throw new DerError(`${what}: expected an OBJECT IDENTIFIER`);
  const e = el as DerElement;
  if (e.end === e.contentStart) throw new DerError(`${what}: empty OBJECT IDENTIFIER`);
  const arcs: number[] = [];
  let v = 0;
  let digits = 0;
  for (let i = e.contentStart; i < e.end; i++) {
    const b = e.buf[i];
    if (digits === 0 && b === 0x80) throw new DerError(`${what}: OBJECT IDENTIFIER arc with a leading 0x80`);
    v = v * 128 + (b & 0x7f);
    digits++;
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`${what}: OBJECT IDENTIFIER arc too large`);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
      digits = 0;
    }
  }
  if (digits !== 0) throw new DerError(`${what}: truncated OBJECT IDENTIFIER`);
  return arcs.join('.');
}

export function integerBytes(el: DerElement | undefined, what: string): Buffer {
  if (!isTag(el, Tag.integer)) throw new DerError(`${what}: expected an INTEGER`);
  const c = contentOf(el as DerElement);
  if (c.length === 0) throw new DerError(`${what}: empty INTEGER`);
  return c;
}

/** A non-negative INTEGER (or ENUMERATED with `tag`) of at most 6 bytes, as a number. */
export function smallUint(el: DerElement | undefined, what: string, tag: number = Tag.integer): number {
  if (!isTag(el, tag)) throw new DerError(`${what}: expected ${tag === Tag.integer ? 'an INTEGER' : 'an ENUMERATED'}`);
  const c = contentOf(el as DerElement);
  if (c.length === 0) throw new DerError(`${what}: empty integer`);
  if (c[0] & 0x80) throw new DerError(`${what}: negative integer`);
  if (c.length > 6) throw new DerError(`${what}: integer too large`);
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return v;
}

/** BOOLEAN: any non-zero contents octet is TRUE (BER; DER writes 0xff). */
export function booleanOf(el: DerElement | undefined, what: string): boolean {
  if (!isTag(el, Tag.boolean)) throw new DerError(`${what}: expected a BOOLEAN`);
  const c = contentOf(el as DerElement);
  if (c.length !== 1) throw new DerError(`${what}: BOOLEAN must be one octet`);
  return c[0] !== 0;
}

/** Serial numbers are compared as unsigned magnitudes: strip DER's sign-padding zero bytes. */
export function serialHex(bytes: Buffer): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString('hex');
}

export function isTime(el: DerElement | undefined): boolean {
  return isTag(el, Tag.utcTime) || isTag(el, Tag.generalizedTime);
}

const UTC_TIME = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,3})\d*)?Z$/;

/**
 * UTCTime `YYMMDDHHMMSSZ` (years 50-99 are 19xx, RFC 5280 §4.1.2.5.1) or GeneralizedTime
 * `YYYYMMDDHHMMSS[.fff]Z`. Out-of-range fields (month 13, 31 February) are invalid, not rolled over.
 */
export function timeOf(el: DerElement | undefined, what: string): Date {
  if (!isTime(el)) throw new DerError(`${what}: expected UTCTime or GeneralizedTime`);
  const e = el as DerElement;
  const text = contentOf(e).toString('latin1');
  const m = (e.tag === Tag.utcTime ? UTC_TIME : GENERALIZED_TIME).exec(text);
  if (!m) throw new DerError(`${what}: invalid time "${text}"`);
  let year = Number(m[1]);
  if (e.tag === Tag.utcTime) year += year < 50 ? 2000 : 1900;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(t);
  if (Number.isNaN(t) || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError(`${what}: invalid time "${text}"`);
  }
  if (year < 100) d.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  return d;
}

/** The bits of a BIT STRING (the unused-bits octet dropped). */
export function bitStringBytes(el: DerElement | undefined, what: string): Buffer {
  if (!isTag(el, Tag.bitString)) throw new DerError(`${what}: expected a BIT STRING`);
  const c = contentOf(el as DerElement);
  if (c.length === 0 || c[0] > 7 || (c.length === 1 && c[0] !== 0)) throw new DerError(`${what}: invalid BIT STRING`);
  return c.subarray(1);
}

export function octets(el: DerElement | undefined, what: string): Buffer {
  if (!isTag(el, Tag.octetString)) throw new DerError(`${what}: expected an OCTET STRING`);
  return contentOf(el as DerElement);
}

const CN_OID = '2.5.4.3';

/** The text of a directory string (UTF8, Printable, IA5, Teletex, Visible, Numeric, BMP); undefined for other types. */
function directoryString(el: DerElement): string | undefined {
  const c = contentOf(el);
  switch (el.tag) {
    case Tag.utf8String:
      return c.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return c.toString('latin1');
    case 0x1e: // BMPString (UCS-2 big-endian)
      if (c.length % 2) return undefined;
      return Buffer.from(c).swap16().toString('utf16le');
    default:
      return undefined;
  }
}

/** The commonName of an X.501 Name ('' when absent or not a string). */
export function commonName(name: DerElement): string {
  for (const rdn of children(name, 'Name')) {
    for (const atv of children(rdn, 'RDN')) {
      const [type, value] = children(atv, 'AttributeTypeAndValue');
      if (oidOf(type, 'attribute type') === CN_OID) return (value && directoryString(value)) ?? '';
    }
  }
  return '';
}

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
