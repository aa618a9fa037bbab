import { SgxParseError } from './errors.js';

/**
 * Bounds-checked little-endian reads. Every read goes through here so that a short or lying buffer
 * becomes an SgxParseError naming the field, never a RangeError from Buffer.
 * `base` is added to reported offsets so nested structures report offsets in the outermost buffer.
 */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    readonly base = 0,
  ) {}

  get length(): number {
    return this.buf.length;
  }

  need(offset: number, size: number, field: string): void {
    if (offset < 0 || size < 0 || offset + size > this.buf.length) {
      const have = Math.max(0, this.buf.length - offset);
      throw new SgxParseError('TRUNCATED', field, this.base + offset, `needs ${size} bytes, only ${have} available`);
    }
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return this.buf.readUInt16LE(offset);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.buf.readUInt32LE(offset);
  }

  u64(offset: number, field: string): bigint {
    this.need(offset, 8, field);
    return this.buf.readBigUInt64LE(offset);
  }

  /** A copy, so parsed structures never alias (and keep alive) the caller's buffer. */
  bytes(offset: number, size: number, field: string): Buffer {
    this.need(offset, size, field);
    // allocUnsafe + copy: no intermediate view (Buffer#subarray's species lookup costs more than the copy).
    const out = Buffer.allocUnsafe(size);
    this.buf.copy(out, 0, offset, offset + size);
    return out;
  }
}

/** Accept Buffer or any Uint8Array from callers; parsers work on Buffer. */
export function asBuffer(input: Uint8Array, field: string): Buffer {
  if (!(input instanceof Uint8Array)) {
    throw new SgxParseError('INVALID_VALUE', field, 0, 'expected a Buffer or Uint8Array');
  }
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Fixed-size structures: reject anything but the exact size. */
export function expectExactSize(buf: Buffer, size: number, field: string, base = 0): void {
  if (buf.length < size) {
    throw new SgxParseError('TRUNCATED', field, base + buf.length, `is ${buf.length} bytes, expected ${size}`);
  }
  if (buf.length > size) {
    throw new SgxParseError('OVERSIZE', field, base + size, `is ${buf.length} bytes, expected ${size}`);
  }
}

/** Encoder-side check that a caller-supplied field has the right size. */
export function checkFieldSize(value: Uint8Array | undefined, size: number, field: string, offset: number): Buffer {
  if (!(value instanceof Uint8Array) || value.length !== size) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : 'missing';
    throw new SgxParseError('INVALID_VALUE', field, offset, `must be ${size} bytes, got ${got}`);
  }
  return Buffer.from(value);
}

export function checkUint(value: number, bits: 16 | 32, field: string, offset: number): number {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SgxParseError('INVALID_VALUE', field, offset, `must be an integer in 0..${max}, got ${value}`);
  }
  return value;
}

export function checkU64(value: bigint, field: string, offset: number): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
    throw new SgxParseError('INVALID_VALUE', field, offset, `must be a u64 bigint, got ${String(value)}`);
  }
  return value;
}

/**
 * Names of the bits set in a flags word, in `flags` order, then each unnamed set bit as hex (lowest
 * first), e.g. ['INITTED', 'DEBUG', '0x100']: so a displayed value never hides a bit we have no name for.
 */
export function namedFlags(value: bigint, flags: Readonly<Record<string, bigint>>): string[] {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(flags)) {
    if ((value & bit) !== 0n) {
      names.push(name);
      rest &= ~bit;
    }
  }
  for (let bit = 1n; rest !== 0n; bit <<= 1n) {
    if ((rest & bit) !== 0n) {
      names.push(`0x${bit.toString(16)}`);
      rest &= ~bit;
    }
  }
  return names;
}
