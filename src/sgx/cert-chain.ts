import * as asn1js from 'asn1js';
import { certificateDer } from './pck-extension.js';

interface Names {
  pem: string;
  issuer: string;
  subject: string;
}

/** Issuer and subject DER (hex) of a certificate, or undefined if it does not decode. */
function names(pem: string): Names | undefined {
  try {
    const der = certificateDer(pem);
    const parsed = asn1js.fromBER(Uint8Array.from(der));
    if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return undefined;
    const tbs = parsed.result.valueBlock.value[0];
    if (!(tbs instanceof asn1js.Sequence)) return undefined;
    const items = tbs.valueBlock.value;
    const i = items[0]?.idBlock.tagClass === 3 ? 1 : 0; // skip the explicit [0] version
    const hex = (b: asn1js.AsnType | undefined) => (b ? Buffer.from(b.valueBeforeDecodeView).toString('hex') : '');
    return { pem, issuer: hex(items[i + 2]), subject: hex(items[i + 4]) };
  } catch {
    return undefined;
  }
}

/**
 * Order a certificate chain leaf first (the leaf is the certificate that issued nothing else).
 * Intel's QPL writes leaf ‖ intermediate ‖ root, but Intel's own TDX sample quote is root first.
 * A set that is not one simple chain is returned unchanged.
 */
export function orderChainLeafFirst(pems: string[]): string[] {
  if (pems.length < 2) return [...pems];
  const certs = pems.map(names);
  if (certs.some((c) => c === undefined)) return [...pems];
  const all = certs as Names[];
  const leaves = all.filter((c) => !all.some((o) => o !== c && o.issuer === c.subject));
  if (leaves.length !== 1) return [...pems];
  const ordered = [leaves[0]];
  while (ordered.length < all.length) {
    const cur = ordered[ordered.length - 1];
    if (cur.issuer === cur.subject) break;
    const next = all.find((c) => c.subject === cur.issuer && !ordered.includes(c));
    if (!next) break;
    ordered.push(next);
  }
  return ordered.length === all.length ? ordered.map((c) => c.pem) : [...pems];
}
