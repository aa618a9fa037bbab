import { parseAttributes, writeAttributes, type Attributes } from './attributes.js';
import { asBuffer, ByteReader, checkFieldSize, checkUint, expectExactSize } from './bytes.js';

/** sgx_target_info_t: who a REPORT is for. */
export const TARGET_INFO_SIZE = 512;
export const TargetInfoOffsets = {
  mrEnclave: 0,
  attributes: 32,
  reserved1: 48,
  configSvn: 50,
  miscSelect: 52,
  reserved2: 56,
  configId: 64,
  reserved3: 128,
} as const;

export interface TargetInfo {
  mrEnclave: Buffer;
  attributes: Attributes;
  configSvn: number;
  miscSelect: number;
  configId: Buffer;
  /** The 512 bytes as parsed; encoding starts from them so reserved bytes survive a round trip. */
  raw?: Buffer;
}

export function parseTargetInfo(input: Uint8Array): TargetInfo {
  const buf = asBuffer(input, 'targetInfo');
  expectExactSize(buf, TARGET_INFO_SIZE, 'targetInfo');
  const r = new ByteReader(buf);
  const O = TargetInfoOffsets;
  return {
    mrEnclave: r.bytes(O.mrEnclave, 32, 'targetInfo.mrEnclave'),
    attributes: parseAttributes(buf, O.attributes, 'targetInfo.attributes'),
    configSvn: r.u16(O.configSvn, 'targetInfo.configSvn'),
    miscSelect: r.u32(O.miscSelect, 'targetInfo.miscSelect'),
    configId: r.bytes(O.configId, 64, 'targetInfo.configId'),
    raw: r.bytes(0, TARGET_INFO_SIZE, 'targetInfo'),
  };
}

export function encodeTargetInfo(t: TargetInfo): Buffer {
  const O = TargetInfoOffsets;
  const out = t.raw ? checkFieldSize(t.raw, TARGET_INFO_SIZE, 'targetInfo.raw', 0) : Buffer.alloc(TARGET_INFO_SIZE);
  checkFieldSize(t.mrEnclave, 32, 'targetInfo.mrEnclave', O.mrEnclave).copy(out, O.mrEnclave);
  writeAttributes(out, O.attributes, t.attributes, 'targetInfo.attributes');
  out.writeUInt16LE(checkUint(t.configSvn, 16, 'targetInfo.configSvn', O.configSvn), O.configSvn);
  out.writeUInt32LE(checkUint(t.miscSelect, 32, 'targetInfo.miscSelect', O.miscSelect), O.miscSelect);
  checkFieldSize(t.configId, 64, 'targetInfo.configId', O.configId).copy(out, O.configId);
  return out;
}
