import { ByteReader, namedFlags, checkU64 } from './bytes.js';

/** sgx_attributes_t: two little-endian u64. */
export interface Attributes {
  flags: bigint;
  xfrm: bigint;
}

export const ATTRIBUTES_SIZE = 16;
export const AttributesOffsets = { flags: 0, xfrm: 8 } as const;

export const AttributeFlags = {
  INITTED: 0x1n,
  DEBUG: 0x2n,
  MODE64BIT: 0x4n,
  PROVISION_KEY: 0x10n,
  EINITTOKEN_KEY: 0x20n,
  KSS: 0x80n,
  AEX_NOTIFY: 0x400n,
} as const;

export function parseAttributes(buf: Buffer, offset = 0, field = 'attributes', base = 0): Attributes {
  const r = new ByteReader(buf, base);
  r.need(offset, ATTRIBUTES_SIZE, field);
  return {
    flags: r.u64(offset + AttributesOffsets.flags, `${field}.flags`),
    xfrm: r.u64(offset + AttributesOffsets.xfrm, `${field}.xfrm`),
  };
}

export function encodeAttributes(a: Attributes, field = 'attributes'): Buffer {
  const out = Buffer.alloc(ATTRIBUTES_SIZE);
  writeAttributes(out, 0, a, field);
  return out;
}

/** Write into an existing buffer (used by the larger structures). */
export function writeAttributes(out: Buffer, offset: number, a: Attributes, field = 'attributes'): void {
  out.writeBigUInt64LE(checkU64(a.flags, `${field}.flags`, offset), offset + AttributesOffsets.flags);
  out.writeBigUInt64LE(checkU64(a.xfrm, `${field}.xfrm`, offset + 8), offset + AttributesOffsets.xfrm);
}

export function isDebug(a: Attributes): boolean {
  return (a.flags & AttributeFlags.DEBUG) !== 0n;
}

/** Names of the set flag bits, unknown bits as hex, e.g. ['INITTED', 'DEBUG', 'MODE64BIT', '0x100']. */
export function describeAttributeFlags(a: Attributes): string[] {
  return namedFlags(a.flags, AttributeFlags);
}
