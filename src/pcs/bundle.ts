import { readFile } from 'node:fs/promises';
import { rawMemberText } from './json-span.js';
import type { Collateral } from './types.js';

/** Why a collateral bundle could not be read. Stable codes: the CLI and verifier switch on them. */
export type CollateralFormatErrorCode = 'UNREADABLE' | 'INVALID_JSON' | 'MISSING_FIELD' | 'INVALID_FIELD';

export class CollateralFormatError extends Error {
  constructor(
    readonly code: CollateralFormatErrorCode,
    readonly field: string,
    detail: string,
  ) {
    // One line: JSON.parse messages quote the offending input, which may hold control characters.
    super(`collateral ${field}: ${detail.replace(/[\x00-\x1f\x7f]+/g, ' ')} (${code})`);
    this.name = 'CollateralFormatError';
  }
}

/** Marker of our own bundle format (camelCase fields of `Collateral`, bytes as lowercase hex). */
export const BUNDLE_FORMAT = 'sgx-quote-helper/collateral-v1';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Bytes fields arrive as hex text of DER (dcap-qvl, PCCS `rootcacrl`), PEM (Intel QvE accepts it),
 * a JSON byte array (dcap-qvl's other form) or a Buffer. Accept all, like Intel's `check_pem_crl`/`check_hex_crl`.
 */
function bytesField(obj: Record<string, unknown>, key: string, required: true): Buffer;
function bytesField(obj: Record<string, unknown>, key: string, required: false): Buffer | undefined;
function bytesField(obj: Record<string, unknown>, key: string, required: boolean): Buffer | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new CollateralFormatError('MISSING_FIELD', key, 'is missing');
    return undefined;
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) {
    if (!v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw new CollateralFormatError('INVALID_FIELD', key, 'byte array holds a value outside 0..255');
    }
    return Buffer.from(v as number[]);
  }
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.includes('-----BEGIN')) {
      const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(s);
      if (!m) throw new CollateralFormatError('INVALID_FIELD', key, 'PEM block is not terminated');
      return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
    }
    if (!HEX_RE.test(s)) throw new CollateralFormatError('INVALID_FIELD', key, 'is neither hex, PEM nor a byte array');
    return Buffer.from(s, 'hex');
  }
  throw new CollateralFormatError('INVALID_FIELD', key, `has type ${typeof v}, expected hex text or bytes`);
}

function stringField(obj: Record<string, unknown>, key: string, required: true): string;
function stringField(obj: Record<string, unknown>, key: string, required: false): string | undefined;
function stringField(obj: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new CollateralFormatError('MISSING_FIELD', key, 'is missing');
    return undefined;
  }
  if (typeof v !== 'string') throw new CollateralFormatError('INVALID_FIELD', key, `has type ${typeof v}, expected a string`);
  return v;
}

function asObject(json: unknown, what: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CollateralFormatError('INVALID_JSON', what, 'is not a JSON object');
  }
  return json as Record<string, unknown>;
}

/** TDX when the signed TCB info says `"id":"TDX"`; v2 TCB info (no id) is SGX-only. */
function teeTypeOf(tcbInfoBody: string): 'SGX' | 'TDX' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(tcbInfoBody);
  } catch {
    // The verifier reports a malformed TCB info with its own reason; the container itself is fine.
    return 'SGX';
  }
  return typeof parsed === 'object' && parsed !== null && (parsed as { id?: unknown }).id === 'TDX' ? 'TDX' : 'SGX';
}

/** Parse `@phala/dcap-qvl`'s `QuoteCollateralV3` JSON (snake_case; CRLs and signatures as hex or byte arrays). */
export function collateralFromDcapQvlJson(json: unknown): Collateral {
  const o = asObject(json, 'QuoteCollateralV3');
  const tcbInfoBody = stringField(o, 'tcb_info', true);
  const c: Collateral = {
    teeType: teeTypeOf(tcbInfoBody),
    pckCrlIssuerChain: stringField(o, 'pck_crl_issuer_chain', true),
    rootCaCrl: bytesField(o, 'root_ca_crl', true),
    pckCrl: bytesField(o, 'pck_crl', true),
    tcbInfoIssuerChain: stringField(o, 'tcb_info_issuer_chain', true),
    tcbInfoBody,
    tcbInfoSignature: bytesField(o, 'tcb_info_signature', true),
    qeIdentityIssuerChain: stringField(o, 'qe_identity_issuer_chain', true),
    qeIdentityBody: stringField(o, 'qe_identity', true),
    qeIdentitySignature: bytesField(o, 'qe_identity_signature', true),
  };
  const chain = stringField(o, 'pck_certificate_chain', false);
  if (chain !== undefined) c.pckCertificateChain = chain;
  return c;
}

/** The inverse lives with the `Collateral` type (the simulator converts its collateral with it too). */
export { collateralToDcapQvlJson } from '../providers/collateral.js';

/** Our own bundle: `{ "format": BUNDLE_FORMAT, ...Collateral }` with bytes as hex. */
export function collateralToBundleJson(c: Collateral): Record<string, string> {
  const out: Record<string, string> = {
    format: BUNDLE_FORMAT,
    teeType: c.teeType,
    pckCrlIssuerChain: c.pckCrlIssuerChain,
    rootCaCrl: c.rootCaCrl.toString('hex'),
    pckCrl: c.pckCrl.toString('hex'),
    tcbInfoIssuerChain: c.tcbInfoIssuerChain,
    tcbInfoBody: c.tcbInfoBody,
    tcbInfoSignature: c.tcbInfoSignature.toString('hex'),
    qeIdentityIssuerChain: c.qeIdentityIssuerChain,
    qeIdentityBody: c.qeIdentityBody,
    qeIdentitySignature: c.qeIdentitySignature.toString('hex'),
  };
  if (c.pckCertificateChain !== undefined) out.pckCertificateChain = c.pckCertificateChain;
  return out;
}

/**
 * Our bundle may carry the signed bodies either split (`tcbInfoBody` + `tcbInfoSignature`) or as whole PCS
 * responses (`tcbInfo` = `{"tcbInfo":…,"signature":…}` text), which is what PCS/PCCS serve.
 */
function signedPart(o: Record<string, unknown>, bodyKey: string, sigKey: string, pcsKey: string, inner: string) {
  if (o[bodyKey] !== undefined) return { body: stringField(o, bodyKey, true), signature: bytesField(o, sigKey, true) };
  const whole = stringField(o, pcsKey, false);
  if (whole === undefined) throw new CollateralFormatError('MISSING_FIELD', bodyKey, `is missing (nor is ${pcsKey} given)`);
  const split = splitSignedPcsBody(whole, inner);
  return { body: split.body, signature: split.signature };
}

export function collateralFromBundleJson(json: unknown): Collateral {
  const o = asObject(json, 'bundle');
  const tcb = signedPart(o, 'tcbInfoBody', 'tcbInfoSignature', 'tcbInfo', 'tcbInfo');
  const qe = signedPart(o, 'qeIdentityBody', 'qeIdentitySignature', 'qeIdentity', 'enclaveIdentity');
  const tee = stringField(o, 'teeType', false);
  if (tee !== undefined && tee !== 'SGX' && tee !== 'TDX') {
    throw new CollateralFormatError('INVALID_FIELD', 'teeType', `is ${JSON.stringify(tee)}, expected "SGX" or "TDX"`);
  }
  const c: Collateral = {
    teeType: (tee as 'SGX' | 'TDX' | undefined) ?? teeTypeOf(tcb.body),
    pckCrlIssuerChain: stringField(o, 'pckCrlIssuerChain', true),
    rootCaCrl: bytesField(o, 'rootCaCrl', true),
    pckCrl: bytesField(o, 'pckCrl', true),
    tcbInfoIssuerChain: stringField(o, 'tcbInfoIssuerChain', true),
    tcbInfoBody: tcb.body,
    tcbInfoSignature: tcb.signature,
    qeIdentityIssuerChain: stringField(o, 'qeIdentityIssuerChain', true),
    qeIdentityBody: qe.body,
    qeIdentitySignature: qe.signature,
  };
  const chain = stringField(o, 'pckCertificateChain', false);
  if (chain !== undefined) c.pckCertificateChain = chain;
  return c;
}

/** Either accepted bundle shape, told apart by its keys (our `format` marker / camelCase vs dcap-qvl snake_case). */
export function parseCollateralBundle(text: string | Buffer): Collateral {
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch (e) {
    throw new CollateralFormatError('INVALID_JSON', 'bundle', `is not valid JSON (${(e as Error).message})`);
  }
  const o = asObject(json, 'bundle');
  if (o.format !== undefined && o.format !== BUNDLE_FORMAT) {
    throw new CollateralFormatError('INVALID_FIELD', 'format', `is ${JSON.stringify(o.format)}, expected "${BUNDLE_FORMAT}"`);
  }
  if (o.format === BUNDLE_FORMAT || 'pckCrlIssuerChain' in o) return collateralFromBundleJson(o);
  return collateralFromDcapQvlJson(o);
}

/** Read a bundle file (dcap-qvl QuoteCollateralV3 JSON or our own bundle). */
export async function loadCollateralBundle(path: string): Promise<Collateral> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (e) {
    throw new CollateralFormatError('UNREADABLE', path, (e as Error).message);
  }
  return parseCollateralBundle(text);
}

/**
 * Split a PCS response body `{"tcbInfo":{…},"signature":"…"}` into the exact signed text of the inner
 * object (a raw slice of the served bytes, never re-serialised) and the 64-byte signature.
 */
export function splitSignedPcsBody(text: string, innerKey: string): { body: string; signature: Buffer } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CollateralFormatError('INVALID_JSON', innerKey, `response is not valid JSON (${(e as Error).message})`);
  }
  const o = asObject(parsed, innerKey);
  if (typeof o[innerKey] !== 'object' || o[innerKey] === null) {
    throw new CollateralFormatError('MISSING_FIELD', innerKey, 'response has no signed object');
  }
  const signature = bytesField(o, 'signature', true);
  const body = rawMemberText(text, innerKey);
  if (body === undefined) throw new CollateralFormatError('INVALID_FIELD', innerKey, 'could not locate the signed object text');
  return { body, signature };
}
