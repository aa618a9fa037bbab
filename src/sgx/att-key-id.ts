import { asBuffer, ByteReader, checkFieldSize, checkUint, expectExactSize } from './bytes.js';
import { SgxParseError } from './errors.js';

/** sgx_ql_att_key_id_t (158 bytes): the part aesmd memcmp()s when matching key ids. */
export const ATT_KEY_ID_BASE_SIZE = 158;
/** sgx_att_key_id_ext_t (256 bytes) = sizeof(sgx_att_key_id_t): what travels on the wire. */
export const ATT_KEY_ID_EXT_SIZE = 256;
export const ATT_KEY_ID_LIST_HEADER_SIZE = 8;
export const ATT_KEY_ID_LIST_MAX = 10;
export const ATT_KEY_ID_MRSIGNER_SIZE = 48;

export const AttKeyIdOffsets = {
  id: 0,
  version: 2,
  mrsignerLength: 4,
  mrsigner: 6,
  prodId: 54,
  extendedProdId: 58,
  configId: 74,
  familyId: 138,
  algorithmId: 154,
  // sgx_att_key_id_ext_t continues after the base:
  spid: 158,
  attKeyType: 174,
  reserved: 176,
} as const;

export const AttKeyIdListOffsets = { id: 0, version: 2, numAttIds: 4, ids: 8 } as const;

/** Algorithm ids (sgx_quote_3.h). */
export const SGX_QL_ALG_EPID = 0;
export const SGX_QL_ALG_ECDSA_P256 = 2;
export const SGX_QL_ALG_ECDSA_P384 = 3;

export interface AttKeyId {
  id: number;
  version: number;
  mrsignerLength: number;
  mrsigner: Buffer; // 48 bytes, the first mrsignerLength meaningful
  prodId: number;
  extendedProdId: Buffer; // 16
  configId: Buffer; // 64
  familyId: Buffer; // 16
  algorithmId: number;
}

export interface AttKeyIdExt {
  base: AttKeyId;
  spid: Buffer; // 16
  attKeyType: number;
  reserved: Buffer; // 80
}

/** Intel's production QE3 ECDSA-P256 key id, exactly as aesm-wire-protocol.md §4.1 lists it. */
export const DEFAULT_ECDSA_P256_ATT_KEY_ID: Buffer = Buffer.from(
  '0000000020008c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b' +
    '094490c57bff0000000000000000000000000000000001000000000000000000' +
    '00'.repeat(64) +
    '0000000000000000000000000000000000000000000000000000020000000000' +
    '00'.repeat(96),
  'hex',
);

export function parseAttKeyIdExt(input: Uint8Array): AttKeyIdExt {
  const buf = asBuffer(input, 'attKeyId');
  expectExactSize(buf, ATT_KEY_ID_EXT_SIZE, 'attKeyId');
  return parseAttKeyIdExtAt(buf, 0, 'attKeyId');
}

function parseAttKeyIdExtAt(buf: Buffer, offset: number, field: string): AttKeyIdExt {
  const r = new ByteReader(buf);
  const O = AttKeyIdOffsets;
  r.need(offset, ATT_KEY_ID_EXT_SIZE, field);
  const mrsignerLength = r.u16(offset + O.mrsignerLength, `${field}.mrsignerLength`);
  if (mrsignerLength > ATT_KEY_ID_MRSIGNER_SIZE) {
    throw new SgxParseError(
      'INCONSISTENT_LENGTH',
      `${field}.mrsignerLength`,
      offset + O.mrsignerLength,
      `${mrsignerLength} exceeds the ${ATT_KEY_ID_MRSIGNER_SIZE}-byte mrsigner field`,
    );
  }
  return {
    base: {
      id: r.u16(offset + O.id, `${field}.id`),
      version: r.u16(offset + O.version, `${field}.version`),
      mrsignerLength,
      mrsigner: r.bytes(offset + O.mrsigner, ATT_KEY_ID_MRSIGNER_SIZE, `${field}.mrsigner`),
      prodId: r.u32(offset + O.prodId, `${field}.prodId`),
      extendedProdId: r.bytes(offset + O.extendedProdId, 16, `${field}.extendedProdId`),
      configId: r.bytes(offset + O.configId, 64, `${field}.configId`),
      familyId: r.bytes(offset + O.familyId, 16, `${field}.familyId`),
      algorithmId: r.u32(offset + O.algorithmId, `${field}.algorithmId`),
    },
    spid: r.bytes(offset + O.spid, 16, `${field}.spid`),
    attKeyType: r.u16(offset + O.attKeyType, `${field}.attKeyType`),
    reserved: r.bytes(offset + O.reserved, 80, `${field}.reserved`),
  };
}

export function encodeAttKeyIdExt(k: AttKeyIdExt): Buffer {
  const O = AttKeyIdOffsets;
  const out = Buffer.alloc(ATT_KEY_ID_EXT_SIZE);
  const b = k.base;
  out.writeUInt16LE(checkUint(b.id, 16, 'attKeyId.id', O.id), O.id);
  out.writeUInt16LE(checkUint(b.version, 16, 'attKeyId.version', O.version), O.version);
  out.writeUInt16LE(checkUint(b.mrsignerLength, 16, 'attKeyId.mrsignerLength', O.mrsignerLength), O.mrsignerLength);
  checkFieldSize(b.mrsigner, ATT_KEY_ID_MRSIGNER_SIZE, 'attKeyId.mrsigner', O.mrsigner).copy(out, O.mrsigner);
  out.writeUInt32LE(checkUint(b.prodId, 32, 'attKeyId.prodId', O.prodId), O.prodId);
  checkFieldSize(b.extendedProdId, 16, 'attKeyId.extendedProdId', O.extendedProdId).copy(out, O.extendedProdId);
  checkFieldSize(b.configId, 64, 'attKeyId.configId', O.configId).copy(out, O.configId);
  checkFieldSize(b.familyId, 16, 'attKeyId.familyId', O.familyId).copy(out, O.familyId);
  out.writeUInt32LE(checkUint(b.algorithmId, 32, 'attKeyId.algorithmId', O.algorithmId), O.algorithmId);
  checkFieldSize(k.spid, 16, 'attKeyId.spid', O.spid).copy(out, O.spid);
  out.writeUInt16LE(checkUint(k.attKeyType, 16, 'attKeyId.attKeyType', O.attKeyType), O.attKeyType);
  checkFieldSize(k.reserved, 80, 'attKeyId.reserved', O.reserved).copy(out, O.reserved);
  return out;
}

/** The first 158 bytes: aesmd compares exactly these against its supported key ids. */
export function attKeyIdBase(input: Uint8Array): Buffer {
  const buf = asBuffer(input, 'attKeyId');
  new ByteReader(buf).need(0, ATT_KEY_ID_BASE_SIZE, 'attKeyId.base');
  return Buffer.from(buf.subarray(0, ATT_KEY_ID_BASE_SIZE));
}

export interface AttKeyIdListHeader {
  id: number;
  version: number;
  numAttIds: number;
}

/** sgx_ql_att_key_id_list_t: 8-byte header + numAttIds × 256; the length must match exactly. */
export function parseAttKeyIdList(input: Uint8Array): { header: AttKeyIdListHeader; ids: Buffer[] } {
  const buf = asBuffer(input, 'attKeyIdList');
  const r = new ByteReader(buf);
  const O = AttKeyIdListOffsets;
  r.need(0, ATT_KEY_ID_LIST_HEADER_SIZE, 'attKeyIdList.header');
  const header = {
    id: r.u16(O.id, 'attKeyIdList.header.id'),
    version: r.u16(O.version, 'attKeyIdList.header.version'),
    numAttIds: r.u32(O.numAttIds, 'attKeyIdList.header.numAttIds'),
  };
  if (header.numAttIds > ATT_KEY_ID_LIST_MAX) {
    throw new SgxParseError(
      'INVALID_VALUE',
      'attKeyIdList.header.numAttIds',
      O.numAttIds,
      `${header.numAttIds} exceeds the maximum of ${ATT_KEY_ID_LIST_MAX}`,
    );
  }
  const expected = ATT_KEY_ID_LIST_HEADER_SIZE + header.numAttIds * ATT_KEY_ID_EXT_SIZE;
  if (buf.length !== expected) {
    throw new SgxParseError(
      buf.length < expected ? 'TRUNCATED' : 'OVERSIZE',
      'attKeyIdList.ids',
      Math.min(buf.length, expected),
      `list of ${header.numAttIds} key ids must be ${expected} bytes, got ${buf.length}`,
    );
  }
  const ids: Buffer[] = [];
  for (let i = 0; i < header.numAttIds; i++) {
    ids.push(r.bytes(O.ids + i * ATT_KEY_ID_EXT_SIZE, ATT_KEY_ID_EXT_SIZE, `attKeyIdList.ids[${i}]`));
  }
  return { header, ids };
}

export function encodeAttKeyIdList(ids: Buffer[]): Buffer {
  if (ids.length > ATT_KEY_ID_LIST_MAX) {
    throw new SgxParseError('INVALID_VALUE', 'attKeyIdList.header.numAttIds', AttKeyIdListOffsets.numAttIds,
      `${ids.length} exceeds the maximum of ${ATT_KEY_ID_LIST_MAX}`);
  }
  const out = Buffer.alloc(ATT_KEY_ID_LIST_HEADER_SIZE + ids.length * ATT_KEY_ID_EXT_SIZE);
  out.writeUInt32LE(ids.length, AttKeyIdListOffsets.numAttIds);
  ids.forEach((id, i) => {
    const off = AttKeyIdListOffsets.ids + i * ATT_KEY_ID_EXT_SIZE;
    checkFieldSize(id, ATT_KEY_ID_EXT_SIZE, `attKeyIdList.ids[${i}]`, off).copy(out, off);
  });
  return out;
}
