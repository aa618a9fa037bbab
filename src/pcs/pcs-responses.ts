import { displayUrl } from './bounded-get.js';
import { PcsError } from './errors.js';
import { rawMemberText, JsonSpanError } from './json-span.js';
import { decodeIssuerChainHeader } from './issuer-chain.js';
import { decodeCrlBody, crlValidity } from './crl.js';

/**
 * The PCS answers we understand, and the pure parsers that turn (body, headers) into them. Pure so
 * the SQLite cache can store what the wire carried and rebuild the same objects on read.
 */

/** A signed JSON answer (TCB info or enclave identity) with the signed bytes sliced out exactly. */
export interface SignedJsonResponse {
  url: string;
  /** The whole body as served, e.g. `{"tcbInfo":{…},"signature":"…"}`. */
  rawBody: string;
  /** The exact inner `tcbInfo` / `enclaveIdentity` text: the bytes the signature covers. */
  body: string;
  signature: Buffer;
  /** Issuer chain as PEM (signing cert first, root last). */
  issuerChain: string;
  /** The header value exactly as received (URL-encoded), so a proxy can replay it unchanged. */
  issuerChainHeader: string;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber?: number;
  requestId?: string;
  fetchedAt: Date;
  /** The service labelled the answer as simulated (`SQH-Simulated: true`, our sim-backed server). */
  simulated?: boolean;
}

export interface CrlResponse {
  url: string;
  der: Buffer;
  /** Body exactly as served (DER, PEM or hex text). */
  rawBody: Buffer;
  contentType?: string;
  issuerChain?: string;
  issuerChainHeader?: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  requestId?: string;
  fetchedAt: Date;
  simulated?: boolean;
}

export interface PckCertQuery {
  /** 768 hex (Intel PCS requires it). */
  encryptedPpid?: string;
  /** QE id, up to 260 hex (PCCS and Azure key their caches on it). */
  qeid?: string;
  cpusvn: string; // 32 hex
  pcesvn: string; // 4 hex, little-endian
  pceid: string; // 4 hex, little-endian
}

export interface PckCertResponse {
  url: string;
  pckCertPem: string;
  issuerChain: string;
  issuerChainHeader: string;
  /** `SGX-TCBm`: hex of CPUSVN ‖ PCESVN of the TCB level the certificate was issued for. */
  tcbm?: string;
  fmspc?: string;
  caType?: string;
  /** 'pcs' = PEM body and headers (Intel PCS, PCCS, ours); 'azure-json' = THIM's JSON envelope. */
  format: 'pcs' | 'azure-json';
  requestId?: string;
  fetchedAt: Date;
  simulated?: boolean;
}

const PCS_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;

export function isHex(s: string, len?: number): boolean {
  return /^[0-9a-fA-F]*$/.test(s) && s.length % 2 === 0 && (len === undefined || s.length === len);
}

export function decodeChainHeader(raw: string, headerName: string, url: string): string {
  let pem: string;
  try {
    pem = decodeIssuerChainHeader(raw);
  } catch (err) {
    throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: ${headerName} header is not valid percent-encoding`, { url, cause: err });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: ${headerName} header holds no PEM certificate`, { url });
  }
  return pem;
}

export type SignedJsonMember = 'tcbInfo' | 'enclaveIdentity';

export function parseSignedJson(p: {
  url: string;
  rawBody: string;
  member: SignedJsonMember;
  issuerChainHeader: string;
  requestId?: string;
  fetchedAt: Date;
  simulated?: boolean;
}): SignedJsonResponse {
  const { url, rawBody, member } = p;
  let inner: string | undefined;
  let signatureHex: unknown;
  try {
    inner = rawMemberText(rawBody, member);
    signatureHex = (JSON.parse(rawBody) as { signature?: unknown }).signature;
  } catch (err) {
    const detail = err instanceof JsonSpanError ? err.message : String(err);
    throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: body is not PCS JSON (${detail})`, { url, cause: err });
  }
  if (inner === undefined || !inner.startsWith('{')) {
    throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: body has no "${member}" object`, { url });
  }
  if (typeof signatureHex !== 'string' || !isHex(signatureHex, 128)) {
    throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: "signature" must be 128 hex digits`, { url });
  }
  const parsed = JSON.parse(inner) as { issueDate?: unknown; nextUpdate?: unknown; tcbEvaluationDataNumber?: unknown };
  const dates: Date[] = [];
  for (const f of ['issueDate', 'nextUpdate'] as const) {
    const v = parsed[f];
    if (typeof v !== 'string' || !PCS_DATE.test(v)) {
      throw new PcsError('BAD_RESPONSE', `${displayUrl(url)}: ${member}.${f} is missing or not a PCS date`, { url });
    }
    dates.push(new Date(v));
  }
  return {
    url,
    rawBody,
    body: inner,
    signature: Buffer.from(signatureHex, 'hex'),
    issuerChain: decodeChainHeader(p.issuerChainHeader, `${member} issuer-chain`, url),
    issuerChainHeader: p.issuerChainHeader,
    issueDate: dates[0],
    nextUpdate: dates[1],
    tcbEvaluationDataNumber: typeof parsed.tcbEvaluationDataNumber === 'number' ? parsed.tcbEvaluationDataNumber : undefined,
    requestId: p.requestId,
    fetchedAt: p.fetchedAt,
    ...(p.simulated ? { simulated: true } : {}),
  };
}

export function parseCrl(p: {
  url: string;
  rawBody: Buffer;
  what: string;
  contentType?: string;
  issuerChainHeader?: string;
  requestId?: string;
  fetchedAt: Date;
  simulated?: boolean;
}): CrlResponse {
  const der = decodeCrlBody(p.rawBody, `${p.what} from ${displayUrl(p.url)}`);
  const validity = crlValidity(der, `${p.what} from ${displayUrl(p.url)}`);
  return {
    url: p.url,
    der,
    rawBody: p.rawBody,
    contentType: p.contentType,
    issuerChain: p.issuerChainHeader === undefined ? undefined : decodeChainHeader(p.issuerChainHeader, 'CRL issuer-chain', p.url),
    issuerChainHeader: p.issuerChainHeader,
    thisUpdate: validity.thisUpdate,
    nextUpdate: validity.nextUpdate,
    requestId: p.requestId,
    fetchedAt: p.fetchedAt,
    ...(p.simulated ? { simulated: true } : {}),
  };
}
