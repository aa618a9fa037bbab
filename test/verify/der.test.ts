import { describe, expect, it } from 'vitest';
import {
  DerError,
  Tag,
  bitStringBytes,
  booleanOf,
  children,
  commonName,
  contentOf,
  integerBytes,
  isContext,
  isTag,
  isTime,
  octets,
  oidOf,
  parseDer,
  rawOf,
  serialHex,
  smallUint,
  timeOf,
  type DerElement,
} from '../../src/verify/der.js';

/**
 * The DER reader of src/verify/der.ts on hand-built bytes (X.690 §8.1: identifier, length, contents; §10.1:
 * definite lengths only). It parses untrusted certificates and CRLs, so every bound and tag check is broken
 * one at a time here, asserting the DerError and its message (which names the part and the offset).
 */

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** One TLV with the shortest definite length (short form below 128, else long form). */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content]);
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v % 256);
  return Buffer.concat([Buffer.from([tag, 0x80 | len.length, ...len]), content]);
}

/** The DerError `fn` throws (fails the test if it throws nothing or another class). */
function derError(fn: () => unknown): DerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DerError);
    return e as DerError;
  }
  throw new Error('expected a DerError, nothing was thrown');
}

const el = (bytes: Buffer): DerElement => parseDer(bytes, 'x');

describe('DerError', () => {
  it('is an Error named DerError', () => {
    const e = derError(() => parseDer(Buffer.alloc(0), 'cert'));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DerError');
    expect(e.message).toBe('cert: empty');
  });
});

describe('parseDer: the element header', () => {
  it('reads a short-form element: tag, offsets, contents and raw bytes', () => {
    const e = el(hex('04 03 aa bb cc'));
    expect(e.tag).toBe(0x04);
    expect([e.start, e.contentStart, e.end]).toEqual([0, 2, 5]);
    expect(contentOf(e)).toEqual(hex('aa bb cc'));
    expect(rawOf(e)).toEqual(hex('04 03 aa bb cc'));
  });

  it('accepts a zero-length element of exactly two bytes', () => {
    const e = el(hex('05 00'));
    expect([e.tag, e.contentStart, e.end]).toEqual([0x05, 2, 2]);
    expect(contentOf(e).length).toBe(0);
  });

  it('refuses an empty buffer and a lone identifier octet', () => {
    expect(derError(() => parseDer(Buffer.alloc(0), 'cert')).message).toBe('cert: empty');
    expect(derError(() => parseDer(hex('30'), 'cert')).message).toBe('cert: truncated element header at offset 0');
  });

  it('refuses high tag numbers (identifier low bits 11111), primitive or constructed', () => {
    expect(derError(() => parseDer(hex('1f 01 00'), 'cert')).message).toBe('cert: multi-byte tag at offset 0 is not supported');
    expect(derError(() => parseDer(hex('3f 01 00'), 'cert')).message).toMatch(/multi-byte tag/);
    expect(derError(() => parseDer(hex('bf 01 00'), 'cert')).message).toMatch(/multi-byte tag/);
    // 0x1e (BMPString) is the highest low tag number: accepted
    expect(el(hex('1e 02 00 41')).tag).toBe(0x1e);
  });

  it('refuses the indefinite length (BER, not DER)', () => {
    expect(derError(() => parseDer(hex('30 80 00 00'), 'cert')).message).toBe('cert: indefinite length at offset 0 is not DER');
  });

  it('reads long-form lengths of 1, 2, 3 and 4 octets', () => {
    const c128 = Buffer.alloc(128, 0x11);
    const e1 = el(Buffer.concat([hex('04 81 80'), c128]));
    expect([e1.contentStart, e1.end]).toEqual([3, 131]);
    expect(contentOf(e1)).toEqual(c128);

    const c258 = Buffer.alloc(258, 0x22);
    const e2 = el(Buffer.concat([hex('04 82 01 02'), c258]));
    expect([e2.contentStart, e2.end]).toEqual([4, 262]);

    const c65537 = Buffer.alloc(65537, 0x33);
    const e3 = el(Buffer.concat([hex('04 83 01 00 01'), c65537]));
    expect([e3.contentStart, e3.end]).toEqual([5, 65542]);

    // non-minimal long forms are read as written (length bytes 00 00 00 03)
    const e4 = el(hex('04 84 00 00 00 03 aa bb cc'));
    expect([e4.contentStart, e4.end]).toEqual([6, 9]);
    expect(contentOf(e4)).toEqual(hex('aa bb cc'));
    expect(el(hex('04 81 00')).end).toBe(3);
  });

  it('refuses more than 4 length octets even when the length would fit', () => {
    expect(derError(() => parseDer(hex('04 85 00 00 00 00 01 aa'), 'cert')).message).toBe(
      'cert: length of 5 bytes at offset 0 is too long',
    );
    expect(derError(() => parseDer(hex('04 ff 00'), 'cert')).message).toMatch(/length of 127 bytes at offset 0 is too long/);
  });

  it('refuses length octets that run past the end, at the exact boundary', () => {
    expect(derError(() => parseDer(hex('04 82 01'), 'cert')).message).toBe('cert: truncated length at offset 0');
    expect(derError(() => parseDer(hex('04 84 00 00 00'), 'cert')).message).toBe('cert: truncated length at offset 0');
    // exactly enough length octets: a zero-length element
    expect(el(hex('04 82 00 00')).end).toBe(4);
  });

  it('refuses contents that run past the buffer, saying by how much', () => {
    expect(derError(() => parseDer(hex('04 05 01'), 'cert')).message).toBe('cert: element at offset 0 runs 4 bytes past its container');
    expect(derError(() => parseDer(hex('04 04 01 02 03'), 'cert')).message).toBe(
      'cert: element at offset 0 runs 1 bytes past its container',
    );
    expect(derError(() => parseDer(Buffer.concat([hex('04 82 01 00'), Buffer.alloc(255)]), 'cert')).message).toBe(
      'cert: element at offset 0 runs 1 bytes past its container',
    );
    // a 4-octet length near 2^32 does not wrap
    expect(derError(() => parseDer(hex('04 84 ff ff ff ff 00'), 'cert')).message).toMatch(/runs 4294967294 bytes past/);
  });

  it('refuses trailing bytes after the one element', () => {
    expect(derError(() => parseDer(hex('05 00 00'), 'cert')).message).toBe('cert: 1 trailing bytes');
    expect(derError(() => parseDer(hex('04 01 aa 04 01 bb'), 'cert')).message).toBe('cert: 3 trailing bytes');
  });

  it('reads a Uint8Array (also a view into a larger buffer) as a Buffer', () => {
    const backing = new Uint8Array([0xee, 0xee, 0x04, 0x02, 0xaa, 0xbb, 0xee]);
    const view = backing.subarray(2, 6);
    const e = parseDer(view, 'x');
    expect([e.start, e.contentStart, e.end]).toEqual([0, 2, 4]);
    expect(Buffer.isBuffer(contentOf(e))).toBe(true);
    expect(contentOf(e).toString('hex')).toBe('aabb');
    expect(rawOf(e).toString('hex')).toBe('0402aabb');
  });
});

describe('children', () => {
  // SEQUENCE { OCTET STRING 'aa', SEQUENCE { OCTET STRING 'bbcc' }, NULL }
  const nested = hex('30 0b 04 01 aa 30 04 04 02 bb cc 05 00');

  it('returns the children with their offsets in the whole buffer', () => {
    const top = el(nested);
    const kids = children(top, 'seq');
    expect(kids.map((k) => [k.tag, k.start, k.contentStart, k.end])).toEqual([
      [0x04, 2, 4, 5],
      [0x30, 5, 7, 11],
      [0x05, 11, 13, 13],
    ]);
    const [inner] = children(kids[1], 'inner');
    expect([inner.start, inner.contentStart, inner.end]).toEqual([7, 9, 11]);
    expect(contentOf(inner)).toEqual(hex('bb cc'));
    expect(rawOf(kids[1])).toEqual(hex('30 04 04 02 bb cc'));
    expect(contentOf(kids[0])).toEqual(hex('aa'));
  });

  it('reads a long-form child at a non-zero offset', () => {
    const body = Buffer.alloc(200, 0x5a);
    const seq = tlv(0x30, Buffer.concat([hex('05 00'), tlv(0x04, body), hex('01 01 ff')]));
    const kids = children(el(seq), 'seq');
    // header 30 81 d0 (3 bytes), NULL at 3, OCTET STRING at 5: 04 81 c8 then 200 bytes
    expect(kids.map((k) => [k.tag, k.start, k.contentStart, k.end])).toEqual([
      [0x05, 3, 5, 5],
      [0x04, 5, 8, 208],
      [0x01, 208, 210, 211],
    ]);
    expect(contentOf(kids[1])).toEqual(body);
  });

  it('returns no children for an empty constructed element', () => {
    expect(children(el(hex('30 00')), 'seq')).toEqual([]);
    expect(children(el(hex('a3 00')), 'ext')).toEqual([]);
  });

  it('reads the children of any constructed element (SET, context-specific [0])', () => {
    expect(children(el(hex('31 03 02 01 07')), 'set').map((k) => k.tag)).toEqual([0x02]);
    expect(children(el(hex('a0 03 02 01 02')), 'version').map((k) => k.tag)).toEqual([0x02]);
  });

  it('refuses a primitive element and a missing one', () => {
    expect(derError(() => children(el(hex('04 02 05 00')), 'TBSCertificate')).message).toBe(
      'TBSCertificate: expected a constructed element',
    );
    expect(derError(() => children(el(hex('80 02 05 00')), 'x')).message).toMatch(/expected a constructed element/);
    expect(derError(() => children(undefined, 'TBSCertificate')).message).toBe('TBSCertificate: expected a constructed element');
  });

  it('refuses a child that runs past its parent, even if it fits in the buffer', () => {
    // SEQUENCE { SEQUENCE(len 2) { 04 03 ... }, OCTET STRING 'aa' }: the inner child claims 3 bytes, its parent has 0
    const buf = hex('30 07 30 02 04 03 04 01 aa');
    const [inner, sibling] = children(el(buf), 'outer');
    expect(sibling.tag).toBe(0x04);
    expect(derError(() => children(inner, 'inner')).message).toBe('inner: element at offset 4 runs 3 bytes past its container');
  });

  it('refuses children that do not tile the parent (a truncated header at the end)', () => {
    expect(derError(() => children(el(hex('30 03 05 00 05')), 'seq')).message).toBe('seq: truncated element header at offset 4');
    expect(derError(() => children(el(hex('30 03 04 02 aa')), 'seq')).message).toBe(
      'seq: element at offset 2 runs 1 bytes past its container',
    );
  });

  it('applies every header rule to children, with their offset', () => {
    expect(derError(() => children(el(hex('30 04 05 00 1f 00')), 'seq')).message).toBe(
      'seq: multi-byte tag at offset 4 is not supported',
    );
    expect(derError(() => children(el(hex('30 04 05 00 30 80')), 'seq')).message).toBe(
      'seq: indefinite length at offset 4 is not DER',
    );
    expect(derError(() => children(el(hex('30 09 05 00 04 85 00 00 00 00 00')), 'seq')).message).toBe(
      'seq: length of 5 bytes at offset 4 is too long',
    );
    // the length octets fit in the buffer but not in the parent
    const buf = hex('30 07 30 03 04 82 00 05 00');
    const [inner] = children(el(buf), 'outer');
    expect(derError(() => children(inner, 'inner')).message).toBe('inner: truncated length at offset 4');
  });
});

describe('isTag and isContext', () => {
  it('isTag compares the whole identifier octet', () => {
    const seq = el(hex('30 00'));
    expect(isTag(seq, Tag.sequence)).toBe(true);
    expect(isTag(seq, Tag.set)).toBe(false);
    expect(isTag(undefined, Tag.sequence)).toBe(false);
  });

  it('isContext needs the context-specific class and the tag number, primitive or constructed', () => {
    expect(isContext(el(hex('a0 00')), 0)).toBe(true);
    expect(isContext(el(hex('80 00')), 0)).toBe(true);
    expect(isContext(el(hex('a3 00')), 3)).toBe(true);
    expect(isContext(el(hex('83 00')), 3)).toBe(true);
    expect(isContext(el(hex('a3 00')), 0)).toBe(false);
    expect(isContext(el(hex('a0 00')), 3)).toBe(false);
    // same tag number, other classes: universal SEQUENCE (16), application [0], private [0]
    expect(isContext(el(hex('30 00')), 16)).toBe(false);
    expect(isContext(el(hex('60 00')), 0)).toBe(false);
    expect(isContext(el(hex('c0 00')), 0)).toBe(false);
    expect(isContext(el(hex('e0 00')), 0)).toBe(false);
    expect(isContext(undefined, 0)).toBe(false);
  });
});

describe('oidOf', () => {
  const oid = (content: string): string => oidOf(el(tlv(Tag.oid, hex(content))), 'oid');
  const oidErr = (content: string): string => derError(() => oidOf(el(tlv(Tag.oid, hex(content))), 'algorithm')).message;

  it('decodes multi-byte arcs', () => {
    expect(oid('2a 86 48 ce 3d 04 03 02')).toBe('1.2.840.10045.4.3.2');
    expect(oid('55 04 03')).toBe('2.5.4.3');
    expect(oid('2a 86 48 86 f8 4d 01 0d 01')).toBe('1.2.840.113741.1.13.1');
    // an arc whose middle byte is 0x80 (16384 = 0x81 0x80 0x00) is not a leading 0x80
    expect(oid('2a 81 80 00')).toBe('1.2.16384');
    expect(oid('2a 81 00 7f')).toBe('1.2.128.127');
  });

  it('splits the first subidentifier into the first two arcs (X.690 §8.19.4)', () => {
    expect(oid('00')).toBe('0.0');
    expect(oid('27')).toBe('0.39');
    expect(oid('28')).toBe('1.0');
    expect(oid('4f')).toBe('1.39');
    expect(oid('50')).toBe('2.0');
    expect(oid('51')).toBe('2.1');
    expect(oid('88 37')).toBe('2.999'); // 999 + 80 = 1079
    expect(oid('81 00 05')).toBe('2.48.5'); // 128 - 80
  });

  it('accepts an arc up to 2^46 - 1 and refuses a larger one (exact in a double after the next * 128)', () => {
    expect(oid('2a 8f ff ff ff ff ff 7f')).toBe(`1.2.${2 ** 46 - 1}`);
    expect(oidErr('2a 90 80 80 80 80 80 00')).toBe('algorithm: OBJECT IDENTIFIER arc too large');
    expect(oidErr('ff ff ff ff ff ff ff ff 7f')).toBe('algorithm: OBJECT IDENTIFIER arc too large');
  });

  it('refuses a non-OID element, an empty OID, a leading 0x80 and a truncated last arc', () => {
    expect(derError(() => oidOf(el(hex('04 01 2a')), 'algorithm')).message).toBe('algorithm: expected an OBJECT IDENTIFIER');
    expect(derError(() => oidOf(undefined, 'algorithm')).message).toBe('algorithm: expected an OBJECT IDENTIFIER');
    expect(oidErr('')).toBe('algorithm: empty OBJECT IDENTIFIER');
    expect(oidErr('80 01')).toBe('algorithm: OBJECT IDENTIFIER arc with a leading 0x80');
    expect(oidErr('2a 80 01')).toBe('algorithm: OBJECT IDENTIFIER arc with a leading 0x80');
    expect(oidErr('2a 86')).toBe('algorithm: truncated OBJECT IDENTIFIER');
    expect(oidErr('86')).toBe('algorithm: truncated OBJECT IDENTIFIER');
  });

  it('reads only its own contents when more elements follow', () => {
    const [a, b] = children(el(hex('30 08 06 01 2a 06 03 55 04 03')), 'seq');
    expect(oidOf(a, 'a')).toBe('1.2');
    expect(oidOf(b, 'b')).toBe('2.5.4.3');
  });
});

describe('integers and booleans', () => {
  it('integerBytes returns the contents of an INTEGER, sign byte included', () => {
    expect(integerBytes(el(hex('02 03 00 ff 01')), 'serial')).toEqual(hex('00 ff 01'));
    expect(derError(() => integerBytes(el(hex('02 00')), 'serial')).message).toBe('serial: empty INTEGER');
    expect(derError(() => integerBytes(el(hex('0a 01 01')), 'serial')).message).toBe('serial: expected an INTEGER');
    expect(derError(() => integerBytes(undefined, 'serial')).message).toBe('serial: expected an INTEGER');
  });

  it('smallUint reads non-negative values of up to 6 bytes', () => {
    expect(smallUint(el(hex('02 01 00')), 'v')).toBe(0);
    expect(smallUint(el(hex('02 01 7f')), 'v')).toBe(127);
    expect(smallUint(el(hex('02 02 00 80')), 'v')).toBe(128);
    expect(smallUint(el(hex('02 02 01 02')), 'v')).toBe(258);
    expect(smallUint(el(hex('02 06 7f ff ff ff ff ff')), 'v')).toBe(2 ** 47 - 1);
    expect(smallUint(el(hex('0a 01 02')), 'v', Tag.enumerated)).toBe(2);
  });

  it('smallUint refuses the wrong tag (naming the expected one), empty, negative and over-long values', () => {
    expect(derError(() => smallUint(el(hex('0a 01 02')), 'version')).message).toBe('version: expected an INTEGER');
    expect(derError(() => smallUint(el(hex('02 01 02')), 'reason', Tag.enumerated)).message).toBe(
      'reason: expected an ENUMERATED',
    );
    expect(derError(() => smallUint(undefined, 'version')).message).toBe('version: expected an INTEGER');
    expect(derError(() => smallUint(el(hex('02 00')), 'version')).message).toBe('version: empty integer');
    expect(derError(() => smallUint(el(hex('02 01 80')), 'version')).message).toBe('version: negative integer');
    expect(derError(() => smallUint(el(hex('02 02 ff 01')), 'version')).message).toBe('version: negative integer');
    expect(derError(() => smallUint(el(hex('02 07 00 01 00 00 00 00 00')), 'version')).message).toBe(
      'version: integer too large',
    );
  });

  it('booleanOf: one octet, any non-zero value is TRUE', () => {
    expect(booleanOf(el(hex('01 01 ff')), 'critical')).toBe(true);
    expect(booleanOf(el(hex('01 01 01')), 'critical')).toBe(true);
    expect(booleanOf(el(hex('01 01 00')), 'critical')).toBe(false);
    expect(derError(() => booleanOf(el(hex('01 00')), 'critical')).message).toBe('critical: BOOLEAN must be one octet');
    expect(derError(() => booleanOf(el(hex('01 02 ff ff')), 'critical')).message).toBe('critical: BOOLEAN must be one octet');
    expect(derError(() => booleanOf(el(hex('02 01 ff')), 'critical')).message).toBe('critical: expected a BOOLEAN');
    expect(derError(() => booleanOf(undefined, 'critical')).message).toBe('critical: expected a BOOLEAN');
  });

  it('serialHex strips sign-padding zeros but keeps one byte', () => {
    expect(serialHex(hex('00 00 01'))).toBe('01');
    expect(serialHex(hex('00 80'))).toBe('80');
    expect(serialHex(hex('00'))).toBe('00');
    expect(serialHex(hex('00 00'))).toBe('00');
    expect(serialHex(hex('01 00'))).toBe('0100');
    expect(serialHex(hex('7f 00 00'))).toBe('7f0000');
    expect(serialHex(Buffer.alloc(0))).toBe('');
    // every byte after the padding is kept, not just the last one
    expect(serialHex(hex('00 81 02'))).toBe('8102');
    expect(serialHex(hex('00 00 ab cd ef'))).toBe('abcdef');
  });
});

describe('strings: BIT STRING and OCTET STRING', () => {
  it('bitStringBytes drops the unused-bits octet', () => {
    expect(bitStringBytes(el(hex('03 03 00 ab cd')), 'key')).toEqual(hex('ab cd'));
    expect(bitStringBytes(el(hex('03 02 07 80')), 'key')).toEqual(hex('80'));
    expect(bitStringBytes(el(hex('03 01 00')), 'key')).toEqual(Buffer.alloc(0));
  });

  it('bitStringBytes refuses no octets, more than 7 unused bits, unused bits of an empty string, other tags', () => {
    expect(derError(() => bitStringBytes(el(hex('03 00')), 'key')).message).toBe('key: invalid BIT STRING');
    expect(derError(() => bitStringBytes(el(hex('03 02 08 ff')), 'key')).message).toBe('key: invalid BIT STRING');
    expect(derError(() => bitStringBytes(el(hex('03 01 01')), 'key')).message).toBe('key: invalid BIT STRING');
    expect(derError(() => bitStringBytes(el(hex('03 01 07')), 'key')).message).toBe('key: invalid BIT STRING');
    expect(derError(() => bitStringBytes(el(hex('04 02 00 ab')), 'key')).message).toBe('key: expected a BIT STRING');
    expect(derError(() => bitStringBytes(undefined, 'key')).message).toBe('key: expected a BIT STRING');
  });

  it('octets returns the contents of an OCTET STRING only', () => {
    expect(octets(el(hex('04 02 ab cd')), 'extnValue')).toEqual(hex('ab cd'));
    expect(derError(() => octets(el(hex('03 02 00 ab')), 'extnValue')).message).toBe('extnValue: expected an OCTET STRING');
    expect(derError(() => octets(undefined, 'extnValue')).message).toBe('extnValue: expected an OCTET STRING');
  });
});

describe('timeOf', () => {
  const utc = (s: string): DerElement => el(tlv(Tag.utcTime, Buffer.from(s, 'latin1')));
  const gen = (s: string): DerElement => el(tlv(Tag.generalizedTime, Buffer.from(s, 'latin1')));
  const iso = (e: DerElement): string => timeOf(e, 'notAfter').toISOString();
  const timeErr = (e: DerElement): string => derError(() => timeOf(e, 'notAfter')).message;

  it('isTime: UTCTime and GeneralizedTime only', () => {
    expect(isTime(utc('250101000000Z'))).toBe(true);
    expect(isTime(gen('20250101000000Z'))).toBe(true);
    expect(isTime(el(hex('04 00')))).toBe(false);
    expect(isTime(undefined)).toBe(false);
  });

  it('UTCTime: two-digit years 50-99 are 19xx, 00-49 are 20xx (RFC 5280 §4.1.2.5.1)', () => {
    expect(iso(utc('250102030405Z'))).toBe('2025-01-02T03:04:05.000Z');
    expect(iso(utc('491231235959Z'))).toBe('2049-12-31T23:59:59.000Z');
    expect(iso(utc('500101000000Z'))).toBe('1950-01-01T00:00:00.000Z');
    expect(iso(utc('000101000000Z'))).toBe('2000-01-01T00:00:00.000Z');
    expect(iso(utc('991231235959Z'))).toBe('1999-12-31T23:59:59.000Z');
  });

  it('GeneralizedTime: four-digit years, optional fraction to the millisecond', () => {
    expect(iso(gen('20250102030405Z'))).toBe('2025-01-02T03:04:05.000Z');
    expect(iso(gen('19491231235959Z'))).toBe('1949-12-31T23:59:59.000Z');
    expect(iso(gen('20250102030405.5Z'))).toBe('2025-01-02T03:04:05.500Z');
    expect(iso(gen('20250102030405.05Z'))).toBe('2025-01-02T03:04:05.050Z');
    expect(iso(gen('20250102030405.123Z'))).toBe('2025-01-02T03:04:05.123Z');
    expect(iso(gen('20250102030405.1239Z'))).toBe('2025-01-02T03:04:05.123Z');
  });

  it('GeneralizedTime years below 100 stay as written (not moved to 19xx)', () => {
    const d = timeOf(gen('00500101000000Z'), 'notBefore');
    expect(d.getUTCFullYear()).toBe(50);
    expect([d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()]).toEqual([0, 1, 0]);
    expect(timeOf(gen('00991231235959Z'), 'notBefore').getUTCFullYear()).toBe(99);
    expect(timeOf(gen('01000101000000Z'), 'notBefore').getUTCFullYear()).toBe(100);
  });

  it('leap days: 29 February only in leap years', () => {
    expect(iso(gen('20240229120000Z'))).toBe('2024-02-29T12:00:00.000Z');
    expect(iso(utc('000229120000Z'))).toBe('2000-02-29T12:00:00.000Z');
    expect(timeErr(gen('20250229120000Z'))).toBe('notAfter: invalid time "20250229120000Z"');
    expect(timeErr(gen('21000229120000Z'))).toMatch(/invalid time/);
  });

  it('refuses out-of-range fields instead of rolling them over', () => {
    for (const bad of [
      '20251301000000Z', // month 13
      '20250001000000Z', // month 00
      '20250230000000Z', // 30 February
      '20250431000000Z', // 31 April
      '20250100000000Z', // day 00
      '20250132000000Z', // day 32
      '20250101240000Z', // hour 24
      '20251231240000Z', // hour 24 on the last day of the year
      '20250101126000Z', // minute 60
      '20250101120060Z', // second 60 (no leap seconds)
      '20250101129999Z',
    ]) {
      expect(timeErr(gen(bad))).toBe(`notAfter: invalid time "${bad}"`);
    }
    expect(timeErr(utc('251301000000Z'))).toMatch(/invalid time/);
    expect(timeErr(utc('250101126000Z'))).toMatch(/invalid time/);
    expect(timeErr(utc('250101120060Z'))).toMatch(/invalid time/);
  });

  it('accepts the last valid value of every field', () => {
    expect(iso(gen('20251231235959Z'))).toBe('2025-12-31T23:59:59.000Z');
    expect(iso(gen('20250131235959Z'))).toBe('2025-01-31T23:59:59.000Z');
    expect(iso(gen('20250430235959Z'))).toBe('2025-04-30T23:59:59.000Z');
    expect(iso(gen('20250228230000Z'))).toBe('2025-02-28T23:00:00.000Z');
  });

  it('refuses malformed text, and each format under the other tag', () => {
    expect(timeErr(utc('2501010000Z'))).toBe('notAfter: invalid time "2501010000Z"'); // no seconds
    expect(timeErr(utc('250101000000'))).toMatch(/invalid time/); // no Z
    expect(timeErr(utc('250101000000+0000'))).toMatch(/invalid time/);
    expect(timeErr(gen('20250101000000.Z'))).toMatch(/invalid time/);
    expect(timeErr(gen('2025010100000Z'))).toMatch(/invalid time/);
    // a GeneralizedTime text under the UTCTime tag, and a UTCTime text under the GeneralizedTime tag
    expect(timeErr(utc('20250101000000Z'))).toBe('notAfter: invalid time "20250101000000Z"');
    expect(timeErr(gen('250101000000Z'))).toBe('notAfter: invalid time "250101000000Z"');
    expect(timeErr(utc('2501010000.5Z'))).toMatch(/invalid time/);
  });

  it('refuses other tags', () => {
    expect(timeErr(el(tlv(Tag.octetString, Buffer.from('250101000000Z'))))).toBe(
      'notAfter: expected UTCTime or GeneralizedTime',
    );
    expect(derError(() => timeOf(undefined, 'notAfter')).message).toBe('notAfter: expected UTCTime or GeneralizedTime');
  });
});

describe('commonName', () => {
  const CN = hex('06 03 55 04 03');
  const O = hex('06 03 55 04 0a');
  const atv = (type: Buffer, value?: Buffer): Buffer => tlv(0x30, value ? Buffer.concat([type, value]) : type);
  const rdn = (...atvs: Buffer[]): Buffer => tlv(0x31, Buffer.concat(atvs));
  const name = (...rdns: Buffer[]): DerElement => el(tlv(0x30, Buffer.concat(rdns)));
  const str = (tag: number, s: string, enc: BufferEncoding = 'latin1'): Buffer => tlv(tag, Buffer.from(s, enc));

  it('finds the CN after other attributes, in a later RDN or a later place in a multi-valued RDN', () => {
    expect(commonName(name(rdn(atv(O, str(0x0c, 'Intel'))), rdn(atv(CN, str(0x0c, 'Intel SGX Root CA')))))).toBe(
      'Intel SGX Root CA',
    );
    expect(commonName(name(rdn(atv(O, str(0x13, 'Intel')), atv(CN, str(0x13, 'PCK')))))).toBe('PCK');
    // the first CN wins
    expect(commonName(name(rdn(atv(CN, str(0x13, 'first'))), rdn(atv(CN, str(0x13, 'second')))))).toBe('first');
  });

  it("is '' without a CN, for an empty Name and for an empty RDN", () => {
    expect(commonName(name(rdn(atv(O, str(0x0c, 'Intel')))))).toBe('');
    expect(commonName(name())).toBe('');
    expect(commonName(name(rdn()))).toBe('');
  });

  it('decodes every directory string type', () => {
    const cn = (value: Buffer): string => commonName(name(rdn(atv(CN, value))));
    expect(cn(str(0x0c, 'Zürich ✓', 'utf8'))).toBe('Zürich ✓');
    expect(cn(str(0x12, '0123'))).toBe('0123');
    expect(cn(str(0x13, 'Intel SGX PCK Platform CA'))).toBe('Intel SGX PCK Platform CA');
    expect(cn(tlv(0x14, hex('43 e9')))).toBe('Cé'); // TeletexString read as latin1
    expect(cn(tlv(0x16, hex('61 40 62')))).toBe('a@b');
    expect(cn(tlv(0x1a, hex('56 69 73')))).toBe('Vis');
    expect(cn(tlv(0x13, hex('ff')))).toBe('ÿ'); // latin1, not UTF-8
    expect(cn(tlv(0x1e, Buffer.from('Ab✓', 'utf16le').swap16()))).toBe('Ab✓'); // BMPString: UCS-2 big-endian
  });

  it("is '' for a value that is not a directory string, an odd-length BMPString or no value", () => {
    const cn = (value?: Buffer): string => commonName(name(rdn(atv(CN, value))));
    expect(cn(hex('04 02 41 42'))).toBe('');
    expect(cn(hex('02 01 05'))).toBe('');
    expect(cn(hex('1e 03 00 41 00'))).toBe('');
    expect(cn(hex('1c 04 00 00 00 41'))).toBe(''); // UniversalString is not read
    expect(cn()).toBe('');
  });

  it('refuses a Name, RDN or attribute that is not constructed, or an attribute type that is not an OID', () => {
    expect(derError(() => commonName(el(hex('04 00')))).message).toBe('Name: expected a constructed element');
    expect(derError(() => commonName(name(hex('04 00')))).message).toBe('RDN: expected a constructed element');
    expect(derError(() => commonName(name(rdn(hex('04 00'))))).message).toBe('AttributeTypeAndValue: expected a constructed element');
    expect(derError(() => commonName(name(rdn(atv(hex('04 03 55 04 03'), str(0x13, 'x')))))).message).toBe(
      'attribute type: expected an OBJECT IDENTIFIER',
    );
    expect(derError(() => commonName(name(rdn(tlv(0x30, Buffer.alloc(0)))))).message).toBe(
      'attribute type: expected an OBJECT IDENTIFIER',
    );
  });
});
