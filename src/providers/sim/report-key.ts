import { encodeAttributes, type Attributes } from '../../sgx/attributes.js';
import { aesCmac } from './cmac.js';
import { SimInputError } from './errors.js';

/**
 * Report-key derivation exactly as Intel's SGX simulator does it (spec §6): the key is
 * AES-128-CMAC(base report key, dd_report_key_t). EREPORT fills the enclave-identity fields from the
 * TARGET's TARGETINFO; EGETKEY (in the target, to check a MAC) fills them from the target's own SECS.
 * Both sides therefore get the same key only when the report was made for that target.
 */

/** The platform-wide inputs of every report key (the secret part of the state dir). */
export interface ReportKeySecret {
  /** 16-byte base key (hardware: fused secret). */
  baseReportKey: Buffer;
  /** 16-byte owner epoch (hardware: OWNEREPOCH MSRs). */
  ownerEpoch: Buffer;
  /** 32-byte KEYID put in every REPORT (hardware: CR_REPORT_KEYID, random per boot). */
  keyId: Buffer;
  /** 16-byte current CPUSVN. */
  cpuSvn: Buffer;
}

/** The identity fields of the enclave a report key belongs to (TARGETINFO / own SECS). */
export interface ReportKeyTarget {
  mrEnclave: Buffer;
  attributes: Attributes;
  miscSelect: number;
  configSvn: number;
  configId: Buffer;
}

/** Layout of dd_report_key_t (C natural alignment, 192 bytes, padding zero); spec §6 table. */
export const DD_REPORT_KEY_SIZE = 192;
export const DdReportKeyOffsets = {
  keyName: 0,
  attributes: 8,
  miscSelect: 24,
  ownerEpoch: 28,
  mrEnclave: 44,
  cpuSvn: 76,
  configSvn: 92,
  configId: 94,
  keyId: 158,
} as const;
/** sgx_key_request_t key_name for the REPORT key. */
export const SGX_KEYSELECT_REPORT = 3;

function need(buf: Buffer, size: number, field: string): Buffer {
  if (!Buffer.isBuffer(buf) || buf.length !== size) {
    throw new SimInputError('INVALID_SIZE', `${field} must be ${size} bytes, got ${buf?.length ?? 'none'}`, field);
  }
  return buf;
}

/** Build the 192-byte derivation data for `target` under the platform `secret` and report `keyId`. */
export function reportKeyDerivationData(secret: ReportKeySecret, target: ReportKeyTarget, keyId: Buffer): Buffer {
  const O = DdReportKeyOffsets;
  const dd = Buffer.alloc(DD_REPORT_KEY_SIZE);
  dd.writeUInt16LE(SGX_KEYSELECT_REPORT, O.keyName);
  encodeAttributes(target.attributes, 'target.attributes').copy(dd, O.attributes);
  dd.writeUInt32LE(target.miscSelect >>> 0, O.miscSelect);
  need(secret.ownerEpoch, 16, 'ownerEpoch').copy(dd, O.ownerEpoch);
  need(target.mrEnclave, 32, 'target.mrEnclave').copy(dd, O.mrEnclave);
  need(secret.cpuSvn, 16, 'cpuSvn').copy(dd, O.cpuSvn);
  dd.writeUInt16LE(target.configSvn & 0xffff, O.configSvn);
  need(target.configId, 64, 'target.configId').copy(dd, O.configId);
  need(keyId, 32, 'keyId').copy(dd, O.keyId);
  return dd;
}

/** The 16-byte report key of `target` for reports carrying `keyId`. */
export function deriveReportKey(secret: ReportKeySecret, target: ReportKeyTarget, keyId: Buffer): Buffer {
  return aesCmac(need(secret.baseReportKey, 16, 'baseReportKey'), reportKeyDerivationData(secret, target, keyId));
}
