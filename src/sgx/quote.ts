import { asBuffer, ByteReader, checkFieldSize, checkUint } from './bytes.js';
import {
  type CertificationData,
  CertType,
  ECDSA_SIGNATURE_SIZE,
  encodeQeReportCertification,
  encodeRawCertificationData,
  parseCertificationData,
  parseQeReportCertification,
  type QeReportCertification,
  QeReportCertificationOffsets,
} from './certification-data.js';
import { orderChainLeafFirst } from './cert-chain.js';
import { SgxParseError } from './errors.js';
import {
  ATT_KEY_TYPE_ECDSA_P256,
  encodeQuoteHeader,
  INTEL_QE_VENDOR_ID,
  parseQuoteHeader,
  QUOTE_HEADER_SIZE,
  QUOTE_USER_DATA_SIZE,
  type QuoteHeader,
  type QuoteVersion,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
} from './quote-header.js';
import { encodeReportBody, parseReportBody, REPORT_BODY_SIZE, type ReportBody } from './report-body.js';
import {
  encodeTdReportBody10,
  encodeTdReportBody15,
  parseTdReportBody10,
  parseTdReportBody15,
  TD_REPORT_BODY_10_SIZE,
  TD_REPORT_BODY_15_SIZE,
  type TdReportBody10,
  type TdReportBody15,
} from './td-report.js';

/** Where things sit in a quote. v3/v4 bodies start right after the header; v5 has a body type/size first. */
export const QuoteOffsets = {
  header: 0,
  body: QUOTE_HEADER_SIZE, // v3, v4
  v5BodyType: 48,
  v5BodySize: 50,
  v5Body: 54,
} as const;
/**
 * Absolute offsets in a v3 quote (fixed up to the auth data; the certification data follows at
 * qeAuthData + N where N is the u16 at qeAuthDataSize, i.e. 1046 with Intel's 32-byte auth data).
 */
export const QuoteV3Offsets = {
  header: 0,
  reportBody: 48,
  signatureDataLength: 432,
  signatureData: 436,
  signature: 436,
  attestPubKey: 500,
  qeReport: 564,
  qeReportSignature: 948,
  qeAuthDataSize: 1012,
  qeAuthData: 1014,
} as const;
/** Inside the signature data: signature ‖ attestation key ‖ (v3) QE report certification | (v4/v5) cert data type 6. */
export const SignatureDataOffsets = { signature: 0, attestPubKey: 64, rest: 128 } as const;
export const ATTEST_PUB_KEY_SIZE = 64;
export const SIGNATURE_DATA_LENGTH_SIZE = 4;
/** S1 covers header ‖ report body in a v3 quote: bytes [0, 432). */
export const QUOTE_V3_SIGNED_LENGTH = QUOTE_HEADER_SIZE + REPORT_BODY_SIZE;
/** Offset of signature_data_len in v3 (and v4-SGX) quotes. */
export const QUOTE_V3_SIGNATURE_DATA_LENGTH_OFFSET = QUOTE_V3_SIGNED_LENGTH;
/** Smallest possible v3 quote (Intel QVL QUOTE_MIN_BYTE_LEN). */
export const QUOTE_V3_MIN_SIZE = 1020;
/** No real quote is near this; a larger input is refused before any parsing. */
export const MAX_QUOTE_SIZE = 1024 * 1024;

/** v5 body types (sgx_quote_5.h). */
export const QuoteBodyType = { SGX: 1, TD10: 2, TD15: 3 } as const;

export type QuoteBody =
  | { type: 'sgx'; report: ReportBody }
  | { type: 'td10'; report: TdReportBody10 }
  | { type: 'td15'; report: TdReportBody15 };

export interface Quote {
  version: QuoteVersion;
  header: QuoteHeader;
  body: QuoteBody;
  /** The attestation key signs bytes [0, signedLength). */
  signedLength: number;
  signatureDataLength: number;
  signature: Buffer;
  attestPubKey: Buffer;
  /** What the PCK certifies. v3: from the signature data; v4/v5: the type-6 payload. encodeQuote() writes this. */
  qe: QeReportCertification;
  /** v3: same object as qe.certificationData; v4/v5: the type-6 wrapper (its payload is `qe`). */
  outerCertificationData: CertificationData;
  /** Bytes after the signature data: reported, never judged here. */
  trailing: Buffer;
  raw: Buffer;
}

const BODY_SIZES: Record<QuoteBody['type'], number> = {
  sgx: REPORT_BODY_SIZE,
  td10: TD_REPORT_BODY_10_SIZE,
  td15: TD_REPORT_BODY_15_SIZE,
};
const BODY_TYPE_NUMBER: Record<QuoteBody['type'], number> = { sgx: QuoteBodyType.SGX, td10: QuoteBodyType.TD10, td15: QuoteBodyType.TD15 };

export function parseQuote(input: Uint8Array): Quote {
  const buf = asBuffer(input, 'quote');
  if (buf.length > MAX_QUOTE_SIZE) {
    throw new SgxParseError('OVERSIZE', 'quote', MAX_QUOTE_SIZE, `is ${buf.length} bytes, more than the ${MAX_QUOTE_SIZE} accepted`);
  }
  const r = new ByteReader(buf);
  const header = parseQuoteHeader(buf, QuoteOffsets.header);
  const { body, bodyEnd } = parseBody(buf, header);
  const signedLength = bodyEnd;

  const signatureDataLength = r.u32(signedLength, 'quote.signatureDataLength');
  const sigStart = signedLength + SIGNATURE_DATA_LENGTH_SIZE;
  const sigEnd = sigStart + signatureDataLength;
  if (sigEnd > buf.length) {
    throw new SgxParseError('TRUNCATED', 'quote.signatureDataLength', signedLength,
      `signature data length ${signatureDataLength} exceeds the ${buf.length - sigStart} bytes present`);
  }
  const signature = r.bytes(sigStart + SignatureDataOffsets.signature, ECDSA_SIGNATURE_SIZE, 'quote.signatureData.signature');
  const attestPubKey = r.bytes(sigStart + SignatureDataOffsets.attestPubKey, ATTEST_PUB_KEY_SIZE, 'quote.signatureData.attestPubKey');
  if (sigStart + SignatureDataOffsets.rest > sigEnd) {
    throw new SgxParseError('INCONSISTENT_LENGTH', 'quote.signatureDataLength', signedLength,
      `signature data length ${signatureDataLength} is too small for the signature and attestation key`);
  }
  const restOffset = sigStart + SignatureDataOffsets.rest;

  let qe: QeReportCertification;
  let outerCertificationData: CertificationData;
  if (header.version === 3) {
    qe = parseQeReportCertification(buf, restOffset, sigEnd, 'quote.signatureData');
    outerCertificationData = qe.certificationData;
  } else {
    outerCertificationData = parseCertificationData(buf, restOffset, sigEnd, 'quote.signatureData.certificationData', true);
    if (outerCertificationData.type !== CertType.ECDSA_SIG_AUX_DATA) {
      throw new SgxParseError('UNSUPPORTED_CERT_TYPE', 'quote.signatureData.certificationData.type', restOffset,
        `a version ${header.version} quote must carry certification data type 6, got ${outerCertificationData.type}`);
    }
    qe = outerCertificationData.qeReportCertification;
  }

  return {
    version: header.version,
    header,
    body,
    signedLength,
    signatureDataLength,
    signature,
    attestPubKey,
    qe,
    outerCertificationData,
    trailing: r.bytes(sigEnd, buf.length - sigEnd, 'quote.trailing'),
    raw: Buffer.from(buf),
  };
}

function parseBody(buf: Buffer, header: QuoteHeader): { body: QuoteBody; bodyEnd: number } {
  const r = new ByteReader(buf);
  if (header.version !== 5) {
    const off = QuoteOffsets.body;
    if (header.teeType === TEE_TYPE_SGX) {
      return { body: { type: 'sgx', report: parseReportBody(buf, off, 'quote.reportBody') }, bodyEnd: off + REPORT_BODY_SIZE };
    }
    return { body: { type: 'td10', report: parseTdReportBody10(buf, off, 'quote.tdReport') }, bodyEnd: off + TD_REPORT_BODY_10_SIZE };
  }
  const bodyType = r.u16(QuoteOffsets.v5BodyType, 'quote.bodyType');
  const bodySize = r.u32(QuoteOffsets.v5BodySize, 'quote.bodySize');
  const kind = (Object.keys(BODY_TYPE_NUMBER) as QuoteBody['type'][]).find((k) => BODY_TYPE_NUMBER[k] === bodyType);
  if (!kind) {
    throw new SgxParseError('UNSUPPORTED_BODY_TYPE', 'quote.bodyType', QuoteOffsets.v5BodyType,
      `body type ${bodyType} is not supported (1 = SGX, 2 = TD 1.0, 3 = TD 1.5)`);
  }
  if (bodySize !== BODY_SIZES[kind]) {
    throw new SgxParseError('INCONSISTENT_LENGTH', 'quote.bodySize', QuoteOffsets.v5BodySize,
      `body type ${bodyType} needs size ${BODY_SIZES[kind]}, the quote says ${bodySize}`);
  }
  if ((kind === 'sgx') !== (header.teeType === TEE_TYPE_SGX)) {
    throw new SgxParseError('INVALID_VALUE', 'quote.bodyType', QuoteOffsets.v5BodyType,
      `body type ${bodyType} does not match TEE type 0x${header.teeType.toString(16)}`);
  }
  const off = QuoteOffsets.v5Body;
  const body: QuoteBody =
    kind === 'sgx'
      ? { type: 'sgx', report: parseReportBody(buf, off, 'quote.reportBody') }
      : kind === 'td10'
        ? { type: 'td10', report: parseTdReportBody10(buf, off, 'quote.tdReport') }
        : { type: 'td15', report: parseTdReportBody15(buf, off, 'quote.tdReport') };
  return { body, bodyEnd: off + bodySize };
}

function encodeBody(q: Quote): Buffer {
  const b = q.body;
  const enc =
    b.type === 'sgx'
      ? encodeReportBody(b.report, 'quote.reportBody')
      : b.type === 'td10'
        ? encodeTdReportBody10(b.report, 'quote.tdReport')
        : encodeTdReportBody15(b.report, 'quote.tdReport');
  if (q.header.version !== 5) {
    const expected = q.header.teeType === TEE_TYPE_TDX ? 'td10' : 'sgx';
    if (b.type !== expected) {
      throw new SgxParseError('INVALID_VALUE', 'quote.body.type', QuoteOffsets.body,
        `a version ${q.header.version} quote with TEE type 0x${q.header.teeType.toString(16)} needs a ${expected} body, got ${b.type}`);
    }
    return enc;
  }
  const prefix = Buffer.alloc(QuoteOffsets.v5Body - QuoteOffsets.v5BodyType);
  prefix.writeUInt16LE(BODY_TYPE_NUMBER[b.type], QuoteOffsets.v5BodyType - QuoteOffsets.v5BodyType);
  prefix.writeUInt32LE(enc.length, QuoteOffsets.v5BodySize - QuoteOffsets.v5BodyType);
  return Buffer.concat([prefix, enc]);
}

/**
 * Encode a parsed (possibly edited) quote. Lengths are recomputed from the content; `qe` is the source of
 * the QE report certification for every version. Byte-identical to the input for an unedited parse.
 */
export function encodeQuote(q: Quote): Buffer {
  if (q.version !== q.header.version) {
    throw new SgxParseError('INVALID_VALUE', 'quote.version', 0, `quote.version ${q.version} differs from header.version ${q.header.version}`);
  }
  const head = Buffer.concat([encodeQuoteHeader(q.header), encodeBody(q)]);
  const sig = checkFieldSize(q.signature, ECDSA_SIGNATURE_SIZE, 'quote.signatureData.signature', head.length + 4);
  const key = checkFieldSize(q.attestPubKey, ATTEST_PUB_KEY_SIZE, 'quote.signatureData.attestPubKey', head.length + 68);
  const rest =
    q.version === 3
      ? encodeQeReportCertification(q.qe, 'quote.signatureData')
      : encodeRawCertificationData(CertType.ECDSA_SIG_AUX_DATA, encodeQeReportCertification(q.qe, 'quote.qe'),
          'quote.signatureData.certificationData');
  const sigData = Buffer.concat([sig, key, rest]);
  const len = Buffer.alloc(SIGNATURE_DATA_LENGTH_SIZE);
  len.writeUInt32LE(sigData.length);
  return Buffer.concat([head, len, sigData, q.trailing ?? Buffer.alloc(0)]);
}

/** The innermost type-5 PCK chain, ordered leaf first whatever the order in the quote, or undefined when the quote carries another cert type. */
export function pckCertChainPem(q: Quote): string[] | undefined {
  const cd = q.qe.certificationData;
  return cd.type === CertType.PCK_CERT_CHAIN ? orderChainLeafFirst(cd.certificatesPem) : undefined;
}

export interface QuoteV3Parts {
  header: { qeSvn: number; pceSvn: number; userData: Buffer; vendorId?: Buffer };
  reportBody: Buffer;
  signature: Buffer;
  attestPubKey: Buffer;
  qeReport: Buffer;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  certificationData: { type: number; data: Buffer };
}

/** header ‖ report body: exactly the bytes the attestation key signs (S1) in a v3 quote. */
export function quoteV3SignedData(header: QuoteV3Parts['header'], reportBody: Buffer): Buffer {
  const h = encodeQuoteHeader({
    version: 3,
    attKeyType: ATT_KEY_TYPE_ECDSA_P256,
    teeType: TEE_TYPE_SGX,
    qeSvn: header.qeSvn,
    pceSvn: header.pceSvn,
    vendorId: header.vendorId ?? INTEL_QE_VENDOR_ID,
    userData: checkFieldSize(header.userData, QUOTE_USER_DATA_SIZE, 'quote.header.userData', 28),
  });
  return Buffer.concat([h, checkFieldSize(reportBody, REPORT_BODY_SIZE, 'quote.reportBody', QuoteOffsets.body)]);
}

/** Assemble a v3 ECDSA quote from its parts (the simulator's QE uses this). */
export function buildQuoteV3(parts: QuoteV3Parts): Buffer {
  const signed = quoteV3SignedData(parts.header, parts.reportBody);
  const sigStart = QUOTE_V3_SIGNED_LENGTH + SIGNATURE_DATA_LENGTH_SIZE;
  const qeStart = sigStart + SignatureDataOffsets.rest;
  const O = QeReportCertificationOffsets;
  const auth = parts.qeAuthData;
  if (!(auth instanceof Uint8Array)) throw new SgxParseError('INVALID_VALUE', 'quote.qeAuthData', qeStart + O.authData, 'missing');
  checkUint(auth.length, 16, 'quote.qeAuthData.size', qeStart + O.authDataSize);
  const authSize = Buffer.alloc(2);
  authSize.writeUInt16LE(auth.length);
  const sigData = Buffer.concat([
    checkFieldSize(parts.signature, ECDSA_SIGNATURE_SIZE, 'quote.signatureData.signature', sigStart),
    checkFieldSize(parts.attestPubKey, ATTEST_PUB_KEY_SIZE, 'quote.signatureData.attestPubKey', sigStart + 64),
    checkFieldSize(parts.qeReport, REPORT_BODY_SIZE, 'quote.signatureData.qeReport', qeStart + O.qeReport),
    checkFieldSize(parts.qeReportSignature, ECDSA_SIGNATURE_SIZE, 'quote.signatureData.qeReportSignature', qeStart + O.qeReportSignature),
    authSize,
    auth,
    encodeRawCertificationData(parts.certificationData.type, parts.certificationData.data, 'quote.signatureData.certificationData'),
  ]);
  const len = Buffer.alloc(SIGNATURE_DATA_LENGTH_SIZE);
  len.writeUInt32LE(sigData.length);
  return Buffer.concat([signed, len, sigData]);
}
