import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPcsClient, PcsError } from '../../src/pcs/index.js';
import { encodeIssuerChainHeader } from '../../src/pcs/issuer-chain.js';
import { startReplayServer, type ReplayServer } from './helpers/replay-server.js';
import { goTdx, mobilecoin, pcsSignatureValid } from './helpers/testdata.js';

// The replay server below stands in for Intel's PCS / a PCCS / Azure THIM (an external boundary this
// sandbox cannot reach). Everything it serves is a real PCS answer from test/fixtures/testdata.

const encodedTcbChain = goTdx.tcbChainEncoded();
const encodedQeChain = goTdx.qeChainEncoded();
const encodedCrlChain = goTdx.crlChainEncoded();

let srv: ReplayServer;

beforeAll(async () => {
  srv = await startReplayServer({
    '/tdx/certification/v4/tcb': { headers: { 'TCB-Info-Issuer-Chain': encodedTcbChain, 'Content-Type': 'application/json', 'Request-ID': 'r-1' }, body: goTdx.tcbInfoResponse() },
    '/tdx/certification/v4/qe/identity': { headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodedQeChain }, body: goTdx.qeIdentityResponse() },
    // v3-era header name, as older PCCS versions and Azure still send it
    '/sgx/certification/v4/tcb': {
      headers: { 'SGX-TCB-Info-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.signerChainPem()) },
      body: mobilecoin.tcbInfoResponse(),
    },
    '/sgx/certification/v4/qe/identity': {
      headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.signerChainPem()) },
      body: mobilecoin.qeIdentityResponse(),
    },
    '/sgx/certification/v4/pckcrl': (url) =>
      url.searchParams.get('ca') === 'platform'
        ? { headers: { 'SGX-PCK-CRL-Issuer-Chain': encodedCrlChain, 'Content-Type': 'application/pkix-crl' }, body: goTdx.pckCrl() }
        : { headers: { 'SGX-PCK-CRL-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.processorChainPem()) }, body: mobilecoin.processorCrl() },
    // PCCS answers the root CRL as hex text of the DER
    '/sgx/certification/v4/rootcacrl': { body: goTdx.rootCrl().toString('hex') },
    // Intel's own root CRL URL serves DER; a PEM variant for good measure
    '/IntelSGXRootCA.der': { body: mobilecoin.rootCrlDer() },
    '/IntelSGXRootCA.pem': { body: mobilecoin.rootCrlPem() },
  });
});
afterAll(() => srv.close());

describe('PCS v4 client against replayed real PCS answers', () => {
  it('TDX TCB info: slices the exact signed tcbInfo bytes and decodes the issuer chain', async () => {
    const c = createPcsClient({ baseUrl: srv.url });
    const r = await c.getTcbInfo('TDX', goTdx.fmspc);
    const raw = goTdx.tcbInfoResponse();
    expect(raw.startsWith(`{"tcbInfo":${r.body},"signature":`)).toBe(true);
    expect(r.issuerChain).toBe(goTdx.tcbChainPem());
    expect(r.issuerChainHeader).toBe(encodedTcbChain);
    expect(pcsSignatureValid(r.issuerChain, r.body, r.signature)).toBe(true);
    expect(r.nextUpdate.toISOString()).toBe('2023-07-18T08:42:58.000Z');
    expect(r.issueDate.toISOString()).toBe('2023-06-18T08:42:58.000Z');
    expect(r.tcbEvaluationDataNumber).toBe(15);
    expect(r.requestId).toBe('r-1');
    expect(srv.requests.at(-1)?.path).toBe(`/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`);
  });

  it('TD_QE identity and SGX QE identity signatures verify over the sliced bytes', async () => {
    const c = createPcsClient({ baseUrl: `${srv.url}/sgx/certification/v4/` }); // suffix is stripped
    const tdqe = await c.getQeIdentity('TDX');
    expect(tdqe.issuerChain).toBe(goTdx.qeChainPem());
    expect(pcsSignatureValid(tdqe.issuerChain, tdqe.body, tdqe.signature)).toBe(true);
    const qe = await c.getQeIdentity('SGX');
    expect(JSON.parse(qe.body).id).toBe('QE');
    expect(pcsSignatureValid(qe.issuerChain, qe.body, qe.signature)).toBe(true);
  });

  it('SGX TCB info with the v3 header name SGX-TCB-Info-Issuer-Chain', async () => {
    const c = createPcsClient({ baseUrl: srv.url });
    const r = await c.getTcbInfo('SGX', mobilecoin.fmspc);
    expect(r.issuerChain).toBe(mobilecoin.signerChainPem());
    expect(pcsSignatureValid(r.issuerChain, r.body, r.signature)).toBe(true);
  });

  it('keeps the signed bytes exact when the outer JSON is reordered and spaced', async () => {
    const raw = goTdx.tcbInfoResponse();
    const parsed = JSON.parse(raw) as { signature: string };
    const inner = raw.slice('{"tcbInfo":'.length, raw.lastIndexOf(',"signature"'));
    srv.routes.set('/tdx/certification/v4/tcb', {
      headers: { 'TCB-Info-Issuer-Chain': encodedTcbChain },
      body: `{\n  "signature" : "${parsed.signature}",\n  "tcbInfo" :\t${inner}\n}\n`,
    });
    try {
      const r = await createPcsClient({ baseUrl: srv.url }).getTcbInfo('TDX', goTdx.fmspc);
      expect(r.body).toBe(inner);
      expect(pcsSignatureValid(r.issuerChain, r.body, r.signature)).toBe(true);
    } finally {
      srv.routes.set('/tdx/certification/v4/tcb', { headers: { 'TCB-Info-Issuer-Chain': encodedTcbChain }, body: goTdx.tcbInfoResponse() });
    }
  });

  it('PCK CRLs (processor and platform) as DER with their issuer chain, asking for encoding=der', async () => {
    const c = createPcsClient({ baseUrl: srv.url });
    const platform = await c.getPckCrl('platform');
    expect(platform.der.equals(goTdx.pckCrl())).toBe(true);
    expect(platform.issuerChain).toBe(goTdx.crlChainPem());
    expect(platform.nextUpdate?.toISOString()).toBe('2023-07-08T07:27:52.000Z');
    expect(srv.requests.at(-1)?.path).toBe('/sgx/certification/v4/pckcrl?ca=platform&encoding=der');
    const processor = await c.getPckCrl('processor');
    expect(processor.der.equals(mobilecoin.processorCrl())).toBe(true);
  });

  it('root CA CRL as PCCS hex text, as Intel-style DER, and as PEM', async () => {
    const hex = await createPcsClient({ baseUrl: srv.url }).getRootCaCrl();
    expect(hex.der.equals(goTdx.rootCrl())).toBe(true);
    const der = await createPcsClient({ baseUrl: srv.url, rootCaCrlUrl: `${srv.url}/IntelSGXRootCA.der` }).getRootCaCrl();
    expect(der.der.equals(mobilecoin.rootCrlDer())).toBe(true);
    const pem = await createPcsClient({ baseUrl: srv.url, rootCaCrlUrl: `${srv.url}/IntelSGXRootCA.pem` }).getRootCaCrl();
    expect(pem.der.equals(mobilecoin.rootCrlDer())).toBe(true);
  });

  it('sends the API key and extra query parameters (Azure api-version) on every request', async () => {
    const c = createPcsClient({ baseUrl: srv.url, apiKey: 'k-123', extraQuery: { 'api-version': '2018-10-01-preview' }, headers: { metadata: 'true' } });
    await c.getTcbInfo('TDX', goTdx.fmspc);
    const last = srv.requests.at(-1)!;
    expect(last.path).toBe(`/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}&api-version=2018-10-01-preview`);
    expect(last.headers['ocp-apim-subscription-key']).toBe('k-123');
    expect(last.headers.metadata).toBe('true');
  });

  it('Intel PCS base URL: the root CA CRL comes from Intel\'s DER URL (fetch injected: Intel is unreachable here)', async () => {
    const seen: string[] = [];
    const c = createPcsClient({
      baseUrl: 'https://api.trustedservices.intel.com/sgx/certification/v4',
      fetch: async (u) => {
        seen.push(u);
        return new Response(mobilecoin.rootCrlDer(), { status: 200 });
      },
    });
    expect(c.baseUrl).toBe('https://api.trustedservices.intel.com');
    const r = await c.getRootCaCrl();
    expect(seen).toEqual(['https://certificates.trustedservices.intel.com/IntelSGXRootCA.der']);
    expect(r.der.equals(mobilecoin.rootCrlDer())).toBe(true);
  });

  it('uses an injected fetch and clock', async () => {
    const seen: string[] = [];
    const at = new Date('2023-06-20T00:00:00Z');
    const c = createPcsClient({
      baseUrl: srv.url,
      now: () => at,
      fetch: (u, init) => {
        seen.push(u);
        return fetch(u, init);
      },
    });
    const r = await c.getQeIdentity('TDX');
    expect(seen).toEqual([`${srv.url}/tdx/certification/v4/qe/identity`]);
    expect(r.fetchedAt).toBe(at);
  });

  it('pckcert: PEM with PCS headers, and Azure THIM JSON envelope', async () => {
    const leaf = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    srv.routes.set('/sgx/certification/v4/pckcert', (url) =>
      url.searchParams.get('clientid')
        ? {
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ pckCert: leaf, 'sgx-Pck-Certificate-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.processorChainPem()), 'sgx-Tcbm': 'AB'.repeat(18), cacheMaxAge: '86400' }),
          }
        : {
            headers: {
              'SGX-PCK-Certificate-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.processorChainPem()),
              'SGX-TCBm': 'CD'.repeat(18),
              'SGX-FMSPC': '00906ED50000',
              'SGX-PCK-Certificate-CA-Type': 'processor',
            },
            body: leaf,
          },
    );
    const q = { qeid: '00'.repeat(16), cpusvn: '11'.repeat(16), pcesvn: '0d00', pceid: '0000' };
    const pcs = await createPcsClient({ baseUrl: srv.url }).getPckCert(q);
    expect(pcs).toMatchObject({ format: 'pcs', pckCertPem: leaf, tcbm: 'CD'.repeat(18), fmspc: '00906ED50000', caType: 'processor' });
    expect(pcs.issuerChain).toBe(mobilecoin.processorChainPem());
    expect(srv.requests.at(-1)?.path).toBe(`/sgx/certification/v4/pckcert?qeid=${q.qeid}&cpusvn=${q.cpusvn}&pcesvn=0d00&pceid=0000`);
    const az = await createPcsClient({ baseUrl: srv.url, extraQuery: { clientid: 'x' } }).getPckCert(q);
    expect(az).toMatchObject({ format: 'azure-json', pckCertPem: leaf, tcbm: 'AB'.repeat(18) });
    expect(az.issuerChain).toBe(mobilecoin.processorChainPem());
  });
});

describe('PCS client errors are typed', () => {
  async function errorOf(p: Promise<unknown>): Promise<PcsError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(PcsError);
      return e as PcsError;
    }
    throw new Error('expected a PcsError');
  }

  it('400 carries Error-Code and Error-Message; 404, 410 and 429 Retry-After are reported', async () => {
    const s = await startReplayServer({
      '/sgx/certification/v4/tcb': (url) => {
        const f = url.searchParams.get('fmspc');
        if (f === '000000000000') return { status: 404, headers: { 'Request-ID': 'abc' } };
        if (f === '111111111111') return { status: 429, headers: { 'Retry-After': '30' } };
        if (f === '222222222222') return { status: 410 };
        return { status: 400, headers: { 'Error-Code': 'InvalidRequestSyntax', 'Error-Message': 'bad fmspc' } };
      },
    });
    try {
      const c = createPcsClient({ baseUrl: s.url });
      const e400 = await errorOf(c.getTcbInfo('SGX', 'AAAAAAAAAAAA'));
      expect(e400).toMatchObject({ code: 'HTTP_STATUS', status: 400, errorCode: 'InvalidRequestSyntax', errorMessage: 'bad fmspc', isDefinitive: true });
      const e404 = await errorOf(c.getTcbInfo('SGX', '000000000000'));
      expect(e404).toMatchObject({ status: 404, requestId: 'abc', isDefinitive: true });
      const e429 = await errorOf(c.getTcbInfo('SGX', '111111111111'));
      expect(e429).toMatchObject({ status: 429, retryAfterSeconds: 30, isDefinitive: false });
      const e410 = await errorOf(c.getTcbInfo('SGX', '222222222222'));
      expect(e410.status).toBe(410);
    } finally {
      await s.close();
    }
  });

  it('malformed answers: missing issuer chain, garbage body, wrong FMSPC, bad CRL', async () => {
    const s = await startReplayServer({
      '/tdx/certification/v4/tcb': (url) =>
        url.searchParams.get('fmspc') === '50806F000000'
          ? { body: goTdx.tcbInfoResponse() } // no issuer chain header
          : url.searchParams.get('fmspc') === 'AAAAAAAAAAAA'
            ? { headers: { 'TCB-Info-Issuer-Chain': encodedTcbChain }, body: goTdx.tcbInfoResponse() } // other FMSPC
            : { headers: { 'TCB-Info-Issuer-Chain': encodedTcbChain }, body: '{"tcbInfo":{"issueDate":' },
      '/sgx/certification/v4/pckcrl': { headers: { 'SGX-PCK-CRL-Issuer-Chain': encodedCrlChain }, body: 'not a crl' },
    });
    try {
      const c = createPcsClient({ baseUrl: s.url });
      expect((await errorOf(c.getTcbInfo('TDX', '50806F000000'))).code).toBe('MISSING_ISSUER_CHAIN');
      expect((await errorOf(c.getTcbInfo('TDX', 'AAAAAAAAAAAA'))).code).toBe('BAD_RESPONSE');
      expect((await errorOf(c.getTcbInfo('TDX', 'BBBBBBBBBBBB'))).code).toBe('BAD_RESPONSE');
      expect((await errorOf(c.getPckCrl('processor'))).code).toBe('BAD_RESPONSE');
    } finally {
      await s.close();
    }
  });

  it('bad parameters are rejected before any request; refused connections are NETWORK errors', async () => {
    const c = createPcsClient({ baseUrl: srv.url });
    expect((await errorOf(c.getTcbInfo('SGX', 'xyz'))).code).toBe('BAD_REQUEST');
    expect((await errorOf(c.getPckCrl('other' as 'processor'))).code).toBe('BAD_REQUEST');
    expect((await errorOf(c.getPckCert({ cpusvn: '00', pcesvn: '0000', pceid: '0000', qeid: '00' }))).code).toBe('BAD_REQUEST');
    expect(() => createPcsClient({ baseUrl: 'ftp://x' })).toThrow(PcsError);
    const dead = await startReplayServer();
    const deadUrl = dead.url;
    await dead.close();
    const e = await errorOf(createPcsClient({ baseUrl: deadUrl }).getQeIdentity('SGX'));
    expect(e.code).toBe('NETWORK');
  });
});
