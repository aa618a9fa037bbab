import { ByteReader, checkFieldSize, checkUint } from './bytes.js';
import { SgxParseError } from './errors.js';

/** sgx_quote_header_t (v3) / sgx_quote4_header_t (v4, v5): 48 bytes, same offsets. */
export const QUOTE_HEADER_SIZE = 48;
export const QuoteHeaderOffsets = {
  version: 0,
  attKeyType: 2,
  teeType: 4,
  qeSvn: 8, // v4/v5 call these 4 bytes "reserved"; Intel's QVL still reads them as qeSvn/pceSvn
  pceSvn: 10,
  vendorId: 12,
  userData: 28,
} as const;
export const QUOTE_VENDOR_ID_SIZE = 16;
export const QUOTE_USER_DATA_SIZE = 20;

/** Intel's QE vendor id, UUID 939a7233-f79c-4ca9-940a-0db3957f0607. */
export const INTEL_QE_VENDOR_ID: Buffer = Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex');
export const TEE_TYPE_SGX = 0;
export const TEE_TYPE_TDX = 0x81;
/** att_key_type: the only one quotes are produced with (2 = ECDSA-256-with-P-256). */
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const SUPPORTED_QUOTE_VERSIONS = [3, 4, 5] as const;
export type QuoteVersion = (typeof SUPPORTED_QUOTE_VERSIONS)[number];

export interface QuoteHeader {
  version: QuoteVersion;
  attKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  vendorId: Buffer;
  userData: Buffer;
  /** The 48 bytes as parsed; encoding starts from them. */
  raw?: Buffer;
}

export function parseQuoteHeader(buf: Buffer, offset = 0): QuoteHeader {
  const r = new ByteReader(buf);
  const O = QuoteHeaderOffsets;
  r.need(offset, QUOTE_HEADER_SIZE, 'quote.header');
  const version = r.u16(offset + O.version, 'quote.header.version');
  if (!(SUPPORTED_QUOTE_VERSIONS as readonly number[]).includes(version)) {
    throw new SgxParseError('UNSUPPORTED_VERSION', 'quote.header.version', offset + O.version,
      `quote version ${version} is not supported (3, 4 or 5)`);
  }
  const attKeyType = r.u16(offset + O.attKeyType, 'quote.header.attKeyType');
  if (attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw new SgxParseError('UNSUPPORTED_KEY_TYPE', 'quote.header.attKeyType', offset + O.attKeyType,
      `attestation key type ${attKeyType} is not supported (2 = ECDSA P-256)`);
  }
  const teeType = r.u32(offset + O.teeType, 'quote.header.teeType');
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX) {
    throw new SgxParseError('UNSUPPORTED_TEE_TYPE', 'quote.header.teeType', offset + O.teeType,
      `TEE type 0x${teeType.toString(16)} is not supported (0 = SGX, 0x81 = TDX)`);
  }
  if (version === 3 && teeType !== TEE_TYPE_SGX) {
    throw new SgxParseError('UNSUPPORTED_TEE_TYPE', 'quote.header.teeType', offset + O.teeType,
      `a version 3 quote must be SGX (0), got 0x${teeType.toString(16)}`);
  }
  return {
    version: version as QuoteVersion,
    attKeyType,
    teeType,
    qeSvn: r.u16(offset + O.qeSvn, 'quote.header.qeSvn'),
    pceSvn: r.u16(offset + O.pceSvn, 'quote.header.pceSvn'),
    vendorId: r.bytes(offset + O.vendorId, QUOTE_VENDOR_ID_SIZE, 'quote.header.vendorId'),
    userData: r.bytes(offset + O.userData, QUOTE_USER_DATA_SIZE, 'quote.header.userData'),
    raw: r.bytes(offset, QUOTE_HEADER_SIZE, 'quote.header'),
  };
}

export function encodeQuoteHeader(h: QuoteHeader): Buffer {
  const O = QuoteHeaderOffsets;
  const out = h.raw ? checkFieldSize(h.raw, QUOTE_HEADER_SIZE, 'quote.header.raw', 0) : Buffer.alloc(QUOTE_HEADER_SIZE);
  out.writeUInt16LE(checkUint(h.version, 16, 'quote.header.version', O.version), O.version);
  out.writeUInt16LE(checkUint(h.attKeyType, 16, 'quote.header.attKeyType', O.attKeyType), O.attKeyType);
  out.writeUInt32LE(checkUint(h.teeType, 32, 'quote.header.teeType', O.teeType), O.teeType);
  out.writeUInt16LE(checkUint(h.qeSvn, 16, 'quote.header.qeSvn', O.qeSvn), O.qeSvn);
  out.writeUInt16LE(checkUint(h.pceSvn, 16, 'quote.header.pceSvn', O.pceSvn), O.pceSvn);
  checkFieldSize(h.vendorId, QUOTE_VENDOR_ID_SIZE, 'quote.header.vendorId', O.vendorId).copy(out, O.vendorId);
  checkFieldSize(h.userData, QUOTE_USER_DATA_SIZE, 'quote.header.userData', O.userData).copy(out, O.userData);
  return out;
}
