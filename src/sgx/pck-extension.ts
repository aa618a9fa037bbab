import * as asn1js from 'asn1js';
import { readDerTlv } from './der-tlv.js';
import { SgxParseError } from './errors.js';

/** Intel's SGX extension in PCK certificates (non-critical) and its sub-OIDs (QVL ParserUtils.h). */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';
export const SgxExtensionOids = {
  PPID: `${SGX_EXTENSION_OID}.1`,
  TCB: `${SGX_EXTENSION_OID}.2`,
  PCESVN: `${SGX_EXTENSION_OID}.2.17`,
  CPUSVN: `${SGX_EXTENSION_OID}.2.18`,
  PCEID: `${SGX_EXTENSION_OID}.3`,
  FMSPC: `${SGX_EXTENSION_OID}.4`,
  SGX_TYPE: `${SGX_EXTENSION_OID}.5`,
  PLATFORM_INSTANCE_ID: `${SGX_EXTENSION_OID}.6`,
  CONFIGURATION: `${SGX_EXTENSION_OID}.7`,
  DYNAMIC_PLATFORM: `${SGX_EXTENSION_OID}.7.1`,
  CACHED_KEYS: `${SGX_EXTENSION_OID}.7.2`,
  SMT_ENABLED: `${SGX_EXTENSION_OID}.7.3`,
} as const;
export const tcbCompOid = (i: number): string => `${SgxExtensionOids.TCB}.${i}`; // i = 1..16
export const TCB_COMPONENT_COUNT = 16;
/** Entry counts Intel's QVL insists on (AttestationParsers.h). */
export const PROCESSOR_CA_EXTENSION_COUNT = 5;
export const PLATFORM_CA_EXTENSION_COUNT = 7;

export const SgxType = { STANDARD: 0, SCALABLE: 1, SCALABLE_WITH_INTEGRITY: 2 } as const;
export const SGX_TYPE_NAMES: Record<number, string> = { 0: 'Standard', 1: 'Scalable', 2: 'Scalable with Integrity' };

export interface PckExtension {
  ppid: Buffer; // 16
  tcb: { compSvns: number[]; pceSvn: number; cpuSvn: Buffer };
  pceId: Buffer; // 2
  fmspc: Buffer; // 6
  sgxType: number;
  platformInstanceId?: Buffer; // 16, platform-CA certs only
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

/**
 * One DER element of the extension value: its tag and where it lies (absolute offsets for errors). The
 * parse reads the bytes with readDerTlv (no object tree): it runs on every new PCK certificate.
 */
interface Block {
  der: Buffer;
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function fail(field: string, b: Pick<Block, 'start'> | undefined, base: number, detail: string, code: 'INVALID_ENCODING' | 'INVALID_VALUE' = 'INVALID_ENCODING'): never {
  throw new SgxParseError(code, field, base + (b ? b.start : 0), detail);
}

const TAG = { boolean: 0x01, integer: 0x02, octetString: 0x04, oid: 0x06, enumerated: 0x0a, sequence: 0x30 } as const;

function element(der: Buffer, off: number, limit: number, field: string, base: number): Block {
  const t = readDerTlv(der, off, limit);
  if (!t) fail(field, { start: off }, base, 'not valid DER: element does not fit its container');
  if ((t.tag & 0x1f) === 0x1f) fail(field, { start: off }, base, 'not valid DER: multi-byte tag');
  return { der, ...t };
}

function decodeDer(der: Buffer, field: string, base: number): Block {
  if (der.length === 0) fail(field, undefined, base, 'not valid DER: empty');
  const root = element(der, 0, der.length, field, base);
  if (root.end !== der.length) fail(field, { start: root.end }, base, `${der.length - root.end} bytes after the DER value`);
  return root;
}

function asSequence(b: Block | undefined, field: string, base: number): Block[] {
  if (!b || b.tag !== TAG.sequence) fail(field, b, base, 'expected a SEQUENCE');
  const out: Block[] = [];
  for (let off = b.contentStart; off < b.end; ) {
    const c = element(b.der, off, b.end, field, base);
    out.push(c);
    off = c.end;
  }
  return out;
}

const contents = (b: Block) => b.der.subarray(b.contentStart, b.end);

/** Dotted OBJECT IDENTIFIER, or undefined when the encoding is not one. */
function oidText(b: Block): string | undefined {
  const c = contents(b);
  if (c.length === 0 || c[c.length - 1] & 0x80) return undefined;
  const arcs: number[] = [];
  let v = 0;
  let fresh = true;
  for (let i = 0; i < c.length; i++) {
    if (fresh && c[i] === 0x80) return undefined; // non-minimal arc
    v = v * 128 + (c[i] & 0x7f);
    fresh = false;
    if (v > 2 ** 40) return undefined;
    if (!(c[i] & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
      fresh = true;
    }
  }
  return arcs.join('.');
}

/** SEQUENCE { OID, value } pairs. */
function entries(seq: Block, field: string, base: number): Map<string, { value: Block; at: Block }> {
  const out = new Map<string, { value: Block; at: Block }>();
  for (const item of asSequence(seq, field, base)) {
    const pair = asSequence(item, `${field}.entry`, base);
    const oid = pair[0];
    const id = pair.length === 2 && oid.tag === TAG.oid ? oidText(oid) : undefined;
    if (id === undefined) fail(`${field}.entry`, item, base, 'expected SEQUENCE { OBJECT IDENTIFIER, value }');
    if (out.has(id)) fail(`${field}[${id}]`, item, base, 'duplicate entry');
    out.set(id, { value: pair[1], at: item });
  }
  return out;
}

function required(m: Map<string, { value: Block; at: Block }>, oid: string, field: string, parent: Block, base: number): Block {
  const e = m.get(oid);
  if (!e) fail(field, parent, base, `missing entry ${oid}`, 'INVALID_VALUE');
  return e.value;
}

function octets(b: Block, size: number, field: string, base: number): Buffer {
  if (b.tag !== TAG.octetString) fail(field, b, base, 'expected an OCTET STRING');
  const v = Buffer.from(contents(b));
  if (v.length !== size) fail(field, b, base, `expected ${size} bytes, got ${v.length}`, 'INVALID_VALUE');
  return v;
}

function smallInt(b: Block, max: number, field: string, base: number, kind: 'INTEGER' | 'ENUMERATED' = 'INTEGER'): number {
  if (b.tag !== (kind === 'INTEGER' ? TAG.integer : TAG.enumerated)) fail(field, b, base, `expected an ${kind}`);
  const c = contents(b);
  if (c.length === 0) fail(field, b, base, `empty ${kind}`);
  let v = -1; // negative, or wider than any SVN: out of range
  if (c.length <= 4 && !(c[0] & 0x80)) {
    v = 0;
    for (const x of c) v = v * 256 + x;
  }
  if (v < 0 || v > max) fail(field, b, base, `value out of range 0..${max}`, 'INVALID_VALUE');
  return v;
}

function bool(b: Block, field: string, base: number): boolean {
  if (b.tag !== TAG.boolean || b.end - b.contentStart !== 1) fail(field, b, base, 'expected a BOOLEAN');
  return b.der[b.contentStart] !== 0;
}

/** Decode the extension's value (the contents of extnValue's OCTET STRING). */
export function parsePckExtension(extnValueDer: Uint8Array, base = 0): PckExtension {
  return typed('pckExtension', base, () => parsePckExtensionUnsafe(extnValueDer, base));
}

/** Anything unexpected (a bug, not input) is still reported as a typed parse error. */
function typed<T>(field: string, offset: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SgxParseError) throw e;
    throw new SgxParseError('INVALID_ENCODING', field, offset, `not valid DER (${(e as Error)?.message ?? String(e)})`);
  }
}

function parsePckExtensionUnsafe(extnValueDer: Uint8Array, base: number): PckExtension {
  const F = 'pckExtension';
  if (!(extnValueDer instanceof Uint8Array)) throw new SgxParseError('INVALID_VALUE', F, base, 'expected bytes');
  const der = Buffer.isBuffer(extnValueDer) ? extnValueDer : Buffer.from(extnValueDer.buffer, extnValueDer.byteOffset, extnValueDer.byteLength);
  const root = decodeDer(der, F, base);
  const top = entries(root, F, base);
  const tcbBlock = required(top, SgxExtensionOids.TCB, `${F}.tcb`, root, base);
  const tcb = entries(tcbBlock, `${F}.tcb`, base);
  const compSvns: number[] = [];
  for (let i = 1; i <= TCB_COMPONENT_COUNT; i++) {
    compSvns.push(smallInt(required(tcb, tcbCompOid(i), `${F}.tcb.comp${i}`, tcbBlock, base), 255, `${F}.tcb.comp${i}`, base));
  }
  const ext: PckExtension = {
    ppid: octets(required(top, SgxExtensionOids.PPID, `${F}.ppid`, root, base), 16, `${F}.ppid`, base),
    tcb: {
      compSvns,
      pceSvn: smallInt(required(tcb, SgxExtensionOids.PCESVN, `${F}.tcb.pceSvn`, tcbBlock, base), 0xffff, `${F}.tcb.pceSvn`, base),
      cpuSvn: octets(required(tcb, SgxExtensionOids.CPUSVN, `${F}.tcb.cpuSvn`, tcbBlock, base), 16, `${F}.tcb.cpuSvn`, base),
    },
    pceId: octets(required(top, SgxExtensionOids.PCEID, `${F}.pceId`, root, base), 2, `${F}.pceId`, base),
    fmspc: octets(required(top, SgxExtensionOids.FMSPC, `${F}.fmspc`, root, base), 6, `${F}.fmspc`, base),
    sgxType: smallInt(required(top, SgxExtensionOids.SGX_TYPE, `${F}.sgxType`, root, base), 0xff, `${F}.sgxType`, base, 'ENUMERATED'),
  };
  const pii = top.get(SgxExtensionOids.PLATFORM_INSTANCE_ID);
  if (pii) ext.platformInstanceId = octets(pii.value, 16, `${F}.platformInstanceId`, base);
  const conf = top.get(SgxExtensionOids.CONFIGURATION);
  if (conf) {
    const c = entries(conf.value, `${F}.configuration`, base);
    // Intel marks each of the three as optional inside Configuration; absent means false.
    const flag = (oid: string, name: string) => {
      const e = c.get(oid);
      return e ? bool(e.value, `${F}.configuration.${name}`, base) : false;
    };
    ext.configuration = {
      dynamicPlatform: flag(SgxExtensionOids.DYNAMIC_PLATFORM, 'dynamicPlatform'),
      cachedKeys: flag(SgxExtensionOids.CACHED_KEYS, 'cachedKeys'),
      smtEnabled: flag(SgxExtensionOids.SMT_ENABLED, 'smtEnabled'),
    };
  }
  return ext;
}

const pair = (oid: string, value: asn1js.AsnType) =>
  new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), value] });
const octetString = (b: Buffer) => new asn1js.OctetString({ valueHex: Uint8Array.from(b) });

function checkBytes(v: Buffer | undefined, size: number, field: string): Buffer {
  if (!(v instanceof Uint8Array) || v.length !== size) {
    throw new SgxParseError('INVALID_VALUE', field, 0, `must be ${size} bytes`);
  }
  return Buffer.from(v);
}

function checkInt(v: number, max: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new SgxParseError('INVALID_VALUE', field, 0, `must be an integer in 0..${max}`);
  return v;
}

/**
 * DER of the SGX extension value, in Intel's entry order: 5 entries, or 7 when platformInstanceId and
 * configuration are given (Platform-CA certificates). INTEGERs are minimal two's complement (128 → 02 02 00 80).
 */
export function encodePckExtension(ext: PckExtension): Buffer {
  const F = 'pckExtension';
  if (!Array.isArray(ext.tcb?.compSvns) || ext.tcb.compSvns.length !== TCB_COMPONENT_COUNT) {
    throw new SgxParseError('INVALID_VALUE', `${F}.tcb.compSvns`, 0, `must hold ${TCB_COMPONENT_COUNT} SVNs`);
  }
  if ((ext.platformInstanceId === undefined) !== (ext.configuration === undefined)) {
    throw new SgxParseError('INVALID_VALUE', `${F}.platformInstanceId`, 0,
      'platformInstanceId and configuration go together (Platform-CA certificates carry both)');
  }
  const tcb = ext.tcb.compSvns.map((svn, i) =>
    pair(tcbCompOid(i + 1), new asn1js.Integer({ value: checkInt(svn, 255, `${F}.tcb.compSvns[${i}]`) })),
  );
  tcb.push(pair(SgxExtensionOids.PCESVN, new asn1js.Integer({ value: checkInt(ext.tcb.pceSvn, 0xffff, `${F}.tcb.pceSvn`) })));
  tcb.push(pair(SgxExtensionOids.CPUSVN, octetString(checkBytes(ext.tcb.cpuSvn, 16, `${F}.tcb.cpuSvn`))));
  const items = [
    pair(SgxExtensionOids.PPID, octetString(checkBytes(ext.ppid, 16, `${F}.ppid`))),
    pair(SgxExtensionOids.TCB, new asn1js.Sequence({ value: tcb })),
    pair(SgxExtensionOids.PCEID, octetString(checkBytes(ext.pceId, 2, `${F}.pceId`))),
    pair(SgxExtensionOids.FMSPC, octetString(checkBytes(ext.fmspc, 6, `${F}.fmspc`))),
    pair(SgxExtensionOids.SGX_TYPE, new asn1js.Enumerated({ value: checkInt(ext.sgxType, 0xff, `${F}.sgxType`) })),
  ];
  if (ext.platformInstanceId && ext.configuration) {
    const c = ext.configuration;
    items.push(pair(SgxExtensionOids.PLATFORM_INSTANCE_ID, octetString(checkBytes(ext.platformInstanceId, 16, `${F}.platformInstanceId`))));
    items.push(
      pair(SgxExtensionOids.CONFIGURATION, new asn1js.Sequence({
        value: [
          pair(SgxExtensionOids.DYNAMIC_PLATFORM, new asn1js.Boolean({ value: !!c.dynamicPlatform })),
          pair(SgxExtensionOids.CACHED_KEYS, new asn1js.Boolean({ value: !!c.cachedKeys })),
          pair(SgxExtensionOids.SMT_ENABLED, new asn1js.Boolean({ value: !!c.smtEnabled })),
        ],
      })),
    );
  }
  return Buffer.from(new asn1js.Sequence({ value: items }).toBER());
}

/** PEM (first CERTIFICATE block) or DER → DER. */
export function certificateDer(certDerOrPem: Uint8Array | string): Buffer {
  let text: string;
  if (typeof certDerOrPem === 'string') {
    text = certDerOrPem;
  } else {
    const buf = Buffer.from(certDerOrPem);
    // DER starts with a SEQUENCE tag; anything carrying a PEM marker is treated as text.
    if (buf[0] === 0x30 || !buf.includes('-----BEGIN CERTIFICATE-----')) return buf;
    text = buf.toString('latin1');
  }
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  if (!m) throw new SgxParseError('INVALID_ENCODING', 'certificate', 0, 'no PEM CERTIFICATE block');
  const b64 = m[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new SgxParseError('INVALID_ENCODING', 'certificate', m.index, 'PEM body is not base64');
  return Buffer.from(b64, 'base64');
}

/**
 * Find the SGX extension in an X.509 certificate (walks tbsCertificate → [3] extensions, since
 * node:crypto cannot read custom extensions) and decode it. Offsets in errors are DER offsets.
 */
export function pckExtensionFromCertificate(certDerOrPem: Uint8Array | string): PckExtension {
  return typed('certificate', 0, () => pckExtensionFromCertificateUnsafe(certDerOrPem));
}

function pckExtensionFromCertificateUnsafe(certDerOrPem: Uint8Array | string): PckExtension {
  const der = certificateDer(certDerOrPem);
  const cert = decodeDer(der, 'certificate', 0);
  const tbs = asSequence(cert, 'certificate', 0)[0];
  const tbsItems = asSequence(tbs, 'certificate.tbsCertificate', 0);
  const extsWrapper = tbsItems.find((b) => b.tag === 0xa3); // [3] EXPLICIT extensions
  if (!extsWrapper) fail('certificate.extensions', tbs, 0, 'certificate has no extensions', 'INVALID_VALUE');
  const exts = asSequence(element(der, extsWrapper.contentStart, extsWrapper.end, 'certificate.extensions', 0), 'certificate.extensions', 0);
  for (const ext of exts) {
    const parts = asSequence(ext, 'certificate.extensions.extension', 0);
    const oid = parts[0];
    if (!oid || oid.tag !== TAG.oid || oidText(oid) !== SGX_EXTENSION_OID) continue;
    const value = parts[parts.length - 1];
    if (value.tag !== TAG.octetString) fail('certificate.extensions.sgx', value, 0, 'extnValue is not an OCTET STRING');
    return parsePckExtension(Buffer.from(contents(value)), value.contentStart);
  }
  return fail('certificate.extensions', extsWrapper, 0, `no SGX extension (${SGX_EXTENSION_OID})`, 'INVALID_VALUE');
}
