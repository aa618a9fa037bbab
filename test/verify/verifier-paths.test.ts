import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollateralFormatError } from '../../src/pcs/bundle.js';
import type { Collateral, CollateralSource } from '../../src/pcs/types.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { parseQuote, type Quote } from '../../src/sgx/index.js';
import { createVerifier, verifyQuote } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { forgeQuote, simPckKey } from './forge.js';
import { crl, simKeys, simQuote } from './sim-fixtures.js';

/**
 * The verifier's own paths around the §5 checks (src/verify/verifier.ts): the quote's vendor id and
 * attestation key, where collateral and time come from, what a failure still reports, and the bounded
 * caches. Simulated platform and collateral (no SGX hardware here).
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const AT = new Date(NOW.getTime() + 600_000);
const t = tempDir('sqh-verify-paths-');
let sim: SimCollateral;
let quote: Buffer;
let pckKey: ReturnType<typeof simPckKey>;
let keys: Awaited<ReturnType<typeof simKeys>>;

beforeAll(async () => {
  const platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
  sim = await platform.collateral({ now: NOW });
  quote = simQuote(platform);
  pckKey = simPckKey(t.dir);
  keys = await simKeys(t.dir);
}, 60_000);
afterAll(() => t.cleanup());

const roots = () => ({ trustedRoots: [sim.rootCertDer] });

describe('quote header and attestation key', () => {
  it('a QE vendor id other than Intel\'s → QUOTE_FORMAT (even when correctly signed)', async () => {
    const q = forgeQuote(quote, { pckKey, editSigned: (s) => (s[12] ^= 0xff) });
    const r = await verifyQuote(q, { ...roots(), collateral: sim, now: AT });
    expect(r.reason).toBe('QUOTE_FORMAT');
    expect(r.message).toMatch(/vendor id .* is not Intel's/);
    // Failed before the chain was looked at: nothing is claimed about it.
    expect(r.simulated).toBe(false);
    expect(r.advisoryIds).toEqual([]);
    expect(r.fmspc).toBeUndefined();
  });

  it('an attestation "key" that is not a P-256 point → QUOTE_FORMAT', async () => {
    const q = forgeQuote(quote, { pckKey, rawAttestPubKey: Buffer.alloc(64, 0x01) });
    const r = await verifyQuote(q, { ...roots(), collateral: sim, now: AT });
    expect(r.reason).toBe('QUOTE_FORMAT');
    expect(r.message).toMatch(/not a valid P-256 point/);
  });

  it('an unexpected exception on hostile input is a failed result (UNEXPECTED_ERROR), never a throw', async () => {
    const broken = { ...parseQuote(quote), header: undefined } as unknown as Quote;
    const r = await verifyQuote(broken, { ...roots(), collateral: sim, now: AT });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe('UNEXPECTED_ERROR');
    expect(r.message).toMatch(/^unexpected error: /);
    expect(r.status).toBe('Invalid');
    expect(r.accepted).toBe(false);
  });
});

describe('collateral, time and policy come from the call or the verifier', () => {
  it('a source throwing a CollateralFormatError → COLLATERAL_FORMAT (not COLLATERAL_UNAVAILABLE)', async () => {
    const source: CollateralSource = { get: async () => { throw new CollateralFormatError('INVALID_FIELD', 'pckCrl', 'not hex'); } };
    const r = await createVerifier({ ...roots(), source, now: AT }).verify(quote);
    expect(r.reason).toBe('COLLATERAL_FORMAT');
    const failing: CollateralSource = { get: async () => { throw 'a string'; } };
    const f = await createVerifier({ ...roots(), source: failing, now: AT }).verify(quote);
    expect(f.reason).toBe('COLLATERAL_UNAVAILABLE');
    expect(f.message).toMatch(/collateral source failed: a string/);
  });

  it('given collateral wins over the source; the call\'s collateral wins over the verifier\'s', async () => {
    let asked = 0;
    const source: CollateralSource = { get: async () => (asked++, sim) };
    const v = createVerifier({ ...roots(), source, collateral: sim, now: AT });
    expect((await v.verify(quote)).ok).toBe(true);
    expect(asked).toBe(0);
    const other: Collateral = { ...sim, pckCrl: await crl(keys.pckCa, NOW, new Date(NOW.getTime() + 86_400_000), [keys.pckSerial]) };
    expect((await v.verify(quote, { collateral: other })).reason).toBe('PCK_REVOKED');
    const fromSource = await createVerifier({ ...roots(), source, now: AT }).verify(quote);
    expect(fromSource.ok).toBe(true);
    expect(fromSource.collateralStale).toBeUndefined();
    expect(asked).toBe(1);
  });

  it('now: a function is called per verification; the call\'s now wins', async () => {
    const times = [AT, new Date(NOW.getTime() + 40 * 86_400_000)];
    let calls = 0;
    const v = createVerifier({ ...roots(), collateral: sim, now: () => times[Math.min(calls++, 1)] });
    const a = await v.verify(quote);
    const b = await v.verify(quote);
    expect(calls).toBe(2);
    expect(a.verifiedAt).toBe(AT.toISOString());
    expect(a.collateralExpired).toBe(false);
    expect(b.collateralExpired).toBe(true);
    const c = await v.verify(quote, { now: AT });
    expect(calls).toBe(2);
    expect(c.verifiedAt).toBe(AT.toISOString());
  });

  it('policy: the call\'s policy wins over the verifier\'s', async () => {
    const v = createVerifier({ ...roots(), collateral: sim, now: AT, policy: { acceptedStatuses: ['OutOfDate'] } });
    const r = await v.verify(quote);
    expect(r.ok).toBe(true);
    expect(r.accepted).toBe(false);
    expect(r.policyViolations.map((p) => p.code)).toEqual(['STATUS_NOT_ACCEPTED']);
    expect((await v.verify(quote, { policy: {} })).accepted).toBe(true);
  });
});

describe('what a result says besides ok/status', () => {
  it('a failure under an explicitly trusted non-Intel root is still reported simulated, with platform facts', async () => {
    const r = await verifyQuote(quote, { ...roots(), collateral: { ...sim, pckCrl: await crl(keys.rootCa, NOW, new Date(NOW.getTime() + 86_400_000)) }, now: AT });
    expect(r.reason).toBe('CRL_UNKNOWN_ISSUER');
    expect(r.simulated).toBe(true);
    expect(r.fmspc).toBe(sim.fmspc);
    expect(r.pceId).toBe(sim.pceId);
    expect(r.caType).toBe(sim.caType);
    expect(r.teeType).toBe('SGX');
    expect(r.quoteVersion).toBe(3);
    expect(r.enclave).toBeUndefined();
    expect(r.qvResultName).toBe('SGX_QL_QV_RESULT_UNSPECIFIED');
  });

  it('a success reports the root, the collateral dates and the enclave', async () => {
    const r = await verifyQuote(quote, { ...roots(), collateral: sim, now: AT });
    expect(r.ok).toBe(true);
    expect(r.rootFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(r.collateralEarliestIssue).toBe(sim.issueDate.toISOString());
    expect(r.collateralEarliestExpiration).toBe(sim.nextUpdate.toISOString());
    expect(r.enclave?.isvProdId).toBe(7);
    expect(r.td).toBeUndefined();
    expect(r.qvResultName).toBe('SGX_QL_QV_RESULT_OK');
  });
});

describe('bounded caches', () => {
  it('maxCacheEntries bounds the verified contexts; evicted ones are checked again, same answer', async () => {
    const v = createVerifier({ ...roots(), now: AT, maxCacheEntries: 2 });
    const sets: Collateral[] = [];
    for (let i = 0; i < 3; i++) sets.push({ ...sim, pckCrl: await crl(keys.pckCa, new Date(NOW.getTime() - i * 1000), new Date(NOW.getTime() + 86_400_000)) });
    for (const c of sets) expect((await v.verify(quote, { collateral: c })).ok).toBe(true);
    expect(v.cacheSize).toBe(2);
    expect((await v.verify(quote, { collateral: sets[0] })).ok).toBe(true);
    expect(v.cacheSize).toBe(2);
  });

  it('the context cache is per PCK chain: another chain on the same collateral is checked, not served from the cache', async () => {
    const v = createVerifier({ ...roots(), collateral: sim, now: AT });
    expect((await v.verify(quote)).ok).toBe(true);
    // Same collateral, a chain whose PCK leaf is signed by a key that is not the PCK CA's.
    const { cryptoKeys, makeCert, pemOf, pemList, keyObjectOf } = await import('./forge.js');
    const x509 = await import('@peculiar/x509');
    const ext = new x509.X509Certificate(sim.pckCertPem).getExtension('1.2.840.113741.1.13.1')!;
    const lk = await cryptoKeys();
    const leaf = await makeCert({ cn: 'Intel SGX PCK Certificate', keys: lk, signer: await cryptoKeys(), issuerName: keys.pckCa.cert.subjectName, ca: false, extra: [ext] });
    const chain = pemList(sim.pckCertChainPem);
    const q = forgeQuote(quote, { pckKey: await keyObjectOf(lk), chainPem: [pemOf(leaf), chain[1], chain[2]] });
    const r = await v.verify(q);
    expect(r.reason).toBe('PCK_CHAIN_INVALID');
    expect(v.cacheSize).toBe(2);
    expect((await v.verify(quote)).ok).toBe(true);
  });

  it('a cached failure is answered again with the same reason', async () => {
    const v = createVerifier({ ...roots(), now: AT });
    const bad: Collateral = { ...sim, pckCrl: await crl(keys.pckCa, NOW, new Date(NOW.getTime() + 86_400_000), [keys.pckSerial]) };
    const a = await v.verify(quote, { collateral: bad });
    const b = await v.verify(quote, { collateral: bad });
    expect(a.reason).toBe('PCK_REVOKED');
    expect(b.reason).toBe('PCK_REVOKED');
    expect(b.message).toBe(a.message);
    expect(v.cacheSize).toBe(1);
    expect((await v.verify(quote, { collateral: sim })).ok).toBe(true);
  });

  it('many attestation keys and PCK chains do not break verification (bounded key cache)', async () => {
    const v = createVerifier({ ...roots(), collateral: sim, now: AT, maxCacheEntries: 1 });
    for (let i = 0; i < 3; i++) expect((await v.verify(forgeQuote(quote, { pckKey }))).ok).toBe(true);
    expect((await v.verify(quote)).ok).toBe(true);
  });
});
