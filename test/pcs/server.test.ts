import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import {
  createCollateralServer,
  createPcsClient,
  createPcsCollateralSource,
  createSimBackend,
  encodeIssuerChainHeader,
  decodeCrlBody,
  parseListen,
  SIMULATED_HEADER,
} from '../../src/pcs/index.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { pcsSignatureValid } from './helpers/testdata.js';
import { newSimPlatform, simQuote } from './helpers/sim.js';

const require = createRequire(import.meta.url);
// dcap-qvl is an independent PCS-speaking client: it fetches collateral the way it would from a PCCS.
const dcapQvl = require('@phala/dcap-qvl') as {
  getCollateral(url: string, quote: Buffer): Promise<Record<string, unknown>>;
  QuoteVerifier: { newWithRootCa(der: Buffer): { verify(q: Buffer, c: unknown, nowSecs: number): { status: string; advisory_ids: string[] } } };
};

const NOW = new Date('2026-01-15T12:34:56Z');
let platform: SimPlatform;
let sim: SimCollateral;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  ({ platform } = await newSimPlatform(NOW));
  sim = await platform.collateral({ now: NOW });
  app = createCollateralServer({ backend: await createSimBackend({ platform, now: () => NOW }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

describe('collateral server, sim mode: PCS v4 endpoints over real HTTP', () => {
  it('client ↔ server round trip reproduces the exact signed bytes and issuer chains', async () => {
    const c = createPcsClient({ baseUrl: url });
    const tcb = await c.getTcbInfo('SGX', sim.fmspc.toLowerCase());
    expect(tcb.rawBody).toBe(sim.tcbInfoPcsBody);
    expect(tcb.body).toBe(sim.tcbInfoBody);
    expect(tcb.signature.equals(sim.tcbInfoSignature)).toBe(true);
    expect(tcb.issuerChain).toBe(sim.tcbInfoIssuerChain);
    expect(tcb.issuerChainHeader).toBe(encodeIssuerChainHeader(sim.tcbInfoIssuerChain));
    expect(pcsSignatureValid(tcb.issuerChain, tcb.body, tcb.signature)).toBe(true);

    const qe = await c.getQeIdentity('SGX');
    expect(qe.body).toBe(sim.qeIdentityBody);
    expect(pcsSignatureValid(qe.issuerChain, qe.body, qe.signature)).toBe(true);

    const crl = await c.getPckCrl(sim.caType);
    expect(crl.der.equals(sim.pckCrl)).toBe(true);
    expect(crl.issuerChain).toBe(sim.pckCrlIssuerChain);
    expect(crl.contentType).toBe('application/pkix-crl');
    const root = await c.getRootCaCrl();
    expect(root.der.equals(sim.rootCaCrl)).toBe(true);
  });

  it('a CollateralSource over the server yields the sim collateral field for field', async () => {
    const got = await createPcsCollateralSource({ client: createPcsClient({ baseUrl: url }) }).get({ tee: 'SGX', fmspc: sim.fmspc, ca: sim.caType });
    for (const k of ['pckCrlIssuerChain', 'tcbInfoIssuerChain', 'tcbInfoBody', 'qeIdentityIssuerChain', 'qeIdentityBody'] as const) expect(got[k]).toBe(sim[k]);
    for (const k of ['rootCaCrl', 'pckCrl', 'tcbInfoSignature', 'qeIdentitySignature'] as const) expect(got[k].equals(sim[k])).toBe(true);
    expect(got.stale).toBe(false);
  });

  it('labels every answer as simulated and carries a Request-ID', async () => {
    for (const path of [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}`, '/sgx/certification/v4/rootcacrl', '/nope']) {
      const r = await fetch(`${url}${path}`);
      expect(r.headers.get(SIMULATED_HEADER)).toBe('true');
      expect(r.headers.get('Request-ID')).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('PCK CRL defaults to PEM like PCS; v3 path uses the v3 TCB header name', async () => {
    const pem = await fetch(`${url}/sgx/certification/v4/pckcrl?ca=${sim.caType}`);
    expect(pem.headers.get('content-type')).toMatch(/x-pem-file/);
    const text = Buffer.from(await pem.arrayBuffer());
    expect(text.toString().startsWith('-----BEGIN X509 CRL-----')).toBe(true);
    expect(decodeCrlBody(text).equals(sim.pckCrl)).toBe(true);
    const v3 = await fetch(`${url}/sgx/certification/v3/tcb?fmspc=${sim.fmspc}`);
    expect(v3.headers.get('SGX-TCB-Info-Issuer-Chain')).toBe(encodeIssuerChainHeader(sim.tcbInfoIssuerChain));
    expect(v3.headers.get('TCB-Info-Issuer-Chain')).toBeNull();
  });

  it('pckcert answers the platform PCK certificate with PCS headers', async () => {
    const rec = platform.record;
    const pceSvnLe = Buffer.alloc(2);
    pceSvnLe.writeUInt16LE(rec.pceSvn);
    const r = await createPcsClient({ baseUrl: url }).getPckCert({
      qeid: rec.qeId.toString('hex'),
      cpusvn: rec.cpuSvn.toString('hex'),
      pcesvn: pceSvnLe.toString('hex'),
      pceid: rec.pceId.toString('hex'),
    });
    expect(r.pckCertPem).toBe(sim.pckCertPem);
    expect(r.issuerChain).toBe(sim.pckCertIssuerChain);
    expect(r.fmspc).toBe(sim.fmspc);
    expect(r.caType).toBe(sim.caType);
    expect(r.tcbm).toBe(Buffer.concat([rec.cpuSvn, pceSvnLe]).toString('hex').toUpperCase());
  });

  it('bad requests get PCS-style 400 with Error-Code / Error-Message; unknown items 404; old evaluation numbers 410', async () => {
    const cases: [string, number, RegExp?][] = [
      ['/sgx/certification/v4/tcb', 400, /missing parameter fmspc/],
      ['/sgx/certification/v4/tcb?fmspc=zz', 400, /fmspc must be 12 hex/],
      [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&fmspc=${sim.fmspc}`, 400, /more than once/],
      [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&update=later`, 400, /update must be/],
      [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&update=early&tcbEvaluationDataNumber=3`, 400, /not both/],
      ['/sgx/certification/v4/pckcrl', 400, /missing parameter ca/],
      ['/sgx/certification/v4/pckcrl?ca=intermediate', 400, /ca must be/],
      ['/sgx/certification/v4/pckcrl?ca=processor&encoding=base64', 400, /encoding must be/],
      ['/sgx/certification/v4/pckcert?qeid=00&pcesvn=0000&pceid=0000', 400, /cpusvn/],
      [`/sgx/certification/v4/pckcert?cpusvn=${'0'.repeat(32)}&pcesvn=0000&pceid=0000`, 400, /encrypted_ppid/],
      ['/sgx/certification/v4/tcb?fmspc=000000000000', 404],
      [`/tdx/certification/v4/tcb?fmspc=${sim.fmspc}`, 404],
      ['/tdx/certification/v4/qe/identity', 404],
      [`/sgx/certification/v4/pckcrl?ca=${sim.caType === 'processor' ? 'platform' : 'processor'}`, 404],
      ['/sgx/certification/v4/qve/identity', 404],
      ['/sgx/certification/v9/tcb', 404],
      [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&tcbEvaluationDataNumber=1`, 410],
      [`/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&tcbEvaluationDataNumber=999`, 404],
    ];
    for (const [path, status, message] of cases) {
      const r = await fetch(`${url}${path}`);
      expect({ path, status: r.status }).toEqual({ path, status });
      if (status === 400) {
        expect(r.headers.get('Error-Code')).toBe('InvalidRequestSyntax');
        expect(r.headers.get('Error-Message')).toMatch(message!);
      }
      expect(await r.text()).toBe('');
    }
    const ok = await fetch(`${url}/sgx/certification/v4/tcb?fmspc=${sim.fmspc}&tcbEvaluationDataNumber=${platform.record.tcbEvaluationDataNumber}`);
    expect(ok.status).toBe(200);
  });

  it('a PCS-speaking third-party client (dcap-qvl getCollateral) fetches collateral that verifies a sim quote', async () => {
    const quote = simQuote(platform);
    const collateral = await dcapQvl.getCollateral(url, quote);
    expect(collateral.tcb_info).toBe(sim.tcbInfoBody);
    const res = dcapQvl.QuoteVerifier.newWithRootCa(platform.rootCertDer).verify(quote, collateral, Math.floor(NOW.getTime() / 1000));
    expect(res.status).toBe('UpToDate');
  });

  it('notices a TCB profile change made by another process in the state dir', async () => {
    const other = await SimPlatform.load(platform.stateDir);
    await other.setTcbProfile('OutOfDate');
    try {
      const r = await createPcsClient({ baseUrl: url }).getTcbInfo('SGX', sim.fmspc);
      const expected = await other.collateral({ now: NOW });
      expect(r.body).toBe(expected.tcbInfoBody);
      expect(r.body).not.toBe(sim.tcbInfoBody);
    } finally {
      await other.setTcbProfile('UpToDate');
    }
    const back = await createPcsClient({ baseUrl: url }).getTcbInfo('SGX', sim.fmspc);
    expect(back.body).toBe(sim.tcbInfoBody);
  });

  it('parseListen', () => {
    expect(parseListen('127.0.0.1:8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('8081')).toThrow(/HOST:PORT/);
    expect(() => parseListen('h:99999')).toThrow(/out of range/);
  });
});
