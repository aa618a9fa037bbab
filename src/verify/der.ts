import * as asn1js from 'asn1js';

/** A DER structure did not have the expected shape. Internal: callers map it to a verification reason. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Parse exactly one DER element spanning the whole buffer. */
export function parseDer(buf: Uint8Array, what: string): asn1js.AsnType {
  let res: ReturnType<typeof asn1js.fromBER>;
  try {
    res = asn1js.fromBER(buf);
  } catch (e) {
    throw new DerError(`${what}: ${(e as Error).message}`);
  }
  if (res.offset === -1 || res.result.error) throw new DerError(`${what}: not valid DER (${res.result.error || 'parse error'})`);
  if (res.offset !== buf.byteLength) throw new DerError(`${what}: ${buf.byteLength - res.offset} trailing bytes`);
  return res.result;
}

export function children(el: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  const v = (el as asn1js.Constructed | undefined)?.valueBlock as { value?: unknown } | undefined;
  if (!el || !Array.isArray(v?.value)) throw new DerError(`${what}: expected a constructed element`);
  return v.value as asn1js.AsnType[];
}

export function isContext(el: asn1js.AsnType | undefined, tag: number): boolean {
  return !!el && el.idBlock.tagClass === 3 && el.idBlock.tagNumber === tag;
}

/** The exact encoded bytes of an element (tag, length and value), e.g. the signed TBS part. */
export function rawOf(el: asn1js.AsnType): Buffer {
  return Buffer.from(el.valueBeforeDecodeView);
}

export function oidOf(el: asn1js.AsnType | undefined, what: string): string {
  if (!(el instanceof asn1js.ObjectIdentifier)) throw new DerError(`${what}: expected an OBJECT IDENTIFIER`);
  return el.valueBlock.toString();
}

export function integerBytes(el: asn1js.AsnType | undefined, what: string): Buffer {
  if (!(el instanceof asn1js.Integer)) throw new DerError(`${what}: expected an INTEGER`);
  return Buffer.from(el.valueBlock.valueHexView);
}

/** Serial numbers are compared as unsigned magnitudes: strip DER's sign-padding zero bytes. */
export function serialHex(bytes: Buffer): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString('hex');
}

export function timeOf(el: asn1js.AsnType | undefined, what: string): Date {
  if (el instanceof asn1js.UTCTime || el instanceof asn1js.GeneralizedTime) {
    const d = el.toDate();
    if (Number.isNaN(d.getTime())) throw new DerError(`${what}: invalid time`);
    return d;
  }
  throw new DerError(`${what}: expected UTCTime or GeneralizedTime`);
}

export function bitStringBytes(el: asn1js.AsnType | undefined, what: string): Buffer {
  if (!(el instanceof asn1js.BitString)) throw new DerError(`${what}: expected a BIT STRING`);
  return Buffer.from(el.valueBlock.valueHexView);
}

export function octets(el: asn1js.AsnType | undefined, what: string): Buffer {
  if (!(el instanceof asn1js.OctetString)) throw new DerError(`${what}: expected an OCTET STRING`);
  return Buffer.from(el.valueBlock.valueHexView);
}

const CN_OID = '2.5.4.3';

/** The commonName of an X.501 Name ('' when absent). */
export function commonName(name: asn1js.AsnType): string {
  for (const rdn of children(name, 'Name')) {
    for (const atv of children(rdn, 'RDN')) {
      const [type, value] = children(atv, 'AttributeTypeAndValue');
      if (oidOf(type, 'attribute type') === CN_OID) {
        const v = (value as asn1js.Utf8String).valueBlock as { value?: unknown };
        return typeof v.value === 'string' ? v.value : '';
      }
    }
  }
  return '';
}

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
