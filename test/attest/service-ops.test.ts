// The service's operational contract: bounded inputs (body, header time, connections), policy from a
// file, collateral from our collateral server through the SQLite cache, readiness tied to collateral and
// keys, keys loaded from files (a Kubernetes Secret), and serving-certificate reload.
import { AttestationClient } from '@azure/attestation';
import type { FastifyInstance } from 'fastify';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy, ensureStateKeys, parsePolicy, policyHash, startAttestService, type AttestService } from '../../src/attest/index.js';
import { CollateralCache, createCollateralServer, createPcsClient, createPcsCollateralSource, createSimBackend } from '../../src/pcs/index.js';
import { makeServingCert } from '../k8s/support/certs.js';
import { APP, decodePart, raw, simQuoteFor, simWorld, type SimWorld } from './helpers.js';

let w: SimWorld;
const silent = pino({ level: 'silent' });
beforeAll(async () => {
  w = await simWorld('sqh-attest-ops-');
}, 60_000);
afterAll(() => w?.cleanup());

const base = () => ({ listen: { host: '127.0.0.1', port: 0 }, logger: silent, trustedRoots: [w.rootPem] });
const attestBody = (quote: Buffer) => JSON.stringify({ quote: quote.toString('base64url') });
const post = (url: string, body: string) => raw(`${url}/attest/SgxEnclave?api-version=2020-10-01`, { method: 'POST', body });

function closed(sock: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('close', () => resolve(data));
    sock.on('error', () => undefined);
  });
}

describe('limits', () => {
  let svc: AttestService;
  beforeAll(async () => {
    svc = await startAttestService({
      ...base(), keys: { kind: 'state', stateDir: join(w.dir, 'limits') }, policy: defaultPolicy(), collateral: w.collateral,
      limits: { bodyLimitBytes: 32 * 1024, headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 3 },
    });
  }, 30_000);
  afterAll(() => svc.close());

  it('a body over the cap is refused with 413 in MAA shape before it is parsed', async () => {
    const r = await post(svc.url, `{"quote":"${'A'.repeat(40 * 1024)}"}`);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('RequestTooLarge');
  });

  it('a client that never finishes its headers is disconnected', async () => {
    const port = new URL(svc.url).port;
    const sock = connect(Number(port), '127.0.0.1');
    sock.write('POST /attest/SgxEnclave?api-version=2020-10-01 HTTP/1.1\r\nHost: x\r\n');
    const answer = await closed(sock);
    expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
  });

  it('connections beyond the cap are closed; the service keeps answering', async () => {
    const port = Number(new URL(svc.url).port);
    const held: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 100)); // let the server accept them
    const extra = connect(port, '127.0.0.1');
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await closed(extra)).toBe('');
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await raw(`${svc.url}/healthz`)).status).toBe(200);
  });
});

describe('policy from a file', () => {
  it('an MRSIGNER allow-list and allowDebug false are enforced; the policy hash follows the file text', async () => {
    const text = JSON.stringify({ mrSigner: ['cc'.repeat(32)], allowDebug: false });
    const svc = await startAttestService({ ...base(), keys: { kind: 'state', stateDir: join(w.dir, 'pol') }, policy: parsePolicy(text), collateral: w.collateral });
    try {
      const r = await post(svc.url, attestBody(simQuoteFor(w.platform, undefined)));
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('PolicyEvaluationFailed');
      expect(r.json.error.message).toContain('MRSIGNER_MISMATCH');
      const signer = { ...APP, mrSigner: Buffer.alloc(32, 0xcc) };
      const ok = await post(svc.url, attestBody(simQuoteFor(w.platform, undefined, signer)));
      expect(ok.status).toBe(200);
      expect(decodePart(ok.json.token, 1)['x-ms-policy-hash']).toBe(policyHash(text));
      expect(policyHash(text)).not.toBe(policyHash(defaultPolicy().text));
      const debugEnclave = { ...signer, attributes: { flags: 0x07n, xfrm: 0xe7n } };
      const d = await post(svc.url, attestBody(simQuoteFor(w.platform, undefined, debugEnclave)));
      expect(d.json.error.message).toContain('DEBUG_NOT_ALLOWED');
    } finally {
      await svc.close();
    }
  });

  it('the default (MAA) policy issues tokens for debug enclaves and says so in x-ms-sgx-is-debuggable', async () => {
    const svc = await startAttestService({ ...base(), keys: { kind: 'state', stateDir: join(w.dir, 'pol') }, policy: defaultPolicy(), collateral: w.collateral });
    try {
      const r = await post(svc.url, attestBody(simQuoteFor(w.platform, undefined, { ...APP, attributes: { flags: 0x07n, xfrm: 0xe7n } })));
      expect(r.status).toBe(200);
      expect(decodePart(r.json.token, 1)).toMatchObject({ 'x-ms-sgx-is-debuggable': true, 'is-debuggable': true });
    } finally {
      await svc.close();
    }
  });

  it('policy files are checked field by field', () => {
    expect(() => parsePolicy('{"allowdebug": true}')).toThrow(/unknown field "allowdebug"/);
    expect(() => parsePolicy('{"acceptedStatuses": ["Fine"]}')).toThrow(/acceptedStatuses/);
    expect(() => parsePolicy('{"mrEnclave": "abc"}')).toThrow(/64 hex digits/);
    expect(() => parsePolicy('[]')).toThrow(/JSON object/);
  });
});

describe('collateral from our collateral server through the SQLite cache; readiness', () => {
  let pcs: FastifyInstance;
  let pcsUrl: string;
  beforeAll(async () => {
    pcs = createCollateralServer({ backend: await createSimBackend({ platform: w.platform }) });
    await pcs.listen({ host: '127.0.0.1', port: 0 });
    pcsUrl = `http://127.0.0.1:${(pcs.server.address() as AddressInfo).port}`;
  });
  afterAll(() => pcs.close());

  it('attests with fetched collateral, hashes what it used, goes unready when the source fails', async () => {
    const cache = CollateralCache.open(join(w.dir, 'cache.sqlite'));
    const svc = await startAttestService({
      ...base(), keys: { kind: 'state', stateDir: join(w.dir, 'pcs') }, policy: defaultPolicy(),
      source: createPcsCollateralSource({ client: createPcsClient({ baseUrl: pcsUrl }), cache }),
    });
    try {
      expect((await raw(`${svc.url}/readyz`)).status).toBe(200);
      const c = new AttestationClient(svc.url, { allowInsecureConnection: true } as never);
      const res = await c.attestSgxEnclave(simQuoteFor(w.platform, undefined));
      expect(res.body.mrEnclave).toBe(APP.mrEnclave.toString('hex'));
      expect(res.body.sgxCollateral?.tcbinfohash).toMatch(/^[0-9a-f]{64}$/);
      expect(decodePart(res.token.serialize(), 1)['x-sqh-simulated']).toBe(true);
      await pcs.close(); // the cache still holds fresh copies: attestations go on
      expect((await post(svc.url, attestBody(simQuoteFor(w.platform, undefined)))).status).toBe(200);
    } finally {
      await svc.close();
      cache.close();
    }
    // no cache and no server: a clear 503, and /readyz says why
    const down = await startAttestService({
      ...base(), keys: { kind: 'state', stateDir: join(w.dir, 'pcs') }, policy: defaultPolicy(),
      source: createPcsCollateralSource({ client: createPcsClient({ baseUrl: pcsUrl }) }),
    });
    try {
      const r = await post(down.url, attestBody(simQuoteFor(w.platform, undefined)));
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('CollateralUnavailable');
      const ready = await raw(`${down.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json.reason).toMatch(/collateral/);
      // the source comes back (same address): /readyz retries the failed query and the instance is ready again
      const again = createCollateralServer({ backend: await createSimBackend({ platform: w.platform }) });
      await again.listen({ host: '127.0.0.1', port: Number(new URL(pcsUrl).port) });
      try {
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 200));
          status = (await raw(`${down.url}/readyz`)).status;
        }
        expect(status).toBe(200);
        expect((await post(down.url, attestBody(simQuoteFor(w.platform, undefined)))).status).toBe(200);
      } finally {
        await again.close();
      }
    } finally {
      await down.close();
    }
  }, 60_000);
});

describe('keys from files (a Kubernetes Secret) and TLS reload', () => {
  it('signs with the given key, publishes the previous certificate too, and serves a replaced TLS certificate', async () => {
    // Make two key pairs the way an operator would (here: with our own generator), then mount them as files.
    for (const d of ['gen-a', 'gen-b']) await ensureStateKeys({ stateDir: join(w.dir, d), issuer: 'https://attest.example' });
    const pick = (d: string) => {
      const idx = JSON.parse(readFileSync(join(w.dir, d, 'signing-keys.json'), 'utf8'));
      return { key: join(w.dir, d, idx.keys[0].keyFile), cert: join(w.dir, d, idx.keys[0].certFile), kid: idx.keys[0].kid as string };
    };
    const a = pick('gen-a');
    const b = pick('gen-b');
    const tlsCert = join(w.dir, 'reload.crt');
    const tlsKey = join(w.dir, 'reload.key');
    copyFileSync(w.tlsCert, tlsCert);
    copyFileSync(w.tlsKey, tlsKey);
    const svc = await startAttestService({
      ...base(), tls: { certPath: tlsCert, keyPath: tlsKey }, policy: defaultPolicy(), collateral: w.collateral,
      keys: { kind: 'files', keyFile: b.key, certFile: b.cert, previousCertFiles: [a.cert] },
    });
    try {
      const certs = await raw(`${svc.url}/certs`, { ca: w.tlsCertPem });
      expect(certs.json.keys.map((k: { kid: string }) => k.kid)).toEqual([b.kid, a.kid]);
      const c = new AttestationClient(svc.url, { tlsOptions: { ca: w.tlsCertPem } } as never);
      const res = await c.attestSgxEnclave(simQuoteFor(w.platform, undefined));
      expect(decodePart(res.token.serialize(), 0).kid).toBe(b.kid);

      const next = await makeServingCert('attest.test');
      writeFileSync(tlsCert, next.certPem);
      writeFileSync(tlsKey, next.keyPem);
      svc.reload();
      const port = Number(new URL(svc.url).port);
      const served = await new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: next.certPem }, () => {
          resolve(new X509Certificate(s.getPeerCertificate(true).raw).serialNumber);
          s.destroy();
        });
        s.on('error', reject);
      });
      expect(served.toLowerCase()).toBe(next.serialNumber.toLowerCase().padStart(served.length, '0'));
    } finally {
      await svc.close();
    }
  }, 60_000);
});
