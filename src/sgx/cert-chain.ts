import { readDerTlv, type DerTlv } from './der-tlv.js';
import { certificateDer } from './pck-extension.js';

interface Names {
  pem: string;
  issuer: string;
  subject: string;
}

/** Issuer and subject Name DER (hex) of a certificate, or undefined if it does not decode. */
function names(pem: string): Names | undefined {
  let der: Buffer;
  try {
    der = certificateDer(pem);
  } catch {
    return undefined;
  }
  const cert = readDerTlv(der, 0, der.length);
  if (!cert || cert.tag !== 0x30) return undefined;
  const tbs = readDerTlv(der, cert.contentStart, cert.end);
  if (!tbs || tbs.tag !== 0x30) return undefined;
  const items: DerTlv[] = [];
  for (let off = tbs.contentStart; off < tbs.end && items.length < 7; ) {
    const t = readDerTlv(der, off, tbs.end);
    if (!t) return undefined;
    items.push(t);
    off = t.end;
  }
  const i = items[0]?.tag === 0xa0 ? 1 : 0; // skip the explicit [0] version
  const issuer = items[i + 2];
  const subject = items[i + 4];
  if (!issuer || !subject) return undefined;
  const hex = (t: DerTlv) => der.subarray(t.start, t.end).toString('hex');
  return { pem, issuer: hex(issuer), subject: hex(subject) };
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
