import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collateralFromDcapQvlJson } from '../../src/pcs/bundle.js';
import type { Collateral } from '../../src/pcs/types.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { encodeQuote, parseQuote, pemChainCertificationData } from '../../src/sgx/index.js';
import { createVerifier, type VerificationResult } from '../../src/verify/index.js';
import { SignatureMemo } from '../../src/verify/signature-memo.js';
import { tempDir } from '../sim/helpers.js';
import { TESTDATA } from '../support/testdata.js';
import { cryptoKeys, forgeQuote, keyObjectOf, makeCert, pemList, pemOf } from './forge.js';
import { simKeys, simQuote, type SimKeys } from './sim-fixtures.js';

/**
 * The memo of verified QE report signatures (src/verify/signature-memo.ts) is keyed by the exact bytes of
 * PCK key, QE report and signature: after a quote verified (memo filled), a quote differing in any of those
 * bytes is verified again and fails with INVALID_QE_REPORT_SIGNATURE, and the memo stays bounded. Real
 * Intel quotes (test/fixtures/testdata) and the simulator's (for a second PCK key under the same CA).
 */

/** A copy of `b` with one bit of its byte at `at` flipped. */
function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at] ^= 0x01;
  return out;
}

/** Where the QE report and its signature sit in the quote bytes (found, not assumed per version). */
function qeOffsets(quote: Buffer): { report: number; signature: number } {
  const q = parseQuote(quote);
  const report = quote.indexOf(q.qe.qeReportRaw);
  const signature = quote.indexOf(q.qe.qeReportSignature);
  if (report < 0 || signature < 0) throw new Error('QE report not found in the quote');
  return { report, signature };
}

function failsQeSignature(r: VerificationResult): void {
  expect(r.ok).toBe(false);
  expect(r.reason, r.message).toBe('INVALID_QE_REPORT_SIGNATURE');
  expect(r.status).toBe('InvalidSignature');
}

const REAL = {
  SGX: { quote: 'dcap-qvl/sgx_quote', coll: 'dcap-qvl/sgx_quote_collateral.json', at: new Date('2025-06-19T11:56:00Z') },
  TDX: { quote: 'dcap-qvl/tdx_quote', coll: 'dcap-qvl/tdx_quote_collateral.json', at: new Date('2025-06-19T12:00:00Z') },
};

for (const tee of ['SGX', 'TDX'] as const) {
  describe(`${tee}: a QE report or signature differing from a memoised one is verified again`, () => {
    const quote = readFileSync(`${TESTDATA}/${REAL[tee].quote}`);
    const collateral: Collateral = collateralFromDcapQvlJson(JSON.parse(readFileSync(`${TESTDATA}/${REAL[tee].coll}`, 'utf8')));
    const { report, signature } = qeOffsets(quote);

    for (const memo of [true, false]) {
      it(`one bit of the QE report (first, middle, last byte) or of its signature → INVALID_QE_REPORT_SIGNATURE (memo ${memo ? 'on' : 'off'})`, async () => {
        const v = createVerifier({ collateral, now: REAL[tee].at, memoizeQeReportSignatures: memo });
        const good = await v.verify(quote);
        expect(good.ok, good.message).toBe(true);
        for (const at of [report, report + 191, report + 383, signature, signature + 32, signature + 63]) {
          failsQeSignature(await v.verify(flip(quote, at)));
        }
        // The failures left nothing behind: the original still verifies, with the same result.
        expect(await v.verify(quote)).toEqual(good);
      });
    }
  });
}

describe('sim: the same QE report and signature under another PCK key (same CA) are not taken from the memo', () => {
  const t = tempDir('sqh-verify-memo-');
  const NOW = new Date('2026-06-01T12:00:00Z');
  let sim: SimCollateral;
  let keys: SimKeys;
  let quote: Buffer;
  let otherLeafPem: string;
  let otherLeafKey: KeyObject;
  beforeAll(async () => {
    const platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
    await platform.setTcbProfile('UpToDate');
    sim = await platform.collateral({ now: NOW });
    keys = await simKeys(t.dir);
    quote = simQuote(platform);
    const sgxExt = new x509.X509Certificate(sim.pckCertPem).getExtension('1.2.840.113741.1.13.1');
    if (!sgxExt) throw new Error('sim PCK certificate has no SGX extension');
    const leafKeys = await cryptoKeys();
    otherLeafKey = await keyObjectOf(leafKeys);
    otherLeafPem = pemOf(await makeCert({ cn: 'Intel SGX PCK Certificate', keys: leafKeys, signer: keys.pckCa.keys, issuerName: keys.pckCa.cert.subjectName, ca: false, extra: [sgxExt] }));
  }, 60_000);
  afterAll(() => t.cleanup());

  /** The quote with only its PCK leaf replaced: QE report, its signature and the quote signature untouched. */
  function withLeaf(leafPem: string): Buffer {
    const q = parseQuote(quote);
    const chain = [leafPem, ...pemList(sim.pckCertChainPem).slice(1)].map((p) => p.trim());
    q.qe.certificationData = { type: 5, data: pemChainCertificationData(chain), encoding: 'pem', pemChain: chain.join('\n'), certificatesPem: chain };
    return encodeQuote(q);
  }

  it('a memoised (PCK key, QE report, signature) does not vouch for the same report and signature under a new PCK leaf', async () => {
    const v = createVerifier({ trustedRoots: [sim.rootCertDer], collateral: { ...sim }, now: NOW });
    const good = await v.verify(quote);
    expect(good.ok, good.message).toBe(true);
    failsQeSignature(await v.verify(withLeaf(otherLeafPem)));
    // The new leaf itself is valid: with the report signed by its own key the quote verifies.
    const resigned = forgeQuote(withLeaf(otherLeafPem), { pckKey: otherLeafKey });
    const r = await v.verify(resigned);
    expect(r.reason, r.message).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(await v.verify(quote)).toEqual(good);
  });
});

describe('SignatureMemo', () => {
  const pair = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return { privateKey, publicKey, spki: publicKey.export({ format: 'der', type: 'spki' }) };
  };
  const a = pair();
  const b = pair();
  const data = Buffer.alloc(384, 0x42);
  const sigA = sign('sha256', data, { key: a.privateKey, dsaEncoding: 'ieee-p1363' });

  it('a hit needs the exact key, data and signature bytes; every other triple is verified (and fails) again', () => {
    const m = new SignatureMemo(8);
    expect(m.verify(a.spki, a.publicKey, data, sigA)).toBe(true);
    expect(m.size).toBe(1);
    expect(m.verify(a.spki, a.publicKey, data, sigA)).toBe(true);
    expect(m.verify(b.spki, b.publicKey, data, sigA)).toBe(false); // another key, same data and signature
    for (const at of [0, 200, 383]) expect(m.verify(a.spki, a.publicKey, flip(data, at), sigA)).toBe(false);
    for (const at of [0, 31, 63]) expect(m.verify(a.spki, a.publicKey, data, flip(sigA, at))).toBe(false);
    expect(m.verify(a.spki, a.publicKey, data, Buffer.alloc(0))).toBe(false);
    expect(m.size).toBe(1); // failures are never remembered
  });

  it('keeps private copies: changing the caller\'s buffers afterwards does not make them hit', () => {
    const m = new SignatureMemo(8);
    const d = Buffer.from(data);
    expect(m.verify(a.spki, a.publicKey, d, sigA)).toBe(true);
    d[10] ^= 1;
    expect(m.verify(a.spki, a.publicKey, d, sigA)).toBe(false);
  });

  it('is bounded (oldest out first; an evicted triple still verifies) and off with 0 entries', () => {
    const m = new SignatureMemo(2);
    const datas = [0, 1, 2, 3].map((i) => Buffer.alloc(64, i));
    const sigs = datas.map((d) => sign('sha256', d, { key: a.privateKey, dsaEncoding: 'ieee-p1363' }));
    datas.forEach((d, i) => expect(m.verify(a.spki, a.publicKey, d, sigs[i])).toBe(true));
    expect(m.size).toBe(2);
    expect(m.verify(a.spki, a.publicKey, datas[0], sigs[0])).toBe(true);
    expect(m.size).toBe(2);
    const off = new SignatureMemo(0);
    expect(off.verify(a.spki, a.publicKey, data, sigA)).toBe(true);
    expect(off.verify(a.spki, a.publicKey, flip(data, 0), sigA)).toBe(false);
    expect(off.size).toBe(0);
  });
});
