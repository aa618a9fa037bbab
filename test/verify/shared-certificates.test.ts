import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { CertificateCache, pemCertificates } from '../../src/verify/certificate.js';
import { createVerifier } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { simQuote } from './sim-fixtures.js';

/**
 * Certificates other than PCK certificates (roots, PCK CAs, TCB signing certificates) are parsed once per
 * process and shared by every verifier (src/verify/certificate.ts), so a new verifier or a new platform
 * does not parse them, import their keys or verify their signatures again. What is shared is the parse
 * and the signature results, never trust: each verifier still anchors every chain in its own roots.
 * Simulated platforms (no SGX hardware here), each with its own PKI.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const AT = new Date(NOW.getTime() + 600_000);
const a = tempDir('sqh-shared-certs-a-');
const b = tempDir('sqh-shared-certs-b-');
let simA: SimCollateral;
let simB: SimCollateral;
let quoteA: Buffer;
let quoteB: Buffer;

beforeAll(async () => {
  const pa = await SimPlatform.init({ stateDir: a.dir, now: NOW });
  const pb = await SimPlatform.init({ stateDir: b.dir, now: NOW });
  simA = await pa.collateral({ now: NOW });
  simB = await pb.collateral({ now: NOW });
  quoteA = simQuote(pa);
  quoteB = simQuote(pb);
}, 60_000);
afterAll(() => {
  a.cleanup();
  b.cleanup();
});

describe('certificates shared between verifiers', () => {
  it('two caches hand out one parse of a CA or TCB signing certificate, and separate parses of a PCK certificate', () => {
    const [signing, root] = pemCertificates(simA.tcbInfoIssuerChain);
    const [pck, pckCa] = pemCertificates(simA.pckCertChainPem);
    const one = new CertificateCache();
    const two = new CertificateCache();
    expect(two.get(root!)).toBe(one.get(root!));
    expect(two.get(signing!)).toBe(one.get(signing!));
    expect(two.get(pckCa!)).toBe(one.get(pckCa!));
    expect(two.get(pck!)).not.toBe(one.get(pck!));
    expect(two.get(pck!).fingerprint).toBe(one.get(pck!).fingerprint);
    // A copy of the bytes is the same certificate: found by content, not by buffer.
    expect(two.get(Buffer.from(root!))).toBe(one.get(root!));
  });

  it('a verifier that trusts root A does not trust root B because another verifier did', async () => {
    const trustsB = createVerifier({ trustedRoots: [simB.rootCertDer], now: AT });
    const okB = await trustsB.verify(quoteB, { collateral: simB });
    expect(okB.ok).toBe(true);
    // B's root, CA and TCB signing certificate are now parsed and their signatures checked in this process.
    const trustsA = createVerifier({ trustedRoots: [simA.rootCertDer], now: AT });
    const r = await trustsA.verify(quoteB, { collateral: simB });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe('PCK_CHAIN_UNTRUSTED');
    const trustsIntelOnly = createVerifier({ now: AT });
    expect((await trustsIntelOnly.verify(quoteB, { collateral: simB })).reason).toBe('PCK_CHAIN_UNTRUSTED');
    // And the verifier that trusts A still verifies A's quotes, and B's verifier still B's.
    expect((await trustsA.verify(quoteA, { collateral: simA })).ok).toBe(true);
    expect((await createVerifier({ trustedRoots: [simB.rootCertDer], now: AT }).verify(quoteB, { collateral: simB })).ok).toBe(true);
  });

  it("A's quote with B's TCB info is refused by a verifier trusting both roots, with every certificate shared", async () => {
    await createVerifier({ trustedRoots: [simA.rootCertDer, simB.rootCertDer], now: AT }).verify(quoteA, { collateral: simA });
    const both = createVerifier({ trustedRoots: [simA.rootCertDer, simB.rootCertDer], now: AT });
    const mixed = await both.verify(quoteA, { collateral: { ...simA, tcbInfoIssuerChain: simB.tcbInfoIssuerChain, tcbInfoBody: simB.tcbInfoBody, tcbInfoSignature: simB.tcbInfoSignature } });
    expect(mixed.ok).toBe(false);
    // The set's root CA CRL is A's, and it does not verify under the TCB info chain's root (B's).
    expect(mixed.reason).toBe('CRL_INVALID_SIGNATURE');
  });
});
