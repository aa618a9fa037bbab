import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { createHash, webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrl } from '../../src/providers/sim/crl.js';
import { EC_ALG, intelName } from '../../src/providers/sim/pki.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { rawPublicKey } from '../../src/providers/sim/quoting-enclave.js';
import type { Collateral } from '../../src/pcs/types.js';
import { parseQuote } from '../../src/sgx/index.js';
import { createVerifier, type VerificationResult } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { APP, crl, signJson, simKeys, simQuote, type SimKeys } from './sim-fixtures.js';
import {
  QE_REPORT,
  cryptoKeys,
  forgeQuote,
  issuedOf,
  keyObjectOf,
  makeCert,
  newP256,
  pemList,
  pemOf,
  simPckKey,
} from './forge.js';

/**
 * One direct test per check of the verification algorithm (spec §5, Intel QVL order), each asserting the
 * specific reason. Inputs are the simulator's quote and collateral (there is no SGX hardware here: the
 * simulator is the platform), changed in exactly one respect and re-signed with the simulator's own keys,
 * so every other check still passes and only the check under test can fail.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const AT = new Date(NOW.getTime() + 10 * 60_000);
const DAY = 86_400_000;
const SGX_EXT_OID = '1.2.840.113741.1.13.1';

type Json = Record<string, unknown>;

const t = tempDir('sqh-verify-checks-');
let platform: SimPlatform;
let sim: SimCollateral;
let base: Collateral;
let keys: SimKeys;
let quote: Buffer;
let qeSvn: number;
let pckKey: ReturnType<typeof simPckKey>;
let chain: string[];

beforeAll(async () => {
  platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
  await platform.setTcbProfile('UpToDate');
  sim = await platform.collateral({ now: NOW });
  base = { ...sim };
  keys = await simKeys(t.dir);
  quote = simQuote(platform);
  qeSvn = parseQuote(quote).qe.qeReport.isvSvn;
  pckKey = simPckKey(t.dir);
  chain = pemList(sim.pckCertChainPem);
}, 60_000);
afterAll(() => t.cleanup());

const verifier = () => createVerifier({ trustedRoots: [sim.rootCertDer] });

async function check(patch: Partial<Collateral> = {}, q: Buffer = quote, at: Date = AT): Promise<VerificationResult> {
  return verifier().verify(q, { collateral: { ...base, ...patch }, now: at });
}

function fails(r: VerificationResult, reason: string, message?: RegExp): void {
  expect(r.ok, `expected ${reason}, got ok`).toBe(false);
  expect(r.reason, r.message).toBe(reason);
  if (message) expect(r.message).toMatch(message);
  expect(r.accepted).toBe(false);
}

function passes(r: VerificationResult, status = 'UpToDate'): void {
  expect(r.reason, r.message).toBeUndefined();
  expect(r.ok).toBe(true);
  expect(r.status).toBe(status);
}

/** The QE identity with `edit` applied, re-signed with the simulator's TCB Signing key. */
function qeIdentity(edit: (o: Json) => void): Partial<Collateral> {
  const o = JSON.parse(sim.qeIdentityBody) as Json;
  edit(o);
  const body = JSON.stringify(o);
  return { qeIdentityBody: body, qeIdentitySignature: signJson(body, keys.tcbSigningKey) };
}

function tcbInfo(edit: (o: Json) => void): Partial<Collateral> {
  const o = JSON.parse(sim.tcbInfoBody) as Json;
  edit(o);
  const body = JSON.stringify(o);
  return { tcbInfoBody: body, tcbInfoSignature: signJson(body, keys.tcbSigningKey) };
}

const window = (): [Date, Date] => [NOW, new Date(NOW.getTime() + 30 * DAY)];
const hex32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex').toUpperCase();
};

describe('the unchanged simulated inputs verify (so each failure below is the one change)', () => {
  it('sim quote + sim collateral → UpToDate, nothing expired', async () => {
    const r = await check();
    passes(r);
    expect(r.qeStatus).toBe('UpToDate');
    expect(r.collateralExpired).toBe(false);
    expect(r.simulated).toBe(true);
  });

  it('a forged quote (new attestation key, QE report re-signed with the PCK key) verifies too', async () => {
    passes(await check({}, forgeQuote(quote, { pckKey })));
  });
});

describe('the enclave identity a result reports', () => {
  it('a DEBUG enclave (ATTRIBUTES.DEBUG, bit 1) verifies, is reported debug and is refused unless the policy allows debug', async () => {
    const plain = await check();
    expect(plain.enclave?.debug).toBe(false);
    expect(plain.accepted).toBe(true);
    const q = simQuote(platform, { ...APP, attributes: { flags: APP.attributes.flags | 0x02n, xfrm: APP.attributes.xfrm } });
    const r = await check({}, q);
    passes(r);
    expect(r.enclave?.debug).toBe(true);
    expect(r.accepted).toBe(false);
    expect(r.policyViolations.map((v) => v.code)).toEqual(['DEBUG_NOT_ALLOWED']);
    expect((await verifier().verify(q, { collateral: base, now: AT, policy: { allowDebug: true } })).accepted).toBe(true);
  });

  it('MRENCLAVE, MRSIGNER, ISV prod id and SVN are the quote\'s, and a policy naming other values refuses it', async () => {
    const r = await check();
    const body = parseQuote(quote).body;
    if (body.type !== 'sgx') throw new Error('sim quote is not SGX');
    expect(r.enclave).toMatchObject({
      mrEnclave: body.report.mrEnclave.toString('hex'),
      mrSigner: body.report.mrSigner.toString('hex'),
      isvProdId: APP.isvProdId,
      isvSvn: APP.isvSvn,
    });
    const other = await verifier().verify(quote, { collateral: base, now: AT, policy: { mrEnclave: 'ab'.repeat(32), minIsvSvn: APP.isvSvn + 1 } });
    expect(other.policyViolations.map((v) => v.code)).toEqual(['MRENCLAVE_MISMATCH', 'ISV_SVN_TOO_LOW']);
  });
});

describe('§5.F.10 QE report vs QE identity', () => {
  it('MRSIGNER differs → QE_IDENTITY_MISMATCH', async () => {
    fails(await check(qeIdentity((o) => (o.mrsigner = 'AB'.repeat(32)))), 'QE_IDENTITY_MISMATCH', /MRSIGNER/);
    // One byte is enough.
    const one = Buffer.from(String((JSON.parse(sim.qeIdentityBody) as Json).mrsigner), 'hex');
    one[31] ^= 1;
    fails(await check(qeIdentity((o) => (o.mrsigner = one.toString('hex')))), 'QE_IDENTITY_MISMATCH', /MRSIGNER/);
  });

  it('an all-zero identity MRSIGNER is "not given" and not compared (QVL)', async () => {
    passes(await check(qeIdentity((o) => (o.mrsigner = '00'.repeat(32)))));
  });

  it('ISVPRODID differs → QE_IDENTITY_MISMATCH', async () => {
    const prod = parseQuote(quote).qe.qeReport.isvProdId;
    fails(await check(qeIdentity((o) => (o.isvprodid = prod + 1))), 'QE_IDENTITY_MISMATCH', /prod id/);
    fails(await check(qeIdentity((o) => (o.isvprodid = 0x100 + prod))), 'QE_IDENTITY_MISMATCH', /prod id/);
  });

  it('MISCSELECT is compared under the mask; the identity value is read little-endian', async () => {
    // The sim QE has MISCSELECT 0. An identity that wants bit 0 under a full mask rejects it.
    fails(await check(qeIdentity((o) => (o.miscselect = hex32(1)))), 'QE_IDENTITY_MISMATCH', /MISCSELECT/);
    // A QE whose MISCSELECT has bit 0 set (QE report re-signed), identity "01000000" = bit 0: passes.
    const bit0 = forgeQuote(quote, { pckKey, editQeReport: (r) => r.writeUInt32LE(1, QE_REPORT.miscSelect) });
    passes(await check(qeIdentity((o) => (o.miscselect = '01000000')), bit0));
    // "00000001" is bit 24, not bit 0.
    fails(await check(qeIdentity((o) => (o.miscselect = '00000001')), bit0), 'QE_IDENTITY_MISMATCH', /MISCSELECT/);
    // Bits outside the mask do not matter; the same bit inside the mask does.
    passes(await check(qeIdentity((o) => (o.miscselectMask = hex32(0xfffffffe))), bit0));
    fails(await check(qeIdentity((o) => (o.miscselectMask = hex32(0xffffffff))), bit0), 'QE_IDENTITY_MISMATCH', /MISCSELECT/);
    const high = forgeQuote(quote, { pckKey, editQeReport: (r) => r.writeUInt32LE(0x80000000, QE_REPORT.miscSelect) });
    fails(await check({}, high), 'QE_IDENTITY_MISMATCH', /MISCSELECT/);
    passes(await check(qeIdentity((o) => (o.miscselectMask = hex32(0x7fffffff))), high));
  });

  it('ATTRIBUTES: masked report value vs the identity value (not masked)', async () => {
    const id = JSON.parse(sim.qeIdentityBody) as Json;
    const attrs = Buffer.from(String(id.attributes), 'hex');
    const mask = Buffer.from(String(id.attributesMask), 'hex');
    // The identity wants a flag the QE does not have → mismatch.
    const want = Buffer.from(attrs);
    want[0] |= 0x20; // KSS, not set on the sim QE
    fails(await check(qeIdentity((o) => (o.attributes = want.toString('hex')))), 'QE_IDENTITY_MISMATCH', /ATTRIBUTES/);
    // The identity value is not masked: a bit the mask clears but the identity sets can never match.
    expect(mask[0] & 0x04).toBe(0); // Intel's mask clears MODE64BIT
    const unmasked = Buffer.from(attrs);
    unmasked[0] |= 0x04;
    fails(await check(qeIdentity((o) => (o.attributes = unmasked.toString('hex')))), 'QE_IDENTITY_MISMATCH', /ATTRIBUTES/);
    // Report bits outside the mask are ignored (XFRM bytes 8..15 are masked out)…
    const xfrm = forgeQuote(quote, { pckKey, editQeReport: (r) => (r[QE_REPORT.attributes + 8] ^= 0x80) });
    passes(await check({}, xfrm));
    // …but inside the mask they count, in every byte.
    const flags = forgeQuote(quote, { pckKey, editQeReport: (r) => (r[QE_REPORT.attributes + 7] ^= 0x01) });
    fails(await check({}, flags), 'QE_IDENTITY_MISMATCH', /ATTRIBUTES/);
    const maskAll = Buffer.alloc(16, 0xff).toString('hex');
    fails(await check(qeIdentity((o) => (o.attributesMask = maskAll)), xfrm), 'QE_IDENTITY_MISMATCH', /ATTRIBUTES/);
  });

  it('identity id must be QE for an SGX quote', async () => {
    fails(await check(qeIdentity((o) => (o.id = 'QVE'))), 'QE_IDENTITY_MISMATCH', /QVE.*needs QE/);
    fails(await check(qeIdentity((o) => (o.id = 'TD_QE'))), 'QE_IDENTITY_MISMATCH', /TD_QE.*needs QE/);
  });

  describe('ISVSVN → QE TCB level: JSON order, first level with isvsvn ≤ the QE\'s', () => {
    const lvl = (isvsvn: number, tcbStatus: string, date = '2025-01-01T00:00:00Z', advisoryIDs?: string[]) => ({
      tcb: { isvsvn }, tcbDate: date, tcbStatus, ...(advisoryIDs ? { advisoryIDs } : {}),
    });

    it('a level equal to the QE SVN is the QE\'s level', async () => {
      const r = await check(qeIdentity((o) => (o.tcbLevels = [lvl(qeSvn + 1, 'UpToDate'), lvl(qeSvn, 'OutOfDate', '2024-02-02T00:00:00Z', ['INTEL-SA-00999'])])));
      passes(r, 'OutOfDate');
      expect(r.qeStatus).toBe('OutOfDate');
      expect(r.advisoryIds).toEqual(['INTEL-SA-00999']);
      expect(r.tcbDate).toBe('2024-02-02T00:00:00Z');
    });

    it('the first match in JSON order wins, even when a later level is higher', async () => {
      const r = await check(qeIdentity((o) => (o.tcbLevels = [lvl(0, 'OutOfDate'), lvl(qeSvn, 'UpToDate')])));
      passes(r, 'OutOfDate');
      expect(r.qeStatus).toBe('OutOfDate');
      const up = await check(qeIdentity((o) => (o.tcbLevels = [lvl(qeSvn, 'UpToDate'), lvl(0, 'OutOfDate')])));
      passes(up, 'UpToDate');
    });

    it('SWHardeningNeeded / ConfigurationNeeded QE levels count as OutOfDate (only UpToDate is OK)', async () => {
      for (const s of ['SWHardeningNeeded', 'ConfigurationNeeded', 'OutOfDateConfigurationNeeded']) {
        const r = await check(qeIdentity((o) => (o.tcbLevels = [lvl(qeSvn, s)])));
        passes(r, 'OutOfDate');
        expect(r.qeStatus, s).toBe('OutOfDate');
      }
    });

    it('a Revoked QE level → TCB_REVOKED', async () => {
      const r = await check(qeIdentity((o) => (o.tcbLevels = [lvl(qeSvn + 1, 'UpToDate'), lvl(qeSvn - 1, 'Revoked')])));
      fails(r, 'TCB_REVOKED');
      expect(r.status).toBe('Revoked');
      expect(r.qeStatus).toBe('Revoked');
    });

    it('every level above the QE SVN → QE_TCB_NOT_SUPPORTED', async () => {
      const r = await check(qeIdentity((o) => (o.tcbLevels = [lvl(qeSvn + 2, 'UpToDate'), lvl(qeSvn + 1, 'OutOfDate')])));
      fails(r, 'QE_TCB_NOT_SUPPORTED');
      expect(r.status).toBe('TcbLevelNotSupported');
      expect(r.qeStatus).toBeUndefined();
    });
  });
});

describe('§5.F.7 QE report signature (S2)', () => {
  it('a QE report byte changed after signing → INVALID_QE_REPORT_SIGNATURE', async () => {
    const q = parseQuote(quote);
    const bad = Buffer.from(quote);
    const at = quote.indexOf(q.qe.qeReportRaw);
    expect(at).toBeGreaterThan(0);
    bad[at + QE_REPORT.isvSvn] ^= 1;
    const r = await check({}, bad);
    fails(r, 'INVALID_QE_REPORT_SIGNATURE');
    expect(r.status).toBe('InvalidSignature');
  });

  it('a QE report signed by a key other than the PCK certificate\'s → INVALID_QE_REPORT_SIGNATURE', async () => {
    fails(await check({}, forgeQuote(quote, { pckKey: newP256() })), 'INVALID_QE_REPORT_SIGNATURE');
  });
});

describe('§5.F.8 QE report data binds the attestation key (S3)', () => {
  it('report data of another attestation key → INVALID_QE_REPORT_DATA', async () => {
    // New attestation key signs the quote, the QE report still carries the old key's hash (re-signed by the PCK).
    const r = await check({}, forgeQuote(quote, { pckKey, keepReportData: true }));
    fails(r, 'INVALID_QE_REPORT_DATA');
    expect(r.status).toBe('Invalid');
  });

  it('QE authentication data changed → INVALID_QE_REPORT_DATA', async () => {
    const q = parseQuote(quote);
    const auth = Buffer.from(q.qe.qeAuthData);
    auth[0] ^= 1;
    fails(await check({}, forgeQuote(quote, { pckKey, authData: auth, keepReportData: true })), 'INVALID_QE_REPORT_DATA');
    // With the binding recomputed over the new auth data it verifies: the hash covers key ‖ auth data.
    passes(await check({}, forgeQuote(quote, { pckKey, authData: auth })));
    passes(await check({}, forgeQuote(quote, { pckKey, authData: Buffer.alloc(0) })));
  });

  it('the hash is SHA-256(key ‖ auth data) in that order, compared on bytes 0..31 only', async () => {
    const att = newP256();
    const swapped = forgeQuote(quote, {
      pckKey, attestationKey: att,
      editQeReport: (r) => {
        const auth = parseQuote(quote).qe.qeAuthData;
        createHash('sha256').update(auth).update(rawPublicKey(att)).digest().copy(r, QE_REPORT.reportData);
      },
    });
    fails(await check({}, swapped), 'INVALID_QE_REPORT_DATA');
    passes(await check({}, forgeQuote(quote, { pckKey, editQeReport: (r) => r.fill(0x5a, QE_REPORT.reportData + 32, QE_REPORT.reportData + 64) })));
    fails(await check({}, forgeQuote(quote, { pckKey, editQeReport: (r) => (r[QE_REPORT.reportData + 31] ^= 1) })), 'INVALID_QE_REPORT_DATA');
  });
});

describe('§5.F.11 quote signature (S1)', () => {
  it('a report body byte changed → INVALID_QUOTE_SIGNATURE', async () => {
    for (const at of [0 + 8, 48, 48 + 64, 48 + 320, 431]) {
      const bad = Buffer.from(quote);
      bad[at] ^= 0x01;
      const r = await check({}, bad);
      fails(r, 'INVALID_QUOTE_SIGNATURE');
      expect(r.status).toBe('InvalidSignature');
    }
  });

  it('signed by a key other than the quote\'s attestation key → INVALID_QUOTE_SIGNATURE', async () => {
    const good = forgeQuote(quote, { pckKey });
    const other = forgeQuote(quote, { pckKey });
    const q = parseQuote(good);
    const bad = Buffer.from(good);
    other.copy(bad, q.signedLength + 4, q.signedLength + 4, q.signedLength + 68);
    fails(await check({}, bad), 'INVALID_QUOTE_SIGNATURE');
  });

  it('an edited body re-signed by the attestation key verifies and reports the new body', async () => {
    const edited = forgeQuote(quote, { pckKey, editSigned: (s) => s.fill(0x3c, 48 + 64, 48 + 96) });
    const r = await check({}, edited);
    passes(r);
    expect(r.enclave?.mrEnclave).toBe('3c'.repeat(32));
  });
});

describe('§5.C4 CRLs: issuer, extensions, signature', () => {
  it('PCK CRL signed with another key under the PCK CA\'s name → CRL_INVALID_SIGNATURE', async () => {
    const forged = await crl(issuedOf(keys.pckCa.cert, await cryptoKeys()), ...window());
    const r = await check({ pckCrl: forged });
    fails(r, 'CRL_INVALID_SIGNATURE', /PCK CRL/);
    expect(r.status).toBe('InvalidSignature');
  });

  it('root CA CRL signed with another key under the root\'s name → CRL_INVALID_SIGNATURE', async () => {
    const forged = await crl(issuedOf(keys.rootCa.cert, await cryptoKeys()), ...window());
    fails(await check({ rootCaCrl: forged }), 'CRL_INVALID_SIGNATURE', /root CA CRL/);
  });

  it('a CRL by a differently named CA → CRL_UNKNOWN_ISSUER', async () => {
    const otherKeys = await cryptoKeys();
    const platformCa = await makeCert({ cn: 'Intel SGX PCK Platform CA', keys: otherKeys, ca: true });
    fails(await check({ pckCrl: await crl(issuedOf(platformCa, otherKeys), ...window()) }), 'CRL_UNKNOWN_ISSUER', /PCK CRL issuer/);
    const noCa = await makeCert({ cn: 'Intel SGX PCK Certificate', keys: otherKeys, ca: true });
    fails(await check({ pckCrl: await crl(issuedOf(noCa, otherKeys), ...window()) }), 'CRL_UNKNOWN_ISSUER', /does not contain "CA"/);
    fails(await check({ rootCaCrl: await crl(issuedOf(platformCa, otherKeys), ...window()) }), 'CRL_UNKNOWN_ISSUER', /root CA CRL/);
    // The right name with the right key but in the wrong slot.
    fails(await check({ rootCaCrl: base.pckCrl }), 'CRL_UNKNOWN_ISSUER', /root CA CRL/);
  });

  async function crlWith(issuer: typeof keys.pckCa, exts: Array<'number' | 'aki'>): Promise<Buffer> {
    const [thisUpdate, nextUpdate] = window();
    const extensions: x509.Extension[] = [];
    if (exts.includes('number')) extensions.push(new x509.Extension('2.5.29.20', false, new asn1js.Integer({ value: 5 }).toBER()));
    if (exts.includes('aki')) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
    const c = await x509.X509CrlGenerator.create({
      issuer: issuer.cert.subjectName, thisUpdate, nextUpdate, signingAlgorithm: EC_ALG, signingKey: issuer.keys.privateKey, extensions,
    });
    return Buffer.from(c.rawData);
  }

  it('a CRL without CRL Number or without Authority Key Identifier → CRL_INVALID_EXTENSIONS', async () => {
    passes(await check({ pckCrl: await crlWith(keys.pckCa, ['number', 'aki']) }));
    fails(await check({ pckCrl: await crlWith(keys.pckCa, ['aki']) }), 'CRL_INVALID_EXTENSIONS', /PCK CRL/);
    fails(await check({ pckCrl: await crlWith(keys.pckCa, ['number']) }), 'CRL_INVALID_EXTENSIONS', /PCK CRL/);
    fails(await check({ rootCaCrl: await crlWith(keys.rootCa, []) }), 'CRL_INVALID_EXTENSIONS', /root CA CRL/);
  });
});

describe('§5.C6 CRL dates: outside [thisUpdate, nextUpdate] only flags CRL_EXPIRED', () => {
  it('PCK CRL past its nextUpdate', async () => {
    const old = await crl(keys.pckCa, new Date(NOW.getTime() - 40 * DAY), new Date(NOW.getTime() - 10 * DAY));
    const r = await check({ pckCrl: old });
    passes(r);
    expect(r.collateralExpired).toBe(true);
    expect(r.expiredCollateral).toEqual([
      { item: 'pckCrl', reason: 'CRL_EXPIRED', notBefore: new Date(NOW.getTime() - 40 * DAY).toISOString(), notAfter: new Date(NOW.getTime() - 10 * DAY).toISOString() },
    ]);
    expect(r.collateralEarliestExpiration).toBe(new Date(NOW.getTime() - 10 * DAY).toISOString());
    expect(r.policyViolations.map((v) => v.code)).toEqual(['COLLATERAL_EXPIRED']);
  });

  it('root CA CRL not yet valid (thisUpdate in the future)', async () => {
    const future = await crl(keys.rootCa, new Date(AT.getTime() + DAY), new Date(AT.getTime() + 30 * DAY));
    const r = await check({ rootCaCrl: future });
    passes(r);
    expect(r.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['rootCaCrl:CRL_EXPIRED']);
  });

  it('inside the window nothing is flagged', async () => {
    const r = await check({ pckCrl: await crl(keys.pckCa, new Date(AT.getTime() - DAY), new Date(AT.getTime() + DAY)) });
    expect(r.collateralExpired).toBe(false);
    expect(r.expiredCollateral).toEqual([]);
  });
});

describe('§5.C5 revocation', () => {
  it('PCK certificate serial in the PCK CRL → PCK_REVOKED', async () => {
    const r = await check({ pckCrl: await crl(keys.pckCa, ...window(), ['0102', keys.pckSerial]) });
    fails(r, 'PCK_REVOKED', new RegExp(keys.pckSerial.toLowerCase()));
    expect(r.status).toBe('Revoked');
  });

  it('PCK CA serial in the root CA CRL → INTERMEDIATE_REVOKED', async () => {
    const r = await check({ rootCaCrl: await crl(keys.rootCa, ...window(), [keys.pckCaSerial]) });
    fails(r, 'INTERMEDIATE_REVOKED');
    expect(r.status).toBe('Revoked');
  });

  it('other serials, or a serial in the CRL that does not judge it, revoke nothing', async () => {
    passes(await check({ pckCrl: await crl(keys.pckCa, ...window(), ['0102', '7e57']) }));
    passes(await check({ rootCaCrl: await crl(keys.rootCa, ...window(), [keys.pckSerial]) }));
    passes(await check({ pckCrl: await crl(keys.pckCa, ...window(), [keys.pckCaSerial]) }));
  });
});

describe('§5.C1–C3 PCK chain', () => {
  let sgxExt: x509.Extension;
  let leafKeys: Awaited<ReturnType<typeof cryptoKeys>>;
  let leafKey: ReturnType<typeof newP256>;
  beforeAll(async () => {
    const ext = new x509.X509Certificate(sim.pckCertPem).getExtension(SGX_EXT_OID);
    if (!ext) throw new Error('sim PCK certificate has no SGX extension');
    sgxExt = ext;
    leafKeys = await cryptoKeys();
    leafKey = await keyObjectOf(leafKeys);
  });

  const leaf = (o: Partial<Parameters<typeof makeCert>[0]> = {}) =>
    makeCert({ cn: 'Intel SGX PCK Certificate', keys: leafKeys, signer: keys.pckCa.keys, issuerName: keys.pckCa.cert.subjectName, ca: false, extra: [sgxExt], ...o });
  const withLeaf = async (o: Partial<Parameters<typeof makeCert>[0]> = {}, rest = chain.slice(1)) =>
    forgeQuote(quote, { pckKey: leafKey, chainPem: [pemOf(await leaf(o)), ...rest] });

  it('a new PCK leaf under the simulated PCK CA verifies (the baseline of this block)', async () => {
    passes(await check({}, await withLeaf()));
  });

  it('leaf CN without "SGX PCK Certificate" → PCK_CHAIN_INVALID', async () => {
    fails(await check({}, await withLeaf({ cn: 'Intel SGX PCK Cert' })), 'PCK_CHAIN_INVALID', /certificate 0 CN/);
  });

  it('leaf signed by another key under the PCK CA\'s name → PCK_CHAIN_INVALID', async () => {
    fails(await check({}, await withLeaf({ signer: await cryptoKeys() })), 'PCK_CHAIN_INVALID', /certificate 0 .*signature does not verify/);
  });

  it('leaf issuer name not the PCK CA\'s → PCK_CHAIN_INVALID', async () => {
    fails(await check({}, await withLeaf({ issuerName: intelName('Intel SGX PCK Platform CA') })), 'PCK_CHAIN_INVALID', /certificate 0 issuer is not/);
  });

  it('leaf that is a CA, or lacks digitalSignature → PCK_CHAIN_INVALID', async () => {
    fails(await check({}, await withLeaf({ ca: true })), 'PCK_CHAIN_INVALID', /end entity/);
    fails(await check({}, await withLeaf({ keyUsage: x509.KeyUsageFlags.nonRepudiation })), 'PCK_CHAIN_INVALID', /digitalSignature/);
  });

  it.each([
    ['2.5.29.35', 'authorityKeyIdentifier'],
    ['2.5.29.31', 'cRLDistributionPoints'],
    ['2.5.29.14', 'subjectKeyIdentifier'],
    ['2.5.29.15', 'keyUsage'],
    ['2.5.29.19', 'basicConstraints'],
  ])('leaf without %s (%s) → PCK_CHAIN_INVALID', async (oid) => {
    fails(await check({}, await withLeaf({ omit: oid })), 'PCK_CHAIN_INVALID', new RegExp(`lacks required extension.*${oid.replace(/\./g, '\\.')}`));
  });

  it('leaf without the SGX extension → PCK_CERT_FORMAT', async () => {
    fails(await check({}, await withLeaf({ extra: [] })), 'PCK_CERT_FORMAT', /SGX extension/);
  });

  describe('intermediate', () => {
    const inter = async (o: Partial<Parameters<typeof makeCert>[0]>) => {
      const k = await cryptoKeys();
      const cert = await makeCert({ cn: 'Intel SGX PCK Processor CA', keys: k, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: true, ...o });
      const l = await makeCert({ cn: 'Intel SGX PCK Certificate', keys: leafKeys, signer: k, issuerName: cert.subjectName, ca: false, extra: [sgxExt] });
      return { cert, keys: k, quote: forgeQuote(quote, { pckKey: leafKey, chainPem: [pemOf(l), pemOf(cert), chain[2]] }) };
    };

    it('a new PCK CA with its own PCK CRL verifies', async () => {
      const i = await inter({});
      passes(await check({ pckCrl: await crl(issuedOf(i.cert, i.keys), ...window()) }, i.quote));
      // The old PCK CA's CRL does not judge the new CA's certificates.
      fails(await check({}, i.quote), 'CRL_INVALID_SIGNATURE', /PCK CRL/);
    });

    it('not a CA, missing keyCertSign/cRLSign, CN without "CA", wrong signer → PCK_CHAIN_INVALID', async () => {
      fails(await check({}, (await inter({ ca: false })).quote), 'PCK_CHAIN_INVALID', /certificate 1 .*not a CA/);
      fails(await check({}, (await inter({ keyUsage: x509.KeyUsageFlags.keyCertSign })).quote), 'PCK_CHAIN_INVALID', /keyCertSign\/cRLSign/);
      fails(await check({}, (await inter({ keyUsage: x509.KeyUsageFlags.cRLSign })).quote), 'PCK_CHAIN_INVALID', /keyCertSign\/cRLSign/);
      fails(await check({}, (await inter({ cn: 'Intel SGX PCK Processor' })).quote), 'PCK_CHAIN_INVALID', /certificate 1 CN/);
      fails(await check({}, (await inter({ signer: await cryptoKeys() })).quote), 'PCK_CHAIN_INVALID', /certificate 1 .*signature does not verify/);
      fails(await check({}, (await inter({ issuerName: intelName('Intel SGX Root CA 2') })).quote), 'PCK_CHAIN_INVALID', /certificate 1 issuer is not/);
    });

    it('PCK CA past its notAfter only flags PCK_CERT_EXPIRED (pckCaCertificate)', async () => {
      const i = await inter({ notAfter: new Date(NOW.getTime() - DAY) });
      const r = await check({ pckCrl: await crl(issuedOf(i.cert, i.keys), ...window()) }, i.quote);
      passes(r);
      expect(r.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['pckCaCertificate:PCK_CERT_EXPIRED']);
    });
  });

  it('PCK leaf past its notAfter only flags PCK_CERT_EXPIRED (pckCertificate)', async () => {
    const r = await check({}, await withLeaf({ notAfter: new Date(NOW.getTime() - DAY) }));
    passes(r);
    expect(r.collateralExpired).toBe(true);
    expect(r.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['pckCertificate:PCK_CERT_EXPIRED']);
  });

  it('root: not self-signed → PCK_CHAIN_INVALID; CN without "SGX Root CA" → PCK_CHAIN_INVALID', async () => {
    const rootCert = new x509.X509Certificate(chain[2]);
    const notSelf = await makeCert({ cn: 'Intel SGX Root CA', keys: keys.rootCa.keys, signer: await cryptoKeys(), ca: true });
    fails(await check({}, await withLeaf({}, [chain[1], pemOf(notSelf)])), 'PCK_CHAIN_INVALID', /root is not self-issued and self-signed/);
    const badName = await makeCert({ cn: 'Intel SGX Root', keys: keys.rootCa.keys, ca: true });
    fails(await check({}, await withLeaf({}, [chain[1], pemOf(badName)])), 'PCK_CHAIN_INVALID', /certificate 2 CN/);
    expect(rootCert.subject).toContain('Intel SGX Root CA');
  });

  it('a root with the same name and key that is not the trusted certificate → PCK_CHAIN_UNTRUSTED', async () => {
    // Same key, same subject, another self-signed certificate: QVL compares the signature bytes.
    const twin = await makeCert({ cn: 'Intel SGX Root CA', keys: keys.rootCa.keys, ca: true });
    const r = await check({}, await withLeaf({}, [chain[1], pemOf(twin)]));
    fails(r, 'PCK_CHAIN_UNTRUSTED');
    expect(r.simulated).toBe(false);
    // A whole chain under another root of the same name.
    const rk = await cryptoKeys();
    const root2 = await makeCert({ cn: 'Intel SGX Root CA', keys: rk, ca: true });
    const ik = await cryptoKeys();
    const inter2 = await makeCert({ cn: 'Intel SGX PCK Processor CA', keys: ik, signer: rk, issuerName: root2.subjectName, ca: true });
    const leaf2 = await makeCert({ cn: 'Intel SGX PCK Certificate', keys: leafKeys, signer: ik, issuerName: inter2.subjectName, ca: false, extra: [sgxExt] });
    const q2 = forgeQuote(quote, { pckKey: leafKey, chainPem: [pemOf(leaf2), pemOf(inter2), pemOf(root2)] });
    fails(await check({}, q2), 'PCK_CHAIN_UNTRUSTED');
    // Trusting that root instead, the chain passes and the root CA CRL (same name, the other key) is what fails.
    const r2 = await createVerifier({ trustedRoots: [pemOf(root2)] }).verify(q2, { collateral: base, now: AT });
    fails(r2, 'CRL_INVALID_SIGNATURE', /root CA CRL/);
  });

  it('the chain must hold exactly 3 certificates → PCK_CHAIN_FORMAT', async () => {
    fails(await check({}, forgeQuote(quote, { pckKey, chainPem: chain.slice(0, 2) })), 'PCK_CHAIN_FORMAT', /has 2 certificates, expected exactly 3/);
    fails(await check({}, forgeQuote(quote, { pckKey, chainPem: [...chain, chain[2]] })), 'PCK_CHAIN_FORMAT', /has 4 certificates/);
  });
});

describe('§5.F.3–4 TCB info binding', () => {
  it('FMSPC or PCE-ID of the TCB info differ from the PCK certificate → TCB_INFO_MISMATCH', async () => {
    fails(await check(tcbInfo((o) => (o.fmspc = '00906ED50000'))), 'TCB_INFO_MISMATCH', /FMSPC/);
    fails(await check(tcbInfo((o) => (o.pceId = 'FFFF'))), 'TCB_INFO_MISMATCH', /PCE-ID/);
  });

  it('a TDX TCB info for an SGX quote → TCB_INFO_MISMATCH', async () => {
    const tdx = tcbInfo((o) => {
      o.id = 'TDX';
      o.tdxModule = { mrsigner: '00'.repeat(48), attributes: '00'.repeat(8), attributesMask: 'FF'.repeat(8) };
      for (const l of o.tcbLevels as Json[]) (l.tcb as Json).tdxtcbcomponents = Array.from({ length: 16 }, () => ({ svn: 0 }));
    });
    fails(await check(tdx), 'TCB_INFO_MISMATCH', /TCB info is for TDX, the quote is SGX/);
  });

  it('TCB info v2 for an SGX quote is accepted', async () => {
    const v2 = tcbInfo((o) => {
      o.version = 2;
      delete o.id;
      for (const l of o.tcbLevels as Json[]) {
        const tcb = l.tcb as Json;
        (tcb.sgxtcbcomponents as Array<{ svn: number }>).forEach((c, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = c.svn));
        delete tcb.sgxtcbcomponents;
      }
    });
    passes(await check(v2));
  });
});

describe('§5.G platform TCB level (PCK certificate TCB vs TCB info levels)', () => {
  const pckTcb = () => {
    const first = ((JSON.parse(sim.tcbInfoBody) as Json).tcbLevels as Json[])[0].tcb as { sgxtcbcomponents: Array<{ svn: number }>; pcesvn: number };
    return { comps: first.sgxtcbcomponents.map((c) => c.svn), pcesvn: first.pcesvn };
  };
  const level = (comps: number[], pcesvn: number, tcbStatus: string, tcbDate = '2025-01-01T00:00:00Z', advisoryIDs?: string[]) => ({
    tcb: { sgxtcbcomponents: comps.map((svn) => ({ svn })), pcesvn }, tcbDate, tcbStatus, ...(advisoryIDs ? { advisoryIDs } : {}),
  });

  it('a level with one component above the platform is skipped; the next one applies', async () => {
    const { comps, pcesvn } = pckTcb();
    for (const i of [0, 7, 15]) {
      const higher = comps.map((c, j) => (j === i ? c + 1 : c));
      const r = await check(tcbInfo((o) => (o.tcbLevels = [level(higher, pcesvn, 'UpToDate'), level(comps, pcesvn, 'SWHardeningNeeded', '2024-01-01T00:00:00Z', ['INTEL-SA-00123'])])));
      passes(r, 'SWHardeningNeeded');
      expect(r.platformStatus).toBe('SWHardeningNeeded');
      expect(r.advisoryIds).toEqual(['INTEL-SA-00123']);
      expect(r.tcbDate).toBe('2024-01-01T00:00:00Z');
    }
  });

  it('PCESVN above the platform\'s skips the level; equal matches', async () => {
    const { comps, pcesvn } = pckTcb();
    const r = await check(tcbInfo((o) => (o.tcbLevels = [level(comps, pcesvn + 1, 'UpToDate'), level(comps, pcesvn, 'ConfigurationNeeded')])));
    passes(r, 'ConfigurationNeeded');
    const below = comps.map((c) => Math.max(0, c - 1));
    const r2 = await check(tcbInfo((o) => (o.tcbLevels = [level(below, Math.max(0, pcesvn - 1), 'OutOfDate'), level(comps, pcesvn + 1, 'UpToDate')])));
    passes(r2, 'OutOfDate');
  });

  it('levels are sorted, not taken in JSON order (QVL keeps a sorted set)', async () => {
    const { comps, pcesvn } = pckTcb();
    const below = comps.map((c) => Math.max(0, c - 1));
    const r = await check(tcbInfo((o) => (o.tcbLevels = [level(below, 0, 'OutOfDate'), level(comps, pcesvn, 'UpToDate')])));
    passes(r, 'UpToDate');
  });

  it('below every level → TCB_NOT_SUPPORTED; a Revoked level → TCB_REVOKED', async () => {
    const { comps, pcesvn } = pckTcb();
    const r = await check(tcbInfo((o) => (o.tcbLevels = [level(comps.map((c) => c + 1), pcesvn, 'UpToDate')])));
    fails(r, 'TCB_NOT_SUPPORTED');
    expect(r.status).toBe('TcbLevelNotSupported');
    const rev = await check(tcbInfo((o) => (o.tcbLevels = [level(comps, pcesvn, 'Revoked')])));
    fails(rev, 'TCB_REVOKED');
    expect(rev.platformStatus).toBe('Revoked');
  });

  it('advisories of the platform level and the QE level are merged, each once', async () => {
    const { comps, pcesvn } = pckTcb();
    const r = await check({
      ...tcbInfo((o) => (o.tcbLevels = [level(comps, pcesvn, 'SWHardeningNeeded', '2025-05-05T00:00:00Z', ['INTEL-SA-1', 'INTEL-SA-2'])])),
      ...qeIdentity((o) => (o.tcbLevels = [{ tcb: { isvsvn: qeSvn }, tcbDate: '2024-04-04T00:00:00Z', tcbStatus: 'UpToDate', advisoryIDs: ['INTEL-SA-2', 'INTEL-SA-3'] }])),
    });
    passes(r, 'SWHardeningNeeded');
    expect(r.advisoryIds).toEqual(['INTEL-SA-1', 'INTEL-SA-2', 'INTEL-SA-3']);
    expect(r.tcbDate).toBe('2024-04-04T00:00:00Z'); // the earliest date of the deciding levels
    expect(r.tcbEvaluationDataNumber).toBe((JSON.parse(sim.tcbInfoBody) as Json).tcbEvaluationDataNumber);
  });
});

describe('§5.D / §5.E TCB info and QE identity: signatures, signing chain, dates', () => {
  it('TCB info signed with another key → TCB_INFO_INVALID_SIGNATURE', async () => {
    const other = newP256();
    const r = await check({ tcbInfoSignature: signJson(sim.tcbInfoBody, other) });
    fails(r, 'TCB_INFO_INVALID_SIGNATURE');
    expect(r.status).toBe('InvalidSignature');
    // A valid signature of other bytes (the QE identity's) does not verify the TCB info either.
    fails(await check({ tcbInfoSignature: sim.qeIdentitySignature }), 'TCB_INFO_INVALID_SIGNATURE');
  });

  it('QE identity signed with another key → QE_IDENTITY_INVALID_SIGNATURE', async () => {
    fails(await check({ qeIdentitySignature: signJson(sim.qeIdentityBody, newP256()) }), 'QE_IDENTITY_INVALID_SIGNATURE');
    fails(await check({ qeIdentitySignature: sim.tcbInfoSignature }), 'QE_IDENTITY_INVALID_SIGNATURE');
    const body = sim.qeIdentityBody.replace('"isvprodid":1', '"isvprodid":2');
    expect(body).not.toBe(sim.qeIdentityBody);
    fails(await check({ qeIdentityBody: body }), 'QE_IDENTITY_INVALID_SIGNATURE');
  });

  it('signing chain: signer CN without "SGX TCB Signing", wrong signer, not exactly 2 → the chain reasons', async () => {
    const k = await cryptoKeys();
    const signer = (o: Partial<Parameters<typeof makeCert>[0]>) =>
      makeCert({ cn: 'Intel SGX TCB Signing', keys: k, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: false, ...o });
    const key = await keyObjectOf(k);
    const resign = async (o: Partial<Parameters<typeof makeCert>[0]>): Promise<Partial<Collateral>> => ({
      tcbInfoIssuerChain: pemOf(await signer(o)) + '\n' + sim.rootCertPem,
      tcbInfoSignature: signJson(sim.tcbInfoBody, key),
    });
    passes(await check(await resign({})));
    fails(await check(await resign({ cn: 'Intel SGX TCB Signer' })), 'TCB_SIGNING_CHAIN_INVALID', /TCB info issuer chain.*certificate 0 CN/);
    fails(await check(await resign({ signer: await cryptoKeys() })), 'TCB_SIGNING_CHAIN_INVALID', /TCB info issuer chain.*signature does not verify/);
    fails(await check({ tcbInfoIssuerChain: sim.rootCertPem }), 'TCB_SIGNING_CHAIN_FORMAT', /has 1 certificates, expected exactly 2/);
    fails(await check({ qeIdentityIssuerChain: sim.pckCertChainPem }), 'TCB_SIGNING_CHAIN_FORMAT', /QE identity issuer chain has 3/);
  });

  it('a TCB Signing certificate revoked by the root CA CRL → TCB_SIGNING_CERT_REVOKED', async () => {
    const r = await check({ rootCaCrl: await crl(keys.rootCa, ...window(), [keys.tcbSigningSerial]) });
    fails(r, 'TCB_SIGNING_CERT_REVOKED', /TCB info signing certificate/);
    expect(r.status).toBe('Revoked');
  });

  it('QE identity signed by a revoked signer while TCB info is not → TCB_SIGNING_CERT_REVOKED for the QE identity', async () => {
    const k = await cryptoKeys();
    const serial = '7e5700aa55';
    const cert = await makeCert({ cn: 'Intel SGX TCB Signing', keys: k, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: false, serial });
    const r = await check({
      rootCaCrl: await crl(keys.rootCa, ...window(), [serial]),
      qeIdentityIssuerChain: pemOf(cert) + '\n' + sim.rootCertPem,
      qeIdentitySignature: signJson(sim.qeIdentityBody, await keyObjectOf(k)),
    });
    fails(r, 'TCB_SIGNING_CERT_REVOKED', /QE identity signing certificate/);
  });

  it('signing chain under an untrusted root → TCB_SIGNING_CHAIN_UNTRUSTED', async () => {
    const rk = await cryptoKeys();
    const root2 = await makeCert({ cn: 'Intel SGX Root CA', keys: rk, ca: true });
    const k = await cryptoKeys();
    const cert = await makeCert({ cn: 'Intel SGX TCB Signing', keys: k, signer: rk, issuerName: root2.subjectName, ca: false });
    const r = await check({ tcbInfoIssuerChain: pemOf(cert) + '\n' + pemOf(root2), tcbInfoSignature: signJson(sim.tcbInfoBody, await keyObjectOf(k)) });
    fails(r, 'TCB_SIGNING_CHAIN_UNTRUSTED', /not a trusted root/);
  });

  it('TCB info / QE identity under a different trusted root than the PCK chain → TCB_SIGNING_CHAIN_UNTRUSTED', async () => {
    // A second trusted root with the simulator root's name and key (so the root CA CRL verifies under both).
    const twin = await makeCert({ cn: 'Intel SGX Root CA', keys: keys.rootCa.keys, ca: true });
    const v = createVerifier({ trustedRoots: [sim.rootCertDer, pemOf(twin)] });
    const signing = pemList(sim.tcbInfoIssuerChain)[0];
    const r = await v.verify(quote, { collateral: { ...base, tcbInfoIssuerChain: signing + '\n' + pemOf(twin) }, now: AT });
    fails(r, 'TCB_SIGNING_CHAIN_UNTRUSTED', /TCB info is signed under a different trusted root/);
    const q = await v.verify(quote, { collateral: { ...base, qeIdentityIssuerChain: signing + '\n' + pemOf(twin) }, now: AT });
    fails(q, 'TCB_SIGNING_CHAIN_UNTRUSTED', /QE identity is signed under a different trusted root/);
    passes(await v.verify(quote, { collateral: base, now: AT }));
  });

  it('TCB info past nextUpdate only flags TCB_INFO_EXPIRED; QE identity likewise QE_IDENTITY_EXPIRED', async () => {
    const soon = new Date(NOW.getTime() + 60_000).toISOString().replace('.000', '');
    const r = await check(tcbInfo((o) => (o.nextUpdate = soon)));
    passes(r);
    expect(r.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['tcbInfo:TCB_INFO_EXPIRED']);
    expect(r.expiredCollateral[0].notAfter).toBe(new Date(soon).toISOString());
    expect(r.collateralEarliestExpiration).toBe(new Date(soon).toISOString());
    const q = await check(qeIdentity((o) => (o.nextUpdate = soon)));
    passes(q);
    expect(q.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['qeIdentity:QE_IDENTITY_EXPIRED']);
  });

  it('an expired TCB Signing certificate only flags SIGNING_CHAIN_EXPIRED', async () => {
    const k = await cryptoKeys();
    const cert = await makeCert({ cn: 'Intel SGX TCB Signing', keys: k, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: false, notAfter: new Date(NOW.getTime() - DAY) });
    const key = await keyObjectOf(k);
    const r = await check({
      tcbInfoIssuerChain: pemOf(cert) + '\n' + sim.rootCertPem, tcbInfoSignature: signJson(sim.tcbInfoBody, key),
      qeIdentityIssuerChain: pemOf(cert) + '\n' + sim.rootCertPem, qeIdentitySignature: signJson(sim.qeIdentityBody, key),
    });
    passes(r);
    // Listed once, under the first chain that carries it.
    expect(r.expiredCollateral.map((x) => `${x.item}:${x.reason}`)).toEqual(['tcbInfoIssuerChain[0]:SIGNING_CHAIN_EXPIRED']);
  });

  it('a TCB Signing certificate whose key cannot verify ECDSA (Ed25519) → TCB_INFO_INVALID_SIGNATURE, not a crash or an accept', async () => {
    const ed = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as Parameters<typeof makeCert>[0]['keys'];
    const cert = await makeCert({ cn: 'Intel SGX TCB Signing', keys: ed, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: false });
    // node:crypto throws on an ECDSA-with-SHA-256 verification under an Ed25519 key: that must read as "does not verify".
    fails(await check({ tcbInfoIssuerChain: pemOf(cert) + '\n' + sim.rootCertPem }), 'TCB_INFO_INVALID_SIGNATURE');
  });

  it('once everything has expired, every item and signing certificate is listed once, under its own name and window', async () => {
    // The QE identity and the PCK CRL issuer chain get their own signing certificates, so each chain's label shows.
    const qk = await cryptoKeys();
    const qeSigner = await makeCert({ cn: 'Intel SGX TCB Signing', keys: qk, signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: false });
    const crlSigner = await makeCert({ cn: 'Intel SGX PCK Processor CA', keys: await cryptoKeys(), signer: keys.rootCa.keys, issuerName: keys.rootCa.cert.subjectName, ca: true });
    const patch: Partial<Collateral> = {
      qeIdentityIssuerChain: pemOf(qeSigner) + '\n' + sim.rootCertPem,
      qeIdentitySignature: signJson(sim.qeIdentityBody, await keyObjectOf(qk)),
      pckCrlIssuerChain: pemOf(crlSigner) + '\n' + sim.rootCertPem,
    };
    const late = new Date('2200-01-01T00:00:00Z');
    const r = await check(patch, quote, late);
    passes(r);
    const items = r.expiredCollateral.map((x) => `${x.item}:${x.reason}`);
    expect(items).toEqual([
      'pckCertificate:PCK_CERT_EXPIRED',
      'pckCaCertificate:PCK_CERT_EXPIRED',
      'rootCaCertificate:PCK_CERT_EXPIRED',
      'rootCaCrl:CRL_EXPIRED',
      'pckCrl:CRL_EXPIRED',
      'tcbInfoIssuerChain[0]:SIGNING_CHAIN_EXPIRED',
      'qeIdentityIssuerChain[0]:SIGNING_CHAIN_EXPIRED',
      'pckCrlIssuerChain[0]:SIGNING_CHAIN_EXPIRED',
      'tcbInfo:TCB_INFO_EXPIRED',
      'qeIdentity:QE_IDENTITY_EXPIRED',
    ]);
    for (const x of r.expiredCollateral) expect(x.notAfter, x.item).toMatch(/^\d{4}-/);
    const rootCrl = r.expiredCollateral.find((x) => x.item === 'rootCaCrl');
    expect(rootCrl?.notBefore).toBe(NOW.toISOString());
    // Before any of it expires, the same set is clean.
    expect((await check(patch)).expiredCollateral).toEqual([]);
  });

  it('the very instant of a CRL\'s thisUpdate is inside its window; its nextUpdate is already outside', async () => {
    const [from, to] = [NOW, new Date(NOW.getTime() + DAY)];
    const crls = { rootCaCrl: await crl(keys.rootCa, from, to), pckCrl: await crl(keys.pckCa, from, to) };
    expect((await check(crls, quote, from)).expiredCollateral).toEqual([]);
    expect((await check(crls, quote, new Date(from.getTime() - 1))).expiredCollateral.map((x) => x.item)).toEqual(['rootCaCrl', 'pckCrl']);
    expect((await check(crls, quote, to)).expiredCollateral.map((x) => x.item)).toEqual(['rootCaCrl', 'pckCrl']);
    expect((await check(crls, quote, new Date(to.getTime() - 1))).expiredCollateral).toEqual([]);
  });

  it('a CRL without nextUpdate (optional in X.509) never expires; the earliest expiration is the others\'', async () => {
    const rootCaCrl = await createCrl({ issuer: keys.rootCa, thisUpdate: NOW, crlNumber: 3 });
    const r = await check({ rootCaCrl });
    passes(r);
    expect(r.collateralEarliestExpiration).toBe((await check()).collateralEarliestExpiration);
    const late = await check({ rootCaCrl }, quote, new Date('2200-01-01T00:00:00Z'));
    expect(late.expiredCollateral.map((x) => x.item)).not.toContain('rootCaCrl');
    expect(late.collateralEarliestExpiration).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('collateral that is not kept (an ill-typed set) is checked afresh on every call: no result carries over', async () => {
    const v = verifier();
    // pckCertificateChain: null is ill-typed (a string or absent), so this set is checked as given and never kept.
    const loose = { ...base, pckCertificateChain: null } as unknown as Collateral;
    passes(await v.verify(quote, { collateral: loose, now: AT }));
    fails(await v.verify(quote, { collateral: { ...loose, tcbInfoSignature: signJson(sim.tcbInfoBody, newP256()) }, now: AT }), 'TCB_INFO_INVALID_SIGNATURE');
    fails(await v.verify(quote, { collateral: { ...loose, qeIdentitySignature: signJson(sim.qeIdentityBody, newP256()) }, now: AT }), 'QE_IDENTITY_INVALID_SIGNATURE');
    passes(await v.verify(quote, { collateral: loose, now: AT }));
  });

  it('the earliest issue date over TCB info, QE identity and CRLs is reported', async () => {
    const r = await check(qeIdentity((o) => (o.issueDate = '2026-05-01T00:00:00Z')));
    passes(r);
    expect(r.collateralEarliestIssue).toBe('2026-05-01T00:00:00.000Z');
    const c = await check({ pckCrl: await crl(keys.pckCa, new Date('2026-05-15T00:00:00Z'), new Date(NOW.getTime() + DAY)) });
    expect(c.collateralEarliestIssue).toBe('2026-05-15T00:00:00.000Z');
    expect(c.collateralEarliestExpiration).toBe(new Date(NOW.getTime() + DAY).toISOString());
    expect((await check()).collateralEarliestIssue).toBe(sim.issueDate.toISOString());
  });
});
