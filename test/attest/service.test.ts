// The attestation service in process, driven by Microsoft's own client (`@azure/attestation@1.0.0`, the
// acceptance) over real HTTPS on loopback, and by raw requests for what that client never sends.
import { AttestationClient } from '@azure/attestation';
import { pino } from 'pino';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy, policyHash, rotateStateKey, startAttestService, verifyAttestationToken, type AttestService } from '../../src/attest/index.js';
import { APP, decodePart, raw, simQuoteFor, simWorld, type SimWorld } from './helpers.js';

let w: SimWorld;
let svc: AttestService;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  w = await simWorld();
  svc = await startAttestService({
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certPath: w.tlsCert, keyPath: w.tlsKey },
    keys: { kind: 'state', stateDir: join(w.dir, 'attest-state') },
    policy: defaultPolicy(),
    collateral: w.collateral,
    trustedRoots: [w.rootPem],
    logger: silent,
  });
}, 60_000);
afterAll(async () => {
  await svc?.close();
  w?.cleanup();
});

const client = () => new AttestationClient(svc.url, { tlsOptions: { ca: w.tlsCertPem } } as never);
const hex = (b: Buffer) => b.toString('hex');

describe("Microsoft's client against the service (HTTPS, loopback)", () => {
  it('attestSgxEnclave: a simulated quote gives an AttestationResult with the enclave identity and held data', async () => {
    const runtime = Buffer.from('{"jwk":"the enclave public key"}\n\x3f\x3e\x7e');
    const quote = simQuoteFor(w.platform, runtime);
    const res = await client().attestSgxEnclave(quote, { runTimeData: runtime });
    const r = res.body;
    expect(r.mrEnclave).toBe(hex(APP.mrEnclave));
    expect(r.mrSigner).toBe(hex(APP.mrSigner));
    expect(r.productId).toBe(APP.isvProdId);
    expect(r.svn).toBe(APP.isvSvn);
    expect(r.isDebuggable).toBe(false);
    expect(Buffer.from(r.enclaveHeldData!).equals(runtime)).toBe(true);
    expect(r.issuer).toBe(svc.url);
    expect(r.version).toBe('1.0');
    expect(Buffer.from(r.policyHash).toString('base64url')).toBe(policyHash(defaultPolicy().text));
    expect(r.sgxCollateral?.quotehash).toBe(createHash('sha256').update(quote).digest('hex'));
    expect(r.sgxCollateral?.tcbinfohash).toBe(createHash('sha256').update(w.collateral.tcbInfoBody).digest('hex'));

    const header = decodePart(res.token.serialize(), 0);
    const claims = decodePart(res.token.serialize(), 1);
    expect(header).toEqual({ alg: 'RS256', jku: `${svc.url}/certs`, kid: svc.keys.active!.kid, typ: 'JWT' });
    expect(claims['x-sqh-simulated']).toBe(true);
    expect(claims['x-sqh-platform']).toBe('SIMULATED');
    expect(claims['x-ms-attestation-type']).toBe('sgx');
    expect(claims['x-ms-sgx-report-data']).toBe(hex(quote.subarray(48 + 320, 48 + 384)));
    expect(claims['x-ms-sgx-ehd']).toBe(runtime.toString('base64url'));
    expect(claims.exp - claims.iat).toBe(8 * 3600);
    expect(claims['x-ms-sgx-collateral'].quotehash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runTimeJson / initTimeJson-free call: x-ms-runtime reaches runTimeClaims', async () => {
    const json = { keys: [{ kid: 'k1', kty: 'RSA', key_ops: ['encrypt'] }], n: 1 };
    const runtime = Buffer.from(JSON.stringify(json));
    const res = await client().attestSgxEnclave(simQuoteFor(w.platform, runtime), { runTimeJson: runtime });
    expect(res.body.runTimeClaims).toEqual(json);
  });

  it('attestOpenEnclave accepts the same quote as an Open Enclave report (with or without the OE header)', async () => {
    const runtime = Buffer.from('oe runtime');
    const quote = simQuoteFor(w.platform, runtime);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(2, 4);
    header.writeBigUInt64LE(BigInt(quote.length), 8);
    for (const report of [quote, Buffer.concat([header, quote])]) {
      const res = await client().attestOpenEnclave(report, { runTimeData: runtime });
      expect(res.body.mrEnclave).toBe(hex(APP.mrEnclave));
    }
  });

  it('getAttestationSigners returns our key and its X.509 chain; getOpenIdMetadata our metadata', async () => {
    const signers = await client().getAttestationSigners();
    expect(signers.map((s) => s.keyId)).toEqual([svc.keys.active!.kid]);
    expect(signers[0].certificates).toHaveLength(2);
    expect(signers[0].certificates[0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const meta = await client().getOpenIdMetadata();
    expect(meta).toMatchObject({ issuer: svc.url, jwks_uri: `${svc.url}/certs`, 'x-sqh-simulated-roots-trusted': true });
    expect(meta.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });

  it('a runtime-data mismatch is an attestation failure in MAA error shape, not a token', async () => {
    const quote = simQuoteFor(w.platform, Buffer.from('what the enclave bound'));
    const err = await client().attestSgxEnclave(quote, { runTimeData: Buffer.from('something else') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RestError', statusCode: 400, code: 'RuntimeDataMismatch' });
  });

  it('the token verifies with our strict verifier against /certs', async () => {
    const runtime = Buffer.from('strict');
    const res = await client().attestSgxEnclave(simQuoteFor(w.platform, runtime), { runTimeData: runtime });
    const v = await verifyAttestationToken(res.token.serialize(), {
      issuer: svc.url, fetch: { ca: w.tlsCertPem }, allowSimulated: true, expectedMrEnclave: hex(APP.mrEnclave), expectedMrSigner: hex(APP.mrSigner),
    });
    expect(v).toMatchObject({ ok: true, simulated: true });
    const strict = await verifyAttestationToken(res.token.serialize(), { issuer: svc.url, fetch: { ca: w.tlsCertPem } });
    expect(strict).toMatchObject({ ok: false, reason: 'SIMULATED' });
  });
});

describe('wire details Microsoft\'s client does not exercise', () => {
  const post = (path: string, body: unknown, contentType?: string) =>
    raw(`${svc.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ca: w.tlsCertPem, ...(contentType ? { contentType } : {}) });

  it('standard base64 with padding (2025-06-01) and unpadded base64url (Gramine, 2022-08-01) are both accepted', async () => {
    const runtime = Buffer.from('binary ?>~ runtime data!!');
    const quote = simQuoteFor(w.platform, runtime);
    const std = await post('/attest/SgxEnclave?api-version=2025-06-01', { quote: quote.toString('base64'), runtimeData: { data: runtime.toString('base64'), dataType: 'Binary' } });
    expect(std.status).toBe(200);
    expect(std.headers['content-type']).toMatch(/^application\/json/);
    expect(std.headers['x-ms-request-id']).toBeTruthy();
    const url = await post('/attest/SgxEnclave?api-version=2022-08-01', { quote: quote.toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' } });
    expect(url.status).toBe(200);
    expect(url.json.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/);
    expect(decodePart(url.json.token, 1)['x-ms-sgx-ehd']).toBe(runtime.toString('base64url'));
  });

  it('a nonce is echoed', async () => {
    const r = await post('/attest/SgxEnclave?api-version=2025-06-01', { quote: simQuoteFor(w.platform, undefined).toString('base64'), nonce: 'n-123' });
    expect(r.status).toBe(200);
    expect(decodePart(r.json.token, 1).nonce).toBe('n-123');
  });

  it('errors have MAA\'s shape and the x-ms-error-code header', async () => {
    const quote = simQuoteFor(w.platform, undefined).toString('base64url');
    const cases: Array<[Promise<Awaited<ReturnType<typeof post>>>, number, string]> = [
      [post('/attest/SgxEnclave', { quote }), 400, 'MissingApiVersionParameter'],
      [post('/attest/SgxEnclave?api-version=1999-01-01', { quote }), 400, 'UnsupportedApiVersion'],
      [post('/attest/TdxVm?api-version=2020-10-01', { quote }), 400, 'UnsupportedApiVersion'],
      [post('/attest/Tpm?api-version=2020-10-01', { quote }), 404, 'NotFound'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', '{not json'), 400, 'InvalidParameter'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', { quote: 'ab$cd' }), 400, 'InvalidParameter'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', { quote: Buffer.from('short').toString('base64url') }), 400, 'InvalidQuote'],
      [post('/attest/TdxVm?api-version=2025-06-01', { quote }), 400, 'InvalidQuote'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', { quote, draftPolicyForAttestation: 'version=1.0; authorizationrules{=>permit();};' }), 400, 'InvalidParameter'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', `{"quote":"${'A'.repeat(2 * 1024 * 1024)}"}`), 413, 'RequestTooLarge'],
      [post('/attest/SgxEnclave?api-version=2020-10-01', 'quote', 'text/plain'), 415, 'UnsupportedMediaType'],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect({ status: r.status, code: r.json?.error?.code }).toEqual({ status, code });
      expect(typeof r.json.error.message).toBe('string');
      expect(r.headers['x-ms-error-code']).toBe(code);
    }
  });

  it('/certs tolerates a trailing slash (Gramine) and is application/json with kty, kid, x5c only', async () => {
    for (const path of ['/certs', '/certs/', '/certs?api-version=2025-06-01']) {
      const r = await raw(`${svc.url}${path}`, { ca: w.tlsCertPem });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(Object.keys(r.json.keys[0]).sort()).toEqual(['kid', 'kty', 'x5c']);
      expect(r.json.keys[0].kty).toBe('RSA');
      expect(r.json['x-sqh-simulated-roots-trusted']).toBe(true);
    }
  });

  it('readyz, metrics count attestations by type and result', async () => {
    expect((await raw(`${svc.url}/readyz`, { ca: w.tlsCertPem })).status).toBe(200);
    const m = await raw(`${svc.url}/metrics`, { ca: w.tlsCertPem });
    expect(m.body).toMatch(/sqh_attest_attestations_total\{type="SgxEnclave",result="token"\} [1-9]/);
    expect(m.body).toMatch(/sqh_attest_attestations_total\{type="SgxEnclave",result="RuntimeDataMismatch"\} 1/);
    expect(m.body).toMatch(/sqh_attest_attestation_duration_seconds_count\{type="SgxEnclave"\} [1-9]/);
    expect(m.body).toMatch(/sqh_attest_simulated_roots_trusted 1/);
  });

  it('rotation: the new key signs, the old one stays in /certs and its tokens still verify', async () => {
    const runtime = Buffer.from('rotation');
    const before = await client().attestSgxEnclave(simQuoteFor(w.platform, runtime), { runTimeData: runtime });
    const oldKid = svc.keys.active!.kid;
    const newKid = await rotateStateKey({ stateDir: join(w.dir, 'attest-state'), issuer: svc.url, tokenLifetimeSeconds: 8 * 3600 });
    svc.reload();
    expect(svc.keys.active!.kid).toBe(newKid);
    const certs = await raw(`${svc.url}/certs`, { ca: w.tlsCertPem });
    expect(certs.json.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid, oldKid]);
    const after = await client().attestSgxEnclave(simQuoteFor(w.platform, runtime), { runTimeData: runtime });
    expect(decodePart(after.token.serialize(), 0).kid).toBe(newKid);
    for (const t of [before, after]) {
      expect(await verifyAttestationToken(t.token.serialize(), { issuer: svc.url, fetch: { ca: w.tlsCertPem }, allowSimulated: true })).toMatchObject({ ok: true });
    }
  });
});

describe('security defaults', () => {
  it("without the simulator's root trusted, a simulated quote gets no token", async () => {
    const intelOnly = await startAttestService({
      listen: { host: '127.0.0.1', port: 0 },
      keys: { kind: 'state', stateDir: join(w.dir, 'intel-only') },
      policy: defaultPolicy(),
      collateral: w.collateral,
      logger: silent,
    });
    try {
      expect(intelOnly.simulatedRootsTrusted).toBe(false);
      const c = new AttestationClient(intelOnly.url, { allowInsecureConnection: true } as never);
      const err = await c.attestSgxEnclave(simQuoteFor(w.platform, undefined)).catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 400, code: 'QuoteVerificationFailed' });
      expect((err as Error).message).toContain('PCK_CHAIN_UNTRUSTED');
      const meta = await c.getOpenIdMetadata();
      expect(meta['x-sqh-simulated-roots-trusted']).toBe(false);
    } finally {
      await intelOnly.close();
    }
  });

  it('plain HTTP is refused on a non-loopback address', async () => {
    await expect(startAttestService({
      listen: { host: '0.0.0.0', port: 0 }, keys: { kind: 'state', stateDir: join(w.dir, 'x') }, policy: defaultPolicy(), logger: silent,
    })).rejects.toThrow(/loopback/);
  });
});
