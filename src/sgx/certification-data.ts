import { ByteReader, checkFieldSize, checkUint } from './bytes.js';
import { readDerTlv } from './der-tlv.js';
import { SgxParseError } from './errors.js';
import { encodeReportBody, parseReportBody, type ReportBody } from './report-body.js';

/** sgx_ql_cert_key_type_t values (sgx_quote_3.h). */
export const CertType = {
  PPID_CLEARTEXT: 1,
  PPID_RSA2048_ENCRYPTED: 2,
  PPID_RSA3072_ENCRYPTED: 3,
  PCK_CLEARTEXT: 4,
  PCK_CERT_CHAIN: 5,
  ECDSA_SIG_AUX_DATA: 6,
} as const;

export const CERT_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(CertType).map(([k, v]) => [v, k]),
);

/** sgx_ql_certification_data_t: u16 type ‖ u32 size ‖ data. */
export const CertificationDataOffsets = { type: 0, size: 2, data: 6 } as const;
export const CERTIFICATION_DATA_HEADER_SIZE = 6;

/** sgx_qe_report_certification_data_t (and the tail of v3's sgx_ql_ecdsa_sig_data_t). */
export const QeReportCertificationOffsets = { qeReport: 0, qeReportSignature: 384, authDataSize: 448, authData: 450 } as const;
export const ECDSA_SIGNATURE_SIZE = 64;

/** PPID certification data (types 1–3): enc/clear PPID ‖ CPUSVN[16] ‖ PCESVN u16 ‖ PCEID u16. */
const PPID_SIZE: Record<number, number> = { 1: 16, 2: 256, 3: 384 };
const PPID_TAIL_SIZE = 16 + 2 + 2;

export interface PpidInfo {
  encPpid?: Buffer;
  ppid?: Buffer;
  cpuSvn: Buffer;
  pceSvn: number;
  /** Absent in the legacy 34-byte form without PCE-ID (Intel's 2019 QVL sample quote). */
  pceId?: number;
}

export interface QeReportCertification {
  qeReport: ReportBody;
  qeReportRaw: Buffer;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  certificationData: CertificationData;
}

export type CertificationData =
  | { type: 1 | 2 | 3; data: Buffer; ppid: PpidInfo }
  | { type: 4; data: Buffer }
  | { type: 5; data: Buffer; encoding: 'pem' | 'der'; pemChain: string; certificatesPem: string[] }
  | { type: 6; data: Buffer; qeReportCertification: QeReportCertification };

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Parse certification data at `offset` that must end exactly at `end` (the enclosing length field says so).
 * `allowNested` is false inside a type 6 payload: nesting deeper is not a format Intel produces.
 */
export function parseCertificationData(
  buf: Buffer,
  offset: number,
  end: number,
  field: string,
  allowNested: boolean,
): CertificationData {
  const r = new ByteReader(buf);
  const O = CertificationDataOffsets;
  if (offset + CERTIFICATION_DATA_HEADER_SIZE > end) {
    throw new SgxParseError('INCONSISTENT_LENGTH', field, offset,
      `needs a ${CERTIFICATION_DATA_HEADER_SIZE}-byte header but the enclosing length leaves ${Math.max(0, end - offset)}`);
  }
  const type = r.u16(offset + O.type, `${field}.type`);
  const size = r.u32(offset + O.size, `${field}.size`);
  const dataOffset = offset + O.data;
  if (dataOffset + size !== end) {
    throw new SgxParseError('INCONSISTENT_LENGTH', `${field}.size`, offset + O.size,
      `certification data size ${size} does not match the ${end - dataOffset} bytes the enclosing length leaves`);
  }
  const data = r.bytes(dataOffset, size, `${field}.data`);
  switch (type) {
    case 1:
    case 2:
    case 3:
      return { type, data, ppid: parsePpid(type, data, dataOffset, `${field}.data`) };
    case 4:
      return { type, data };
    case 5:
      return { type, data, ...parsePemChain(data, dataOffset, `${field}.data`) };
    case 6:
      if (!allowNested) {
        throw new SgxParseError('UNSUPPORTED_CERT_TYPE', `${field}.type`, offset + O.type,
          'certification data type 6 cannot be nested inside type 6');
      }
      return { type, data, qeReportCertification: parseQeReportCertification(buf, dataOffset, end, `${field}.qeReportCertification`) };
    default:
      throw new SgxParseError('UNSUPPORTED_CERT_TYPE', `${field}.type`, offset + O.type,
        `certification data type ${type} is not supported (1-6)`);
  }
}

function parsePpid(type: 1 | 2 | 3, data: Buffer, base: number, field: string): PpidInfo {
  const ppidSize = PPID_SIZE[type];
  const full = ppidSize + PPID_TAIL_SIZE;
  if (data.length !== full && data.length !== full - 2) {
    throw new SgxParseError('INCONSISTENT_LENGTH', field, base,
      `type ${type} certification data must be ${full} bytes, got ${data.length}`);
  }
  const r = new ByteReader(data, base);
  const id = r.bytes(0, ppidSize, type === 1 ? `${field}.ppid` : `${field}.encPpid`);
  const info: PpidInfo = {
    cpuSvn: r.bytes(ppidSize, 16, `${field}.cpuSvn`),
    pceSvn: r.u16(ppidSize + 16, `${field}.pceSvn`),
  };
  if (data.length === full) info.pceId = r.u16(ppidSize + 18, `${field}.pceId`);
  if (type === 1) info.ppid = id;
  else info.encPpid = id;
  return info;
}

function parsePemChain(data: Buffer, base: number, field: string): { encoding: 'pem' | 'der'; pemChain: string; certificatesPem: string[] } {
  // latin1 keeps every byte, so odd bytes show up in the PEM instead of vanishing into U+FFFD.
  // Trailing NULs (Intel's QPL terminates the chain with one) are cut before decoding: no regex per quote.
  let textEnd = data.length;
  while (textEnd > 0 && data[textEnd - 1] === 0) textEnd--;
  const text = data.toString('latin1', 0, textEnd);
  const certificatesPem = text.match(PEM_CERT_RE) ?? [];
  if (certificatesPem.length > 0) {
    return { encoding: 'pem', pemChain: text, certificatesPem: certificatesPem.map((c) => `${c}\n`) };
  }
  // Intel's own QVL TDX sample quote carries the chain as concatenated DER certificates.
  const ders = splitDerSequences(data);
  if (ders) {
    const pems = ders.map(derToPem);
    return { encoding: 'der', pemChain: pems.join(''), certificatesPem: pems };
  }
  throw new SgxParseError('INVALID_ENCODING', field, base, 'type 5 certification data holds neither PEM nor DER certificates');
}

/** Split concatenated DER SEQUENCEs (optionally NUL-padded); undefined unless they cover the data exactly. */
function splitDerSequences(data: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let off = 0;
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  while (off < end) {
    const t = readDerTlv(data, off, end);
    if (!t || t.tag !== 0x30) return undefined;
    out.push(Buffer.from(data.subarray(off, t.end)));
    off = t.end;
  }
  return out.length > 0 ? out : undefined;
}

function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** QE report ‖ QE report signature ‖ u16 auth size ‖ auth data ‖ certification data, ending exactly at `end`. */
export function parseQeReportCertification(buf: Buffer, offset: number, end: number, field: string): QeReportCertification {
  const r = new ByteReader(buf);
  const O = QeReportCertificationOffsets;
  const fixedEnd = offset + O.authData;
  if (fixedEnd > end) {
    throw new SgxParseError(end <= buf.length ? 'INCONSISTENT_LENGTH' : 'TRUNCATED', field, offset,
      `needs at least ${O.authData + CERTIFICATION_DATA_HEADER_SIZE} bytes, the enclosing length leaves ${Math.max(0, end - offset)}`);
  }
  const qeReport = parseReportBody(buf, offset + O.qeReport, `${field}.qeReport`);
  const qeReportSignature = r.bytes(offset + O.qeReportSignature, ECDSA_SIGNATURE_SIZE, `${field}.qeReportSignature`);
  const authSize = r.u16(offset + O.authDataSize, `${field}.qeAuthData.size`);
  if (fixedEnd + authSize > end) {
    throw new SgxParseError('INCONSISTENT_LENGTH', `${field}.qeAuthData.size`, offset + O.authDataSize,
      `QE auth data size ${authSize} exceeds the ${end - fixedEnd} bytes left`);
  }
  const qeAuthData = r.bytes(fixedEnd, authSize, `${field}.qeAuthData`);
  const certificationData = parseCertificationData(buf, fixedEnd + authSize, end, `${field}.certificationData`, false);
  return { qeReport, qeReportRaw: qeReport.raw ?? encodeReportBody(qeReport), qeReportSignature, qeAuthData, certificationData };
}

export function encodeQeReportCertification(q: QeReportCertification, field = 'qeReportCertification'): Buffer {
  const O = QeReportCertificationOffsets;
  const head = Buffer.alloc(O.authData);
  encodeReportBody(q.qeReport, `${field}.qeReport`).copy(head, O.qeReport);
  checkFieldSize(q.qeReportSignature, ECDSA_SIGNATURE_SIZE, `${field}.qeReportSignature`, O.qeReportSignature)
    .copy(head, O.qeReportSignature);
  if (!(q.qeAuthData instanceof Uint8Array)) {
    throw new SgxParseError('INVALID_VALUE', `${field}.qeAuthData`, O.authData, 'missing');
  }
  head.writeUInt16LE(checkUint(q.qeAuthData.length, 16, `${field}.qeAuthData.size`, O.authDataSize), O.authDataSize);
  return Buffer.concat([head, q.qeAuthData, encodeCertificationData(q.certificationData, `${field}.certificationData`)]);
}

/** Type ‖ size ‖ data. Type 6 is re-encoded from its parsed structure, the others from `data`. */
export function encodeCertificationData(cd: CertificationData, field = 'certificationData'): Buffer {
  const data = cd.type === 6 ? encodeQeReportCertification(cd.qeReportCertification, `${field}.qeReportCertification`) : cd.data;
  return encodeRawCertificationData(cd.type, data, field);
}

export function encodeRawCertificationData(type: number, data: Buffer, field = 'certificationData'): Buffer {
  const O = CertificationDataOffsets;
  if (!(data instanceof Uint8Array)) throw new SgxParseError('INVALID_VALUE', `${field}.data`, O.data, 'missing');
  const head = Buffer.alloc(CERTIFICATION_DATA_HEADER_SIZE);
  head.writeUInt16LE(checkUint(type, 16, `${field}.type`, O.type), O.type);
  head.writeUInt32LE(checkUint(data.length, 32, `${field}.size`, O.size), O.size);
  return Buffer.concat([head, data]);
}

/** A type-5 certification data payload: the PEM chain, NUL-terminated as Intel's QPL does it. */
export function pemChainCertificationData(certificatesPem: string[]): Buffer {
  const text = certificatesPem.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0])]);
}
