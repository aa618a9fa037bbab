import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuoteVerifier } from '@phala/dcap-qvl';
import {
  createSimProvider,
  SimPlatform,
  TCB_PROFILES,
  TCB_STATUSES,
  tcbLevelsFor,
  toDcapQvlCollateral,
  type SimCollateral,
} from '../../src/providers/sim/index.js';
import {
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  parseQuote,
  QUOTE_V3_SIGNATURE_DATA_LENGTH_OFFSET,
  QUOTE_V3_SIGNED_LENGTH,
  SIGNATURE_DATA_LENGTH_SIZE,
} from '../../src/sgx/index.js';
import { APP, NOW, tempDir, VERIFY_SECS } from './helpers.js';

/**
 * Acceptance: simulated quotes verify with @phala/dcap-qvl@0.3.9 under the simulated root, with the status
 * each TCB profile should give, and fail under Intel's production root and after any tampering.
 * dcap-qvl merges platform and QE status "worst wins" and throws for Revoked and for no matching level.
 */

type DcapCollateral = ReturnType<typeof toDcapQvlCollateral>;

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function pemDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
}

/** `pem` with its certificate replaced by `der` (same length), keeping the exact line layout. */
function withDer(pem: string, der: Buffer): string {
  const b64 = der.toString('base64');
  let i = 0;
  return pem.replace(/(-----BEGIN CERTIFICATE-----)([\s\S]*?)(-----END CERTIFICATE-----)/, (_m, head: string, body: string, tail: string) =>
    head + body.replace(/[^\s]/g, () => b64[i++]) + tail);
}

/** Every `stride`-th byte of each certificate's DER flipped in turn, as a replacement PEM. */
function* tamperedCerts(pem: string, stride: number): Generator<[number, string]> {
  const der = pemDer(pem);
  for (let off = 0; off < der.length; off += stride) {
    const bad = Buffer.from(der);
    bad[off] ^= 0x01;
    yield [off, withDer(pem, bad)];
  }
}

describe('@phala/dcap-qvl accepts simulated quotes', () => {
  const t = tempDir();
  let platform: SimPlatform;
  let quote: Buffer;
  let collateral: SimCollateral;
  let dcap: DcapCollateral;
  let verifier: QuoteVerifier;

  const check = (q: Buffer | Uint8Array, c: DcapCollateral = dcap) => verifier.verify(q, c as never, VERIFY_SECS);
  const fails = (q: Buffer | Uint8Array, c: DcapCollateral = dcap): boolean => {
    try {
      check(q, c);
      return false;
    } catch {
      return true;
    }
  };

  beforeAll(async () => {
    platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
    const provider = await createSimProvider({ stateDir: t.dir, initIfMissing: false });
    const { targetInfo } = await provider.initQuote(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    const report = platform.ereport({ ...APP, targetInfo, reportData: Buffer.from('Hello, simulated world!') });
    quote = (await provider.getQuote({ report, attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID })).quote;
    collateral = await platform.collateral({ now: NOW });
    dcap = toDcapQvlCollateral(collateral);
    verifier = QuoteVerifier.newWithRootCa(platform.rootCertDer);
  });
  afterAll(() => t.cleanup());

  describe.each(TCB_PROFILES)('profile %s', (profile) => {
    it('gives the status dcap-qvl should give', async () => {
      await platform.setTcbProfile(profile);
      const c = toDcapQvlCollateral(await platform.collateral({ now: NOW }));
      if (profile === 'Revoked') {
        // The PCK certificate is in the PCK CRL: dcap-qvl rejects the chain.
        expect(() => check(quote, c)).toThrow('Certificate is revoked');
      } else if (profile === 'TcbLevelNotSupported') {
        expect(() => check(quote, c)).toThrow('No matching TCB level found');
      } else {
        const r = check(quote, c);
        expect(r.status).toBe(profile);
        const level = tcbLevelsFor(profile, { compSvns: [...platform.record.cpuSvn], pceSvn: platform.record.pceSvn })
          .find((l) => l.tcbStatus === profile);
        expect(r.advisory_ids).toEqual(level?.advisoryIDs ?? []);
        expect(Buffer.from((r.report.data as { reportData: Uint8Array }).reportData).subarray(0, 23).toString()).toBe('Hello, simulated world!');
      }
      // Never under Intel's production root.
      expect(() => new QuoteVerifier().verify(quote, c as never, VERIFY_SECS)).toThrow();
    });
  });

  it('restores UpToDate for the tamper tests', async () => {
    await platform.setTcbProfile('UpToDate');
    dcap = toDcapQvlCollateral(await platform.collateral({ now: NOW }));
    expect(check(quote).status).toBe('UpToDate');
    expect(TCB_STATUSES.length + 1).toBe(TCB_PROFILES.length);
  });

  it('rejects expired or not-yet-valid collateral', () => {
    expect(() => verifier.verify(quote, dcap as never, collateral.nextUpdate.getTime() / 1000 + 1)).toThrow(/expired/i);
    expect(() => verifier.verify(quote, dcap as never, collateral.issueDate.getTime() / 1000 - 1)).toThrow(/future/i);
  });

  function flipEach(buf: Buffer, start: number, end: number, stride = 1): number[] {
    const survivors: number[] = [];
    for (let off = start; off < end; off += stride) {
      const bad = Buffer.from(buf);
      bad[off] ^= 0x01;
      if (!fails(bad)) survivors.push(off);
    }
    return survivors;
  }

  it('fails after flipping any byte of the signed range [0, 432)', () => {
    expect(flipEach(quote, 0, QUOTE_V3_SIGNED_LENGTH)).toEqual([]);
  });

  it('fails after flipping any byte of the quote signature, attestation key, QE report, its signature and auth data', () => {
    const q = parseQuote(quote);
    const sigStart = quote.indexOf(q.signature);
    const authEnd = quote.indexOf(q.qe.qeAuthData) + q.qe.qeAuthData.length;
    expect(sigStart).toBe(QUOTE_V3_SIGNATURE_DATA_LENGTH_OFFSET + SIGNATURE_DATA_LENGTH_SIZE);
    expect(flipEach(quote, sigStart, authEnd)).toEqual([]);
  });

  it('fails after flipping bytes anywhere in the PCK certificate chain (each certificate, DER)', () => {
    const q = parseQuote(quote);
    const pems = q.qe.certificationData.type === 5 ? q.qe.certificationData.certificatesPem : [];
    expect(pems.length).toBe(3);
    const survivors: string[] = [];
    for (const [i, pem] of pems.entries()) {
      const at = quote.indexOf(Buffer.from(pem, 'latin1'));
      expect(at).toBeGreaterThan(0);
      for (const [off, badPem] of tamperedCerts(pem, 13)) {
        const badQuote = Buffer.from(quote);
        expect(badPem.length).toBe(pem.length);
        badQuote.write(badPem, at, 'latin1');
        if (!fails(badQuote)) survivors.push(`cert ${i} byte ${off}`);
      }
    }
    expect(survivors).toEqual([]);
  });

  it('fails after flipping bytes of the signed collateral (TCB info, QE identity, their signatures and signing chains)', () => {
    const survivors: string[] = [];
    const tryField = (field: keyof DcapCollateral, stride: number, hex = false) => {
      const value = dcap[field];
      const bytes = hex ? Buffer.from(value, 'hex') : Buffer.from(value, 'latin1');
      for (let off = 0; off < bytes.length; off += stride) {
        const bad = Buffer.from(bytes);
        bad[off] ^= 0x01;
        const c = { ...dcap, [field]: hex ? bad.toString('hex') : bad.toString('latin1') };
        if (!fails(quote, c)) survivors.push(`${field} byte ${off}`);
      }
    };
    tryField('tcb_info', 5);
    tryField('qe_identity', 5);
    tryField('tcb_info_signature', 1, true);
    tryField('qe_identity_signature', 1, true);
    for (const field of ['tcb_info_issuer_chain', 'qe_identity_issuer_chain'] as const) {
      for (const [i, pem] of (dcap[field].match(PEM_RE) ?? []).entries()) {
        for (const [off, badPem] of tamperedCerts(pem, 17)) {
          if (!fails(quote, { ...dcap, [field]: dcap[field].replace(pem, badPem) })) survivors.push(`${field} cert ${i} byte ${off}`);
        }
      }
    }
    expect(survivors).toEqual([]);
  });

  it('also verifies a platform-CA platform (7-entry SGX extension, "Intel SGX PCK Platform CA")', async () => {
    const u = tempDir();
    try {
      const p = await SimPlatform.init({ stateDir: u.dir, now: NOW, caType: 'platform', tcbProfile: 'ConfigurationNeeded' });
      const prov = await createSimProvider({ stateDir: u.dir, initIfMissing: false });
      const { targetInfo } = await prov.initQuote(DEFAULT_ECDSA_P256_ATT_KEY_ID);
      const report = p.ereport({ ...APP, targetInfo, reportData: Buffer.alloc(64, 7) });
      const q = (await prov.getQuote({ report, attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID })).quote;
      const c = await p.collateral({ now: NOW });
      expect(c.pckCrlIssuerChain).toContain('-----BEGIN CERTIFICATE-----');
      const r = QuoteVerifier.newWithRootCa(p.rootCertDer).verify(q, toDcapQvlCollateral(c) as never, VERIFY_SECS);
      expect(r.status).toBe('ConfigurationNeeded');
      // a quote of one simulated platform does not verify under another platform's root
      expect(() => verifier.verify(q, toDcapQvlCollateral(c) as never, VERIFY_SECS)).toThrow();
    } finally {
      u.cleanup();
    }
  });
});
