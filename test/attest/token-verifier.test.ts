// Our strict relying-party verifier against every forged-token case of the spec's experiment with
// Microsoft's client (alg none, keys in the header, unknown kid, expired, wrong issuer) and more.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing, base64url, ensureStateKeys, jwkSet, signJws, verifyAttestationToken, type JwkSet, type SigningKey } from '../../src/attest/index.js';

const ISS = 'https://attest.example.test';
const NOW = new Date();
const t = Math.floor(NOW.getTime() / 1000);
let dir: string;
let key: SigningKey;
let jwks: JwkSet;
let attacker: { pem: string; der: Buffer; key: ReturnType<typeof createPrivateKey> };

const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISS, iat: t, nbf: t, exp: t + 3600, 'x-ms-attestation-type': 'sgx', 'x-ms-sgx-is-debuggable': false,
  'x-ms-sgx-mrenclave': 'a1'.repeat(32), 'x-ms-sgx-mrsigner': 'b2'.repeat(32), 'x-sqh-simulated': false, ...over,
});
const good = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signJws({ alg: 'RS256', jku: `${ISS}/certs`, kid: key.kid, typ: 'JWT', ...header } as never, claims(over), key.privateKey!);
const verify = (token: string, o: Record<string, unknown> = {}) => verifyAttestationToken(token, { issuer: ISS, jwks, now: NOW, ...o });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-tokv-'));
  await ensureStateKeys({ stateDir: dir, issuer: ISS });
  const ring = new KeyRing({ kind: 'state', stateDir: dir }, 3600);
  ring.reload();
  key = ring.active!;
  jwks = jwkSet(ring.published());
  // An attacker's own self-signed certificate, as one would put into a forged token's header.
  const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=attacker', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86400_000), keys, signingAlgorithm: alg });
  attacker = { pem: cert.toString('pem'), der: Buffer.from(cert.rawData), key: createPrivateKey(x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY')) };
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verifyAttestationToken (strict)', () => {
  it('accepts a correctly signed token from the issuer and returns its claims', async () => {
    const r = await verify(good(), { expectedMrEnclave: 'A1'.repeat(32), expectedMrSigner: 'b2'.repeat(32) });
    expect(r).toMatchObject({ ok: true, kid: key.kid, simulated: false });
  });

  it('alg none with an empty signature (accepted by @azure/attestation 1.0.0)', async () => {
    const none = `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(claims()))}.`;
    expect(await verify(none)).toMatchObject({ ok: false, reason: 'ALG_NOT_ALLOWED' });
  });

  it('HS256 keyed with public material, PS256, RS384 are not allowed', async () => {
    for (const alg of ['HS256', 'PS256', 'RS384']) {
      const forged = `${base64url(JSON.stringify({ alg, kid: key.kid }))}.${base64url(JSON.stringify(claims()))}.c2ln`;
      expect(await verify(forged)).toMatchObject({ ok: false, reason: 'ALG_NOT_ALLOWED' });
    }
  });

  it('an attacker key in the header x5c / jwk, with an unknown kid or none (accepted by the client)', async () => {
    const x5c = [attacker.der.toString('base64')];
    const jwk = { kty: 'RSA', ...(attacker.key.export({ format: 'jwk' }) as object) };
    for (const header of [{ alg: 'RS256', kid: 'attacker', x5c }, { alg: 'RS256', x5c }, { alg: 'RS256', kid: key.kid, x5c }, { alg: 'RS256', kid: key.kid, jwk }]) {
      const forged = signJws(header as never, claims(), attacker.key);
      expect(await verify(forged)).toMatchObject({ ok: false, reason: 'HEADER_KEY_NOT_ALLOWED' });
    }
  });

  it('an unknown kid, a missing kid, a foreign jku', async () => {
    expect(await verify(signJws({ alg: 'RS256', kid: 'not-ours' }, claims(), attacker.key))).toMatchObject({ ok: false, reason: 'KID_UNKNOWN' });
    expect(await verify(signJws({ alg: 'RS256' }, claims(), key.privateKey!))).toMatchObject({ ok: false, reason: 'KID_MISSING' });
    expect(await verify(good({}, { jku: 'https://evil.test/certs' }))).toMatchObject({ ok: false, reason: 'JKU_MISMATCH' });
  });

  it('a known kid with the wrong key, and a tampered payload: bad signature', async () => {
    expect(await verify(signJws({ alg: 'RS256', kid: key.kid }, claims(), attacker.key))).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    const [h, , s] = good().split('.');
    const tampered = `${h}.${base64url(JSON.stringify(claims({ 'x-ms-sgx-mrenclave': 'ff'.repeat(32) })))}.${s}`;
    expect(await verify(tampered)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('expired, not yet valid, wrong issuer, no exp', async () => {
    expect(await verify(good({ exp: t - 3600 }))).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(await verify(good({ nbf: t + 3600 }))).toMatchObject({ ok: false, reason: 'NOT_YET_VALID' });
    expect(await verify(good({ iss: 'https://other.test' }))).toMatchObject({ ok: false, reason: 'ISSUER_MISMATCH' });
    expect(await verify(good({ exp: undefined }))).toMatchObject({ ok: false, reason: 'MALFORMED' });
    // within the allowed clock skew it is still fine
    expect(await verify(good({ exp: t - 30 }))).toMatchObject({ ok: true });
  });

  it('a published certificate that has expired (accepted by the client) is refused', async () => {
    expect(await verify(good(), { now: new Date(NOW.getTime() + 3 * 365 * 86400_000) })).toMatchObject({ ok: false, reason: 'CERTIFICATE_INVALID' });
  });

  it('pinned signer CA: the issuer chain must contain it', async () => {
    const ca = Buffer.from((jwks.keys[0].x5c as string[])[1], 'base64');
    expect(await verify(good(), { trustedSigners: [ca] })).toMatchObject({ ok: true });
    expect(await verify(good(), { trustedSigners: [attacker.pem] })).toMatchObject({ ok: false, reason: 'CERTIFICATE_INVALID' });
  });

  it('SIMULATED and debuggable enclaves only when allowed; expected measurements', async () => {
    expect(await verify(good({ 'x-sqh-simulated': true }))).toMatchObject({ ok: false, reason: 'SIMULATED' });
    expect(await verify(good({ 'x-sqh-simulated': true }), { allowSimulated: true })).toMatchObject({ ok: true, simulated: true });
    expect(await verify(good({ 'x-ms-sgx-is-debuggable': true }))).toMatchObject({ ok: false, reason: 'DEBUGGABLE' });
    expect(await verify(good(), { expectedMrEnclave: ['00'.repeat(32)] })).toMatchObject({ ok: false, reason: 'MRENCLAVE_MISMATCH' });
    expect(await verify(good(), { expectedMrSigner: '00'.repeat(32) })).toMatchObject({ ok: false, reason: 'MRSIGNER_MISMATCH' });
  });

  it('malformed input is a reason, never an exception', async () => {
    for (const s of ['', 'a.b', 'a.b.c.d', '!!.e30.', `${base64url('[1]')}.e30.`, 'x'.repeat(70_000)]) {
      expect(await verify(s)).toMatchObject({ ok: false, reason: 'MALFORMED' });
    }
  });

  it('ES256 keys sign and verify too; an ES256 token against an RSA key does not', async () => {
    const esDir = join(dir, 'es');
    await ensureStateKeys({ stateDir: esDir, issuer: ISS, alg: 'ES256' });
    const ring = new KeyRing({ kind: 'state', stateDir: esDir }, 3600);
    ring.reload();
    const es = ring.active!;
    expect(es.alg).toBe('ES256');
    const esJwks = jwkSet(ring.published());
    expect(esJwks.keys[0].kty).toBe('EC');
    const tok = signJws({ alg: 'ES256', kid: es.kid, typ: 'JWT' }, claims(), es.privateKey!);
    expect(await verify(tok, { jwks: esJwks })).toMatchObject({ ok: true });
    expect(await verify(tok, { jwks: esJwks, algorithms: ['RS256'] })).toMatchObject({ ok: false, reason: 'ALG_NOT_ALLOWED' });
    const confused = signJws({ alg: 'ES256', kid: key.kid }, claims(), es.privateKey!);
    expect(await verify(confused)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  });
});
