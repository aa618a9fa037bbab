import { describe, expect, it } from 'vitest';
import {
  attKeyIdBase,
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  encodeAttKeyIdExt,
  encodeAttKeyIdList,
  parseAttKeyIdExt,
  parseAttKeyIdList,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';

/**
 * Attestation key ids arrive from clients (SelectAttKeyID lists, InitQuoteEx/GetQuoteEx key ids), so their
 * limits are checked at the exact boundary with the field and offset reported (written for mutation
 * testing, docs/mutation-testing.md). Intel's QE3 key id of wire spec §4.1 is the real input.
 */
const KEY = DEFAULT_ECDSA_P256_ATT_KEY_ID;

describe('sgx_att_key_id_ext_t', () => {
  it('an mrsigner length of exactly 48 is accepted, 49 refused with the reason', () => {
    const k = Buffer.from(KEY);
    k.writeUInt16LE(48, 4);
    expect(parseAttKeyIdExt(k).base.mrsignerLength).toBe(48);
    k.writeUInt16LE(49, 4);
    const e = expectParseError(() => parseAttKeyIdExt(k), 'INCONSISTENT_LENGTH', /^attKeyId\.mrsignerLength$/, 4);
    expect(e.message).toContain('49 exceeds the 48-byte mrsigner field');
  });

  it('refuses anything but 256 bytes, and input that is not bytes', () => {
    expectParseError(() => parseAttKeyIdExt(KEY.subarray(0, 255)), 'TRUNCATED', /^attKeyId$/, 255);
    expectParseError(() => parseAttKeyIdExt(Buffer.concat([KEY, Buffer.alloc(1)])), 'OVERSIZE', /^attKeyId$/, 256);
    expectParseError(() => parseAttKeyIdExt('k' as unknown as Uint8Array), 'INVALID_VALUE', /^attKeyId$/, 0);
  });

  it('reads every field at its offset (spec §4.1 layout)', () => {
    const k = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) k[i] = i;
    k.writeUInt16LE(20, 4); // a valid mrsigner length
    const p = parseAttKeyIdExt(k);
    expect(p.base.id).toBe(0x0100);
    expect(p.base.version).toBe(0x0302);
    expect(p.base.mrsigner.equals(k.subarray(6, 54))).toBe(true);
    expect(p.base.prodId).toBe(k.readUInt32LE(54));
    expect(p.base.extendedProdId.equals(k.subarray(58, 74))).toBe(true);
    expect(p.base.configId.equals(k.subarray(74, 138))).toBe(true);
    expect(p.base.familyId.equals(k.subarray(138, 154))).toBe(true);
    expect(p.base.algorithmId).toBe(k.readUInt32LE(154));
    expect(p.spid.equals(k.subarray(158, 174))).toBe(true);
    expect(p.attKeyType).toBe(k.readUInt16LE(174));
    expect(p.reserved.equals(k.subarray(176, 256))).toBe(true);
    expect(encodeAttKeyIdExt(p).equals(k)).toBe(true);
  });

  it('encodeAttKeyIdExt names every field it refuses, at its offset', () => {
    const p = parseAttKeyIdExt(KEY);
    const base = (edit: object) => ({ ...p, base: { ...p.base, ...edit } });
    const cases: Array<[object, RegExp, number]> = [
      [base({ id: 0x10000 }), /^attKeyId\.id$/, 0],
      [base({ version: -1 }), /^attKeyId\.version$/, 2],
      [base({ mrsignerLength: 0x10000 }), /^attKeyId\.mrsignerLength$/, 4],
      [base({ mrsigner: Buffer.alloc(32) }), /^attKeyId\.mrsigner$/, 6],
      [base({ prodId: 2 ** 32 }), /^attKeyId\.prodId$/, 54],
      [base({ extendedProdId: Buffer.alloc(1) }), /^attKeyId\.extendedProdId$/, 58],
      [base({ configId: Buffer.alloc(1) }), /^attKeyId\.configId$/, 74],
      [base({ familyId: Buffer.alloc(1) }), /^attKeyId\.familyId$/, 138],
      [base({ algorithmId: -1 }), /^attKeyId\.algorithmId$/, 154],
      [{ ...p, spid: Buffer.alloc(1) }, /^attKeyId\.spid$/, 158],
      [{ ...p, attKeyType: 0x10000 }, /^attKeyId\.attKeyType$/, 174],
      [{ ...p, reserved: Buffer.alloc(1) }, /^attKeyId\.reserved$/, 176],
    ];
    for (const [k, field, offset] of cases) expectParseError(() => encodeAttKeyIdExt(k as typeof p), 'INVALID_VALUE', field, offset);
  });

  it('attKeyIdBase: exactly the first 158 bytes, as a copy; 157 are too few', () => {
    const k = Buffer.from(KEY);
    const b = attKeyIdBase(k.subarray(0, 158));
    expect(b.equals(KEY.subarray(0, 158))).toBe(true);
    k[0] ^= 0xff;
    expect(b[0]).toBe(KEY[0]);
    expect(attKeyIdBase(KEY).length).toBe(158);
    expectParseError(() => attKeyIdBase(KEY.subarray(0, 157)), 'TRUNCATED', /^attKeyId\.base$/, 0);
    expectParseError(() => attKeyIdBase('k' as unknown as Uint8Array), 'INVALID_VALUE', /^attKeyId$/, 0);
  });
});

describe('sgx_ql_att_key_id_list_t', () => {
  const other = Buffer.from(KEY);
  other.writeUInt32LE(0, 154);

  it('a list of exactly 10 is accepted, 11 refused', () => {
    const ten = encodeAttKeyIdList(new Array(10).fill(other));
    expect(parseAttKeyIdList(ten).ids).toHaveLength(10);
    const eleven = Buffer.concat([ten, other]);
    eleven.writeUInt32LE(11, 4);
    const e = expectParseError(() => parseAttKeyIdList(eleven), 'INVALID_VALUE', /^attKeyIdList\.header\.numAttIds$/, 4);
    expect(e.message).toContain('11 exceeds the maximum of 10');
    expect(expectParseError(() => encodeAttKeyIdList(new Array(11).fill(other)), 'INVALID_VALUE', /^attKeyIdList\.header\.numAttIds$/, 4).message).toContain(
      '11 exceeds the maximum of 10',
    );
  });

  it('reads the header fields and refuses a short header', () => {
    const list = encodeAttKeyIdList([KEY]);
    list.writeUInt16LE(7, 0);
    list.writeUInt16LE(9, 2);
    expect(parseAttKeyIdList(list).header).toEqual({ id: 7, version: 9, numAttIds: 1 });
    expectParseError(() => parseAttKeyIdList(list.subarray(0, 7)), 'TRUNCATED', /^attKeyIdList\.header$/, 0);
    expectParseError(() => parseAttKeyIdList('l' as unknown as Uint8Array), 'INVALID_VALUE', /^attKeyIdList$/, 0);
  });

  it('a length that does not match the count: truncated or oversize at the first byte that is wrong', () => {
    const list = encodeAttKeyIdList([KEY, other]);
    const short = expectParseError(() => parseAttKeyIdList(list.subarray(0, 300)), 'TRUNCATED', /^attKeyIdList\.ids$/, 300);
    expect(short.message).toContain('list of 2 key ids must be 520 bytes, got 300');
    const long = expectParseError(() => parseAttKeyIdList(Buffer.concat([list, Buffer.alloc(3)])), 'OVERSIZE', /^attKeyIdList\.ids$/, 520);
    expect(long.message).toContain('must be 520 bytes, got 523');
  });

  it('encodeAttKeyIdList names the entry of the wrong size by index and offset', () => {
    expectParseError(() => encodeAttKeyIdList([KEY, Buffer.alloc(255)]), 'INVALID_VALUE', /^attKeyIdList\.ids\[1\]$/, 8 + 256);
    const list = encodeAttKeyIdList([KEY, other]);
    expect(list.readUInt32LE(0)).toBe(0); // id and version 0
    expect(list.subarray(8, 264).equals(KEY)).toBe(true);
    expect(list.subarray(264).equals(other)).toBe(true);
  });
});
