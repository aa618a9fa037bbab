import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createVerifier } from '../../src/verify/index.js';
import {
  createBundleSource,
  createCollateralServer,
  createPcsClient,
  createPcsCollateralSource,
  createSimBackend,
  encodeIssuerChainHeader,
} from '../../src/pcs/index.js';
import { startReplayServer, type ReplayServer } from './helpers/replay-server.js';
import { TD, td, mobilecoin } from './helpers/testdata.js';
import { newSimPlatform, simQuote } from './helpers/sim.js';
import type { SimPlatform } from '../../src/providers/sim/index.js';

// End to end with the project's verifier: collateral obtained over HTTP from (a) our sim-backed server,
// (b) a loopback replay of Intel's PCS answers for the mobilecoin platform (stand-in for Intel's servers).

describe('collateral over HTTP verifies quotes with src/verify', () => {
  let app: FastifyInstance;
  let url: string;
  let platform: SimPlatform;
  const now = new Date('2026-02-01T10:00:00Z');

  beforeAll(async () => {
    ({ platform } = await newSimPlatform(now));
    app = createCollateralServer({ backend: await createSimBackend({ platform, now: () => now }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('a sim quote verifies (UpToDate, simulated) with collateral from our server, via the source interface', async () => {
    const source = createPcsCollateralSource({ client: createPcsClient({ baseUrl: url }) });
    const verifier = createVerifier({ source, trustedRoots: [platform.rootCertPem], now });
    const r = await verifier.verify(simQuote(platform));
    expect(r.status).toBe('UpToDate');
    expect(r.ok).toBe(true);
    expect(r.simulated).toBe(true);
    // Intel's root alone does not accept it
    const intelOnly = await createVerifier({ source, now }).verify(simQuote(platform));
    expect(intelOnly.ok).toBe(false);
  });

  describe('real mobilecoin quote, collateral replayed from PCS answers', () => {
    let pcs: ReplayServer;
    beforeAll(async () => {
      pcs = await startReplayServer({
        '/sgx/certification/v4/tcb': { headers: { 'TCB-Info-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.signerChainPem()) }, body: mobilecoin.tcbInfoResponse() },
        '/sgx/certification/v4/qe/identity': { headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.signerChainPem()) }, body: mobilecoin.qeIdentityResponse() },
        '/sgx/certification/v4/pckcrl': { headers: { 'SGX-PCK-CRL-Issuer-Chain': encodeIssuerChainHeader(mobilecoin.processorChainPem()) }, body: mobilecoin.processorCrl() },
        '/sgx/certification/v4/rootcacrl': { body: mobilecoin.rootCrlDer().toString('hex') },
      });
    });
    afterAll(() => pcs.close());

    it('gives the same verdict as the same collateral from the bundle file', async () => {
      const at = new Date('2023-07-13T00:00:00Z');
      const quote = td('mobilecoin/hw_quote.dat');
      const overHttp = await createVerifier({ source: createPcsCollateralSource({ client: createPcsClient({ baseUrl: pcs.url }) }), now: at }).verify(quote);
      const fromBundle = await createVerifier({ source: await createBundleSource(`${TD}/mobilecoin/collateral_dcap_qvl_format.json`), now: at }).verify(quote);
      expect(overHttp.status).toBe('SWHardeningNeeded');
      expect(overHttp.status).toBe(fromBundle.status);
      expect(overHttp.advisoryIds).toEqual(fromBundle.advisoryIds);
      expect(overHttp.simulated).toBe(false);
      expect(overHttp.fmspc?.toUpperCase()).toBe(mobilecoin.fmspc);
    });
  });
});
