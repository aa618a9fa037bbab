import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { CertType, encodeQuote, parseQuote, pemChainCertificationData, type Quote } from '../../src/sgx/index.js';
import { VerifierConfigError, createVerifier, verifyQuote, type VerificationResult } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { TESTDATA as TD } from '../support/testdata.js';
import { intelName } from '../../src/providers/sim/pki.js';
import { cryptoKeys, forgeQuote, keyObjectOf, makeCert, newP256, pemList, pemOf, simPckKey } from './forge.js';
import { signJson, simKeys, simQuote, type SimKeys } from './sim-fixtures.js';

/**
 * The verifier's own guards (src/verify/verifier.ts) that the per-check tests do not reach: inputs that
 * are not a Buffer, an already parsed Quote whose fields do not fit together (the API accepts parsed
 * quotes, so nothing but these guards stands between such an object and a read outside its bytes), a PCK
 * SGX extension that does not parse, what an early failure reports, and a non-Error thrown from inside.
 * Simulated platform and collateral (no SGX hardware here), and Intel's real TDX quote and collateral.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const AT = new Date(NOW.getTime() + 600_000);
const SGX_EXT_OID = '1.2.840.113741.1.13.1';
const t = tempDir('sqh-verify-guards-');
let sim: SimCollateral;
let quote: Buffer;
let pckKey: ReturnType<typeof simPckKey>;
let keys: SimKeys;

beforeAll(async () => {
  const platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
  sim = await platform.collateral({ now: NOW });
  quote = simQuote(platform);
  pckKey = simPckKey(t.dir);
  keys = await simKeys(t.dir);
}, 60_000);
afterAll(() => t.cleanup());

const check = (q: Buffer | Uint8Array | Quote): Promise<VerificationResult> =>
  createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(q, { collateral: sim, now: AT });

function fails(r: VerificationResult, reason: string, message: RegExp): void {
  expect(r.ok, `expected ${reason}, got ok`).toBe(false);
  expect(r.reason, r.message).toBe(reason);
  expect(r.message).toMatch(message);
  expect(r.accepted).toBe(false);
}

describe('input forms', () => {
  it('a plain Uint8Array (not a Buffer) is parsed and verified like the Buffer', async () => {
    const bytes = new Uint8Array(quote.length);
    bytes.set(quote);
    expect(Buffer.isBuffer(bytes)).toBe(false);
    const r = await check(bytes);
    expect(r.reason, r.message).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.status).toBe('UpToDate');
    expect(r.quoteVersion).toBe(3);
  });
});

describe('a parsed Quote whose fields do not fit together', () => {
  it('a QE report shorter than 64 bytes (ATTRIBUTES at 48..63) → QUOTE_FORMAT, never a read past it', async () => {
    const q = parseQuote(forgeQuote(quote, { pckKey }));
    // A view of the first 40 bytes: the memory after it still holds the real report.
    q.qe.qeReportRaw = q.qe.qeReportRaw.subarray(0, 40);
    q.qe.qeReportSignature = sign('sha256', q.qe.qeReportRaw, { key: pckKey, dsaEncoding: 'ieee-p1363' });
    fails(await check(q), 'QUOTE_FORMAT', /a quote field lies outside the quote/);
  });

  it('a QE report of exactly 64 bytes still holds ATTRIBUTES and verifies', async () => {
    const q = parseQuote(forgeQuote(quote, { pckKey }));
    q.qe.qeReportRaw = Buffer.from(q.qe.qeReportRaw.subarray(0, 64));
    q.qe.qeReportSignature = sign('sha256', q.qe.qeReportRaw, { key: pckKey, dsaEncoding: 'ieee-p1363' });
    const r = await check(q);
    expect(r.reason, r.message).toBeUndefined();
    expect(r.ok).toBe(true);
  });

  it('a signed length past the end of the raw quote → QUOTE_FORMAT', async () => {
    const q = parseQuote(forgeQuote(quote, { pckKey }));
    q.signedLength = q.raw.length + 1;
    fails(await check(q), 'QUOTE_FORMAT', /a quote field lies outside the quote/);
  });

  it('a signed length of exactly the raw quote, signed by the attestation key, verifies', async () => {
    const ak = newP256();
    const q = parseQuote(forgeQuote(quote, { pckKey, attestationKey: ak }));
    q.signedLength = q.raw.length;
    q.signature = sign('sha256', q.raw, { key: ak, dsaEncoding: 'ieee-p1363' });
    const r = await check(q);
    expect(r.reason, r.message).toBeUndefined();
    expect(r.ok).toBe(true);
  });

  it('a TDX header with an SGX report body → QUOTE_FORMAT (on Intel\'s real TDX quote and collateral)', async () => {
    const tdx = parseQuote(readFileSync(`${TD}/dcap-qvl/tdx_quote`));
    const coll = parseCollateralBundle(readFileSync(`${TD}/dcap-qvl/tdx_quote_collateral.json`));
    const at = new Date('2025-06-19T12:00:00Z');
    expect((await verifyQuote(tdx, { collateral: coll, now: at })).ok).toBe(true);
    const mixed = { ...tdx, body: parseQuote(readFileSync(`${TD}/dcap-qvl/sgx_quote`)).body } as Quote;
    const r = await verifyQuote(mixed, { collateral: coll, now: at });
    fails(r, 'QUOTE_FORMAT', /a TDX quote carries an SGX report body/);
    expect(r.teeType).toBe('TDX');
  });
});

describe('a parsed Quote whose QE report data is not 64 bytes', () => {
  it('shorter than the 32 bytes of the binding → INVALID_QE_REPORT_DATA (not a RangeError)', async () => {
    const q = parseQuote(forgeQuote(quote, { pckKey }));
    q.qe.qeReport = { ...q.qe.qeReport, reportData: q.qe.qeReport.reportData.subarray(0, 16) };
    fails(await check(q), 'INVALID_QE_REPORT_DATA', /^QE report data is not SHA-256\(attestation key ‖ QE authentication data\)$/);
  });

  it('exactly the 32 bytes of the binding → compared and accepted', async () => {
    const q = parseQuote(forgeQuote(quote, { pckKey }));
    q.qe.qeReport = { ...q.qe.qeReport, reportData: q.qe.qeReport.reportData.subarray(0, 32) };
    const r = await check(q);
    expect(r.reason, r.message).toBeUndefined();
    expect(r.ok).toBe(true);
  });
});

describe('the PCK chain cache', () => {
  it('a chain in which every certificate differs from a verified one, each keeping its PEM tail, is checked again', async () => {
    // The cache finds a chain by the last 128 characters of each PEM and must then compare every one of
    // them in full: here no certificate is the same, yet every probe part is.
    const real = readFileSync(`${TD}/dcap-qvl/sgx_quote`);
    const coll = parseCollateralBundle(readFileSync(`${TD}/dcap-qvl/sgx_quote_collateral.json`));
    const v = createVerifier({ collateral: coll, now: new Date('2025-06-19T11:56:00Z') });
    const good = await v.verify(real);
    expect(good.ok, good.message).toBe(true);
    const q = parseQuote(real);
    const cd = q.qe.certificationData;
    if (cd.type !== CertType.PCK_CERT_CHAIN) throw new Error('fixture carries no PCK chain');
    const pems = cd.certificatesPem.map((pem) => {
      const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
      der[16] ^= 0x01; // a byte of the serial number, far from the PEM's tail
      return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    });
    expect(pems.map((p) => p.slice(-128))).toEqual(cd.certificatesPem.map((p) => p.slice(-128)));
    pems.forEach((p, i) => expect(p).not.toBe(cd.certificatesPem[i]));
    const data = pemChainCertificationData(pems);
    const forged = encodeQuote({ ...q, qe: { ...q.qe, certificationData: { type: 5, data, encoding: 'pem', pemChain: pems.join(''), certificatesPem: pems } } });
    const r = await v.verify(forged);
    // Served from the cache, this would verify; checked, its root (serial changed) no longer verifies itself.
    fails(r, 'PCK_CHAIN_INVALID', /root is not self-issued and self-signed/);
    expect(await v.verify(real)).toEqual(good);
  });
});

describe('the messages of the failures (the reason is asserted elsewhere; the text says which check)', () => {
  const tcbInfo = (edit: (o: Record<string, unknown>) => void) => {
    const o = JSON.parse(sim.tcbInfoBody) as Record<string, unknown>;
    edit(o);
    const body = JSON.stringify(o);
    return { ...sim, tcbInfoBody: body, tcbInfoSignature: signJson(body, keys.tcbSigningKey) };
  };
  const withCollateral = (q: Buffer, collateral: typeof sim) =>
    createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(q, { collateral, now: AT });

  it('FMSPC and PCE-ID mismatches name both values in upper case', async () => {
    const fmspc = await withCollateral(quote, tcbInfo((o) => (o.fmspc = sim.fmspc === 'ABCDEF012345' ? 'ABCDEF012346' : 'ABCDEF012345')));
    const other = sim.fmspc === 'ABCDEF012345' ? 'ABCDEF012346' : 'ABCDEF012345';
    fails(fmspc, 'TCB_INFO_MISMATCH', new RegExp(`^FMSPC ${sim.fmspc} of the PCK certificate differs from the TCB info's ${other}$`));
    const pce = sim.pceId === 'FFFE' ? 'FFFD' : 'FFFE';
    fails(await withCollateral(quote, tcbInfo((o) => (o.pceId = pce))), 'TCB_INFO_MISMATCH',
      new RegExp(`^PCE-ID ${sim.pceId} of the PCK certificate differs from the TCB info's ${pce}$`));
  });

  it('QE report signature, QE report data, quote signature, revoked TCB', async () => {
    const qeSig = forgeQuote(quote, { pckKey: newP256() });
    fails(await check(qeSig), 'INVALID_QE_REPORT_SIGNATURE', /^the QE report signature does not verify with the PCK certificate key$/);
    fails(await check(forgeQuote(quote, { pckKey, keepReportData: true })), 'INVALID_QE_REPORT_DATA',
      /^QE report data is not SHA-256\(attestation key ‖ QE authentication data\)$/);
    const badSig = forgeQuote(quote, { pckKey });
    badSig[100] ^= 0x01; // inside the report body, after the signature was made
    fails(await check(badSig), 'INVALID_QUOTE_SIGNATURE', /^the quote signature does not verify with the attestation key$/);
    const revoked = tcbInfo((o) => (o.tcbLevels as Array<Record<string, unknown>>).forEach((l) => (l.tcbStatus = 'Revoked')));
    fails(await withCollateral(quote, revoked), 'TCB_REVOKED', /^the TCB level of the platform, QE or TDX module is Revoked$/);
  });

  it('a PCK chain of the wrong length names the PCK certificate chain', async () => {
    const chain = pemList(sim.pckCertChainPem);
    fails(await check(forgeQuote(quote, { pckKey, chainPem: chain.slice(0, 2) })), 'PCK_CHAIN_FORMAT', /PCK certificate chain/);
  });

  it('no PCK chain anywhere, no collateral, an invalid time', async () => {
    const q = parseQuote(quote);
    q.qe.certificationData = { type: 4, data: Buffer.alloc(8) } as never;
    fails(await check(encodeQuote(q)), 'CERTIFICATION_DATA_UNSUPPORTED',
      /^the quote carries certification data type 4, not a PCK chain \(5\), and the collateral has no PCK chain$/);
    const none = await createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(quote, { now: AT });
    fails(none, 'COLLATERAL_MISSING', /^no collateral and no collateral source given$/);
    await expect(createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(quote, { now: new Date('not a date') }))
      .rejects.toThrow(/^the verification time \(now\) is not a valid Date$/);
  });
});

describe('the PCK certificate\'s SGX extension', () => {
  it('present but not parseable → PCK_CERT_FORMAT naming the extension (not UNEXPECTED_ERROR)', async () => {
    const leafKeys = await cryptoKeys();
    // An SGX extension holding a SEQUENCE with one INTEGER: none of the required entries.
    const bad = new x509.Extension(SGX_EXT_OID, false, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]));
    const leaf = await makeCert({ cn: 'Intel SGX PCK Certificate', keys: leafKeys, signer: keys.pckCa.keys, issuerName: keys.pckCa.cert.subjectName, ca: false, extra: [bad] });
    const chain = pemList(sim.pckCertChainPem);
    const q = forgeQuote(quote, { pckKey: await keyObjectOf(leafKeys), chainPem: [pemOf(leaf), chain[1], chain[2]] });
    fails(await check(q), 'PCK_CERT_FORMAT', /^PCK certificate SGX extension: /);
  });
});

describe('what a failure reports', () => {
  it('a failure before the collateral was looked at claims nothing about it', async () => {
    const q = forgeQuote(quote, { pckKey, editSigned: (s) => (s[12] ^= 0xff) });
    const r = await check(q);
    fails(r, 'QUOTE_FORMAT', /vendor id/);
    expect(r.status).toBe('Invalid');
    expect(r.collateralExpired).toBe(false);
    expect(r.expiredCollateral).toEqual([]);
    expect(r.advisoryIds).toEqual([]);
    expect(r.policyViolations.map((v) => v.code)).toEqual(['VERIFICATION_FAILED']);
    expect(r.collateralStale).toBeUndefined();
    expect(r.qeStatus).toBeUndefined();
    expect(r.platformStatus).toBeUndefined();
  });

  it('a non-Error thrown from inside is UNEXPECTED_ERROR with its text', async () => {
    const q = parseQuote(quote);
    Object.defineProperty(q, 'header', { get: () => { throw 'header unreadable'; } });
    const r = await check(q);
    fails(r, 'UNEXPECTED_ERROR', /^unexpected error: header unreadable$/);
    expect(r.status).toBe('Invalid');
  });
});

describe('trusted roots (QVL TRUSTED_ROOT_CA_INVALID): each must be a self-signed CA certificate', () => {
  const config = (roots: (string | Buffer)[]) => {
    try {
      createVerifier({ trustedRoots: roots });
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierConfigError);
      expect((e as Error).name).toBe('VerifierConfigError');
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('the simulated root is accepted, as PEM and as DER', () => {
    expect(config([sim.rootCertPem])).toBe('accepted');
    expect(config([sim.rootCertDer])).toBe('accepted');
  });

  it('self-signed but not a CA → "is not a CA certificate"', async () => {
    const k = await cryptoKeys();
    const cert = await makeCert({ cn: 'Intel SGX Root CA', keys: k, ca: false });
    expect(config([pemOf(cert)])).toBe('trusted root "Intel SGX Root CA" is not a CA certificate');
  });

  it('its own name as issuer but signed by another key → "is not self-signed"', async () => {
    const k = await cryptoKeys();
    const cert = await makeCert({ cn: 'Intel SGX Root CA', keys: k, signer: await cryptoKeys(), issuerName: intelName('Intel SGX Root CA'), ca: true });
    expect(config([pemOf(cert)])).toBe('trusted root "Intel SGX Root CA" is not self-signed');
  });

  it('a PEM text without a certificate, or DER that does not parse → the configuration error saying so', () => {
    expect(config(['no certificate here'])).toBe('a trusted root holds no certificate');
    expect(config([Buffer.from('garbage')])).toMatch(/^a trusted root does not parse: ./);
  });
});
