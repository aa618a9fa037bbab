// Hostile and unusual inputs: init-time data binding, Microsoft's client with a credential, and seeded
// mutations of a valid request — a 4xx in MAA's shape, never a 5xx or a token for a quote that fails.
import { AttestationClient } from '@azure/attestation';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy, startAttestService, type AttestService } from '../../src/attest/index.js';
import { prng } from '../support/prng.js';
import { APP, decodePart, raw, simQuoteFor, simWorld, type SimWorld } from './helpers.js';

let w: SimWorld;
let svc: AttestService;
beforeAll(async () => {
  w = await simWorld('sqh-attest-in-');
  svc = await startAttestService({
    listen: { host: '127.0.0.1', port: 0 }, tls: { certPath: w.tlsCert, keyPath: w.tlsKey },
    keys: { kind: 'state', stateDir: join(w.dir, 'keys') }, policy: defaultPolicy(), collateral: w.collateral,
    trustedRoots: [w.rootPem], logger: pino({ level: 'silent' }),
  });
}, 60_000);
afterAll(async () => {
  await svc?.close();
  w?.cleanup();
});
const client = (opts: object = {}) => new AttestationClient(svc.url, { tlsOptions: { ca: w.tlsCertPem }, ...opts } as never);

describe('init-time data', () => {
  it('binds to the first 32 bytes of CONFIGID and reaches initTimeClaims as JSON', async () => {
    const init = Buffer.from(JSON.stringify({ config: 'v1', replicas: 3 }));
    const configId = Buffer.concat([createHash('sha256').update(init).digest(), Buffer.alloc(32, 0x5a)]);
    const quote = simQuoteFor(w.platform, undefined, { ...APP, configId });
    const res = await client().attestSgxEnclave(quote, { initTimeJson: init });
    expect(res.body.initTimeClaims).toEqual({ config: 'v1', replicas: 3 });
    expect(decodePart(res.token.serialize(), 1)['x-ms-sgx-config-id']).toBe(configId.toString('hex'));
    const err = await client().attestSgxEnclave(quote, { initTimeData: Buffer.from('other') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 400, code: 'InitTimeDataMismatch' });
  });
});

describe("Microsoft's client with a credential", () => {
  it('with a TokenCredential (the client then adds a bearer token) attestation works as without one', async () => {
    const credential = { getToken: async () => ({ token: 'not-checked-by-attest', expiresOnTimestamp: Date.now() + 3600_000 }) };
    const c = new AttestationClient(svc.url, { credentials: credential, tlsOptions: { ca: w.tlsCertPem } } as never);
    const res = await c.attestSgxEnclave(simQuoteFor(w.platform, undefined));
    expect(res.body.mrSigner).toBe(APP.mrSigner.toString('hex'));
  });
});

describe('seeded mutations of a valid request', () => {
  it('bit flips, truncations, extensions and swapped runtime data: never a 5xx; a token only for a quote that still verifies', async () => {
    const seed = 1515;
    const rnd = prng(seed);
    const runtime = Buffer.from('runtime');
    const quote = simQuoteFor(w.platform, runtime);
    const results = new Map<string, number>();
    for (let i = 0; i < 120; i++) {
      let q = Buffer.from(quote);
      const kind = i % 4;
      if (kind === 0) {
        // flip a bit in the signed part, the signature, the QE report or the certification data
        const at = Math.floor(rnd() * q.length);
        q[at] ^= 1 << Math.floor(rnd() * 8);
      } else if (kind === 1) {
        q = q.subarray(0, Math.floor(rnd() * q.length));
      } else if (kind === 2) {
        q = Buffer.concat([q.subarray(0, 436), Buffer.from([Math.floor(rnd() * 256)]), q.subarray(436)]);
      }
      const body = kind === 3
        ? { quote: quote.toString('base64url'), runtimeData: { data: Buffer.from(`runtime${i}`).toString('base64url'), dataType: 'Binary' } }
        : { quote: q.toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' } };
      const r = await raw(`${svc.url}/attest/SgxEnclave?api-version=2020-10-01`, { method: 'POST', body: JSON.stringify(body), ca: w.tlsCertPem });
      if (r.status === 200) {
        // A flipped bit in a field no check covers (e.g. reserved certification-data padding) may still verify;
        // then the token must describe exactly the submitted quote.
        expect(decodePart(r.json.token, 1)['x-ms-sgx-collateral'].quotehash, `seed ${seed} case ${i}`).toBe(createHash('sha256').update(q).digest('hex'));
        expect(kind, `seed ${seed} case ${i}: only bit flips can leave a quote valid`).toBe(0);
      } else {
        expect(r.status, `seed ${seed} case ${i}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `seed ${seed} case ${i}`).toBeLessThan(500);
        expect(typeof r.json.error.code).toBe('string');
      }
      results.set(r.json?.error?.code ?? 'token', (results.get(r.json?.error?.code ?? 'token') ?? 0) + 1);
    }
    // The mutations reach different checks, not one early rejection.
    expect([...results.keys()]).toEqual(expect.arrayContaining(['InvalidQuote', 'QuoteVerificationFailed', 'RuntimeDataMismatch']));
    expect((await raw(`${svc.url}/healthz`, { ca: w.tlsCertPem })).status).toBe(200);
  }, 120_000);
});
