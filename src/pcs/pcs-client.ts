import { boundedBody, boundedGet, DEFAULT_HTTP_CLIENT_LIMITS, displayUrl, type HttpClientLimits, type RawAnswer } from './bounded-get.js';
import { PcsError } from './errors.js';
import { decodeIssuerChainHeader } from './issuer-chain.js';
import {
  type CrlResponse,
  type PckCertQuery,
  type PckCertResponse,
  type SignedJsonMember,
  type SignedJsonResponse,
  decodeChainHeader,
  isHex,
  parseCrl,
  parseSignedJson,
} from './pcs-responses.js';

export type { CrlResponse, PckCertQuery, PckCertResponse, SignedJsonResponse } from './pcs-responses.js';

export type Tee = 'SGX' | 'TDX';
export type PckCa = 'processor' | 'platform';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface PcsClientOptions {
  /**
   * Service root, e.g. `https://api.trustedservices.intel.com`, `https://pccs.local:8081`,
   * `https://global.acccache.azure.net` or our own `http://127.0.0.1:8081`. A trailing
   * `/sgx/certification/v4` (or v3, or `/tdx/...`) is accepted and stripped.
   */
  baseUrl: string;
  /**
   * HTTP implementation. Default: our own bounded GET over node:http(s), which counts the bytes on the
   * wire and after decoding separately. An injected fetch gets `redirect: 'manual'` and the decoded cap.
   */
  fetch?: FetchLike;
  /** Body caps: bytes on the wire (default 8 MiB) and after Content-Encoding (default 16 MiB). */
  maxBodyBytes?: number;
  maxDecodedBodyBytes?: number;
  /** Same-origin redirects followed (default 3); a redirect to another origin is never followed. */
  maxRedirects?: number;
  /** Intel PCS subscription key, sent as `Ocp-Apim-Subscription-Key` (Intel needs it for /pckcert). */
  apiKey?: string;
  /** Clock for `fetchedAt` stamps. */
  now?: () => Date;
  /** Per-request timeout, connect to last body byte; default 30 s. */
  timeoutMs?: number;
  /**
   * Where the root CA CRL lives. Default: Intel's DER URL when baseUrl is Intel PCS, otherwise the
   * PCCS-style `<base>/sgx/certification/v4/rootcacrl` (hex text). Any of DER, PEM or hex is accepted.
   */
  rootCaCrlUrl?: string;
  /** Extra query parameters on every request (Azure THIM wants e.g. `api-version`). */
  extraQuery?: Record<string, string>;
  /** Extra request headers (Azure IMDS wants `metadata: true`). */
  headers?: Record<string, string>;
}

export interface SignedJsonQuery {
  update?: 'early' | 'standard';
  tcbEvaluationDataNumber?: number;
}

export interface PcsClient {
  /** Normalised service root. */
  readonly baseUrl: string;
  getTcbInfo(tee: Tee, fmspc: string, q?: SignedJsonQuery): Promise<SignedJsonResponse>;
  getQeIdentity(tee: Tee, q?: SignedJsonQuery): Promise<SignedJsonResponse>;
  getPckCrl(ca: PckCa): Promise<CrlResponse>;
  getRootCaCrl(): Promise<CrlResponse>;
  getPckCert(q: PckCertQuery): Promise<PckCertResponse>;
}

const INTEL_PCS_HOST = 'api.trustedservices.intel.com';
const INTEL_ROOT_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

/** Header names, current first: v4 PCS/PCCS, then the v3 and Azure spellings clients still meet. */
const TCB_INFO_CHAIN_HEADERS = ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'];
const IDENTITY_CHAIN_HEADERS = ['SGX-Enclave-Identity-Issuer-Chain', 'SGX-QE-Identity-Issuer-Chain'];
const PCK_CRL_CHAIN_HEADER = 'SGX-PCK-CRL-Issuer-Chain';
const PCK_CERT_CHAIN_HEADER = 'SGX-PCK-Certificate-Issuer-Chain';


/** Which part of a URL that `new URL()` refused is wrong, in words (the WHATWG parser only says "Invalid URL"). */
function urlProblem(text: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?/.exec(text);
  if (!m) return 'it needs a scheme and a host, e.g. https://pccs.example:8081';
  const [, , host, port] = m;
  if (!host) return 'the host is missing';
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) return `the port ${JSON.stringify(port)} is not a number`;
    if (Number(port) > 65535) return `the port ${port} is out of range (1-65535)`;
  }
  return `the host ${JSON.stringify(host)} is not a valid host name or address`;
}

export function normaliseBaseUrl(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new PcsError('BAD_REQUEST', `collateral service URL ${JSON.stringify(baseUrl)} is not a valid URL: ${urlProblem(baseUrl)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new PcsError('BAD_REQUEST', `collateral service URL must be http(s), got ${u.protocol}`);
  }
  let s = `${u.origin}${u.pathname}`.replace(/\/+$/, '');
  s = s.replace(/\/(sgx|tdx)\/certification(\/v[34])?$/, '');
  return s;
}

/** Our sim-backed server labels its answers; the label travels with the collateral (and through caches). */
function isSimulated(res: { headers: Headers }): boolean {
  return res.headers.get('SQH-Simulated') === 'true';
}

function parseRetryAfter(v: string | null, now: Date): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.round((t - now.getTime()) / 1000));
}

export function createPcsClient(opts: PcsClientOptions): PcsClient {
  const baseUrl = normaliseBaseUrl(opts.baseUrl);
  const doFetch: FetchLike = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = opts.now ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? 30_000;

  function url(tee: Tee, path: string, query: Record<string, string | undefined> = {}): string {
    const u = new URL(`${baseUrl}/${tee.toLowerCase()}/certification/v4/${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    for (const [k, v] of Object.entries(opts.extraQuery ?? {})) u.searchParams.set(k, v);
    return u.toString();
  }

  // PCCS-style services serve the root CRL themselves (and get the same extra query); Intel's is elsewhere.
  const rootCaCrlUrl =
    opts.rootCaCrlUrl ?? (new URL(baseUrl).host === INTEL_PCS_HOST ? INTEL_ROOT_CRL_URL : url('SGX', 'rootcacrl'));

  const limits: HttpClientLimits = {
    timeoutMs,
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_HTTP_CLIENT_LIMITS.maxBodyBytes,
    maxDecodedBodyBytes: opts.maxDecodedBodyBytes ?? DEFAULT_HTTP_CLIENT_LIMITS.maxDecodedBodyBytes,
  };
  const maxRedirects = opts.maxRedirects ?? 3;
  const baseOrigin = new URL(baseUrl).origin;

  /** One request, no redirect followed. The key and extra headers go only to the configured service's origin. */
  async function once(target: string): Promise<RawAnswer> {
    const headers: Record<string, string> = {};
    if (new URL(target).origin === baseOrigin) {
      Object.assign(headers, opts.headers ?? {});
      if (opts.apiKey) headers['Ocp-Apim-Subscription-Key'] = opts.apiKey;
    }
    if (!opts.fetch) return boundedGet(target, headers, limits);
    try {
      const res = await opts.fetch(target, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, headers: res.headers, body: await boundedBody(res, target, limits.maxDecodedBodyBytes) };
    } catch (err) {
      if (err instanceof PcsError) throw err;
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new PcsError('TIMEOUT', `no answer from ${displayUrl(target)} within ${timeoutMs} ms`, { url: target, cause: err });
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? e.message;
      throw new PcsError('NETWORK', `cannot reach ${displayUrl(target)}: ${detail}`, { url: target, cause: err });
    }
  }

  async function get(first: string): Promise<{ res: RawAnswer; body: Buffer }> {
    let target = first;
    let res: RawAnswer;
    for (let hops = 0; ; hops++) {
      res = await once(target);
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('Location') : null;
      if (!location) break;
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: redirect to an invalid URL`, { url: target });
      }
      // Never carry the subscription key (or anything else) to another origin: refuse instead of following.
      if (next.origin !== new URL(target).origin) {
        throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: redirected to another origin (${next.origin}); not followed`, { url: target });
      }
      if (hops >= maxRedirects) throw new PcsError('BAD_RESPONSE', `${displayUrl(first)}: more than ${maxRedirects} redirects`, { url: first });
      target = next.toString();
    }
    const body = res.body;
    const ok = res.status >= 200 && res.status < 300;
    if (!ok) {
      const errorCode = res.headers.get('Error-Code') ?? undefined;
      const errorMessage = res.headers.get('Error-Message') ?? undefined;
      const retryAfterSeconds = parseRetryAfter(res.headers.get('Retry-After'), now());
      const requestId = res.headers.get('Request-ID') ?? undefined;
      const what =
        res.status === 404
          ? 'not found'
          : res.status === 410
            ? 'gone (TCB evaluation data number no longer available)'
            : res.status === 429
              ? `too many requests${retryAfterSeconds !== undefined ? `, retry after ${retryAfterSeconds} s` : ''}`
              : `HTTP ${res.status}`;
      const extra = errorCode || errorMessage ? ` (${[errorCode, errorMessage].filter(Boolean).join(': ')})` : '';
      throw new PcsError('HTTP_STATUS', `${displayUrl(target)}: ${what}${extra}`, {
        status: res.status,
        errorCode,
        errorMessage,
        retryAfterSeconds,
        requestId,
        url: target,
      });
    }
    return { res, body };
  }

  function header(res: RawAnswer, names: string[]): string | undefined {
    for (const n of names) {
      const v = res.headers.get(n);
      if (v) return v;
    }
    return undefined;
  }

  function chainFrom(res: RawAnswer, names: string[], target: string): { pem: string; raw: string } {
    const raw = header(res, names);
    if (!raw) {
      throw new PcsError('MISSING_ISSUER_CHAIN', `${displayUrl(target)}: answer has no ${names.join(' / ')} header`, { url: target });
    }
    return { pem: decodeChainHeader(raw, names[0], target), raw };
  }

  function signedJson(target: string, res: RawAnswer, body: Buffer, member: SignedJsonMember, chainHeaders: string[]): SignedJsonResponse {
    const raw = header(res, chainHeaders);
    if (!raw) {
      throw new PcsError('MISSING_ISSUER_CHAIN', `${displayUrl(target)}: answer has no ${chainHeaders.join(' / ')} header`, { url: target });
    }
    return parseSignedJson({
      url: target,
      rawBody: body.toString('utf8'),
      member,
      issuerChainHeader: raw,
      requestId: res.headers.get('Request-ID') ?? undefined,
      fetchedAt: now(),
      simulated: isSimulated(res),
    });
  }

  function checkSignedQuery(q: SignedJsonQuery | undefined): Record<string, string | undefined> {
    if (!q) return {};
    if (q.update !== undefined && q.tcbEvaluationDataNumber !== undefined) {
      throw new PcsError('BAD_REQUEST', 'give either update or tcbEvaluationDataNumber, not both');
    }
    if (q.tcbEvaluationDataNumber !== undefined && !(Number.isInteger(q.tcbEvaluationDataNumber) && q.tcbEvaluationDataNumber >= 0)) {
      throw new PcsError('BAD_REQUEST', 'tcbEvaluationDataNumber must be a non-negative integer');
    }
    return {
      update: q.update,
      tcbEvaluationDataNumber: q.tcbEvaluationDataNumber === undefined ? undefined : String(q.tcbEvaluationDataNumber),
    };
  }

  async function crl(target: string, what: string, chainHeaders: string[] | undefined): Promise<CrlResponse> {
    const { res, body } = await get(target);
    let issuerChainHeader: string | undefined;
    if (chainHeaders) {
      issuerChainHeader = header(res, chainHeaders);
      if (!issuerChainHeader) {
        throw new PcsError('MISSING_ISSUER_CHAIN', `${displayUrl(target)}: answer has no ${chainHeaders.join(' / ')} header`, { url: target });
      }
    }
    return parseCrl({
      url: target,
      rawBody: body,
      what,
      contentType: res.headers.get('Content-Type') ?? undefined,
      issuerChainHeader,
      requestId: res.headers.get('Request-ID') ?? undefined,
      fetchedAt: now(),
      simulated: isSimulated(res),
    });
  }

  return {
    baseUrl,

    async getTcbInfo(tee, fmspc, q) {
      if (!isHex(fmspc, 12)) throw new PcsError('BAD_REQUEST', `FMSPC must be 12 hex digits, got ${JSON.stringify(fmspc)}`);
      const target = url(tee, 'tcb', { fmspc, ...checkSignedQuery(q) });
      const { res, body } = await get(target);
      const r = signedJson(target, res, body, 'tcbInfo', TCB_INFO_CHAIN_HEADERS);
      const served = (JSON.parse(r.body) as { fmspc?: unknown }).fmspc;
      if (typeof served !== 'string' || served.toLowerCase() !== fmspc.toLowerCase()) {
        throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: TCB info is for FMSPC ${String(served)}, asked for ${fmspc}`, { url: target });
      }
      return r;
    },

    async getQeIdentity(tee, q) {
      const target = url(tee, 'qe/identity', checkSignedQuery(q));
      const { res, body } = await get(target);
      return signedJson(target, res, body, 'enclaveIdentity', IDENTITY_CHAIN_HEADERS);
    },

    async getPckCrl(ca) {
      if (ca !== 'processor' && ca !== 'platform') throw new PcsError('BAD_REQUEST', `ca must be processor or platform, got ${String(ca)}`);
      return crl(url('SGX', 'pckcrl', { ca, encoding: 'der' }), `PCK ${ca} CRL`, [PCK_CRL_CHAIN_HEADER]);
    },

    async getRootCaCrl() {
      return crl(rootCaCrlUrl, 'root CA CRL', undefined);
    },

    async getPckCert(q) {
      const checks: [string, string | undefined, (v: string) => boolean][] = [
        ['cpusvn', q.cpusvn, (v) => isHex(v, 32)],
        ['pcesvn', q.pcesvn, (v) => isHex(v, 4)],
        ['pceid', q.pceid, (v) => isHex(v, 4)],
      ];
      for (const [name, v, ok] of checks) {
        if (v === undefined || !ok(v)) throw new PcsError('BAD_REQUEST', `pckcert: ${name} is missing or malformed`);
      }
      if (q.encryptedPpid !== undefined && !isHex(q.encryptedPpid, 768)) {
        throw new PcsError('BAD_REQUEST', 'pckcert: encrypted_ppid must be 768 hex digits');
      }
      if (q.qeid !== undefined && !(isHex(q.qeid) && q.qeid.length > 0 && q.qeid.length <= 260)) {
        throw new PcsError('BAD_REQUEST', 'pckcert: qeid must be 1–260 hex digits');
      }
      if (q.encryptedPpid === undefined && q.qeid === undefined) {
        throw new PcsError('BAD_REQUEST', 'pckcert: give encrypted_ppid (Intel PCS) or qeid (PCCS, Azure)');
      }
      const target = url('SGX', 'pckcert', {
        qeid: q.qeid,
        encrypted_ppid: q.encryptedPpid,
        cpusvn: q.cpusvn,
        pcesvn: q.pcesvn,
        pceid: q.pceid,
      });
      const { res, body } = await get(target);
      const text = body.toString('utf8');
      const requestId = res.headers.get('Request-ID') ?? undefined;
      if (text.trimStart().startsWith('{')) {
        // Azure THIM wraps the certificate and its headers in JSON.
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: pckcert JSON is malformed`, { url: target, cause: err });
        }
        const cert = j.pckCert;
        const chainRaw = j['sgx-Pck-Certificate-Issuer-Chain'];
        if (typeof cert !== 'string' || !cert.includes('-----BEGIN CERTIFICATE-----') || typeof chainRaw !== 'string') {
          throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: pckcert JSON lacks pckCert or sgx-Pck-Certificate-Issuer-Chain`, { url: target });
        }
        return {
          url: target,
          pckCertPem: cert,
          issuerChain: decodeIssuerChainHeader(chainRaw),
          issuerChainHeader: chainRaw,
          tcbm: typeof j['sgx-Tcbm'] === 'string' ? (j['sgx-Tcbm'] as string) : undefined,
          format: 'azure-json',
          requestId,
          fetchedAt: now(),
          ...(isSimulated(res) ? { simulated: true } : {}),
        };
      }
      if (!text.includes('-----BEGIN CERTIFICATE-----')) {
        throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: pckcert body is not a PEM certificate`, { url: target });
      }
      const chain = chainFrom(res, [PCK_CERT_CHAIN_HEADER], target);
      return {
        url: target,
        pckCertPem: text,
        issuerChain: chain.pem,
        issuerChainHeader: chain.raw,
        tcbm: res.headers.get('SGX-TCBm') ?? undefined,
        fmspc: res.headers.get('SGX-FMSPC') ?? undefined,
        caType: res.headers.get('SGX-PCK-Certificate-CA-Type') ?? undefined,
        format: 'pcs',
        requestId,
        fetchedAt: now(),
        ...(isSimulated(res) ? { simulated: true } : {}),
      };
    },
  };
}
