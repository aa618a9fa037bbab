import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import type { Collateral } from '../../src/pcs/types.js';
import { SimPlatform, type SimCollateral } from '../../src/providers/sim/index.js';
import { createVerifier, verifyQuote, type VerificationResult } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { TESTDATA as TD } from '../support/testdata.js';
import { forgeQuote, pemList, simPckKey } from './forge.js';
import { signJson, simKeys } from './sim-fixtures.js';

/**
 * The TDX-specific checks of spec §5 (F.3 TCB info id ⇔ tee type, F.6 TDX module identity, F.9 TD_QE
 * identity, G.3 TDX TCB levels and module levels), one reason each. Two kinds of input: Intel's real
 * TDX quote and collateral recombined with Intel's real SGX collateral (all Intel-signed, nothing forged),
 * and that real TDX quote re-signed under the simulator's PKI, so the TCB info can be edited and re-signed.
 */

const bytes = (p: string) => readFileSync(`${TD}/${p}`);
const TDX_QUOTE = bytes('dcap-qvl/tdx_quote');
const TDX_COLL = parseCollateralBundle(bytes('dcap-qvl/tdx_quote_collateral.json'));
const SGX_QUOTE = bytes('dcap-qvl/sgx_quote');
const SGX_COLL = parseCollateralBundle(bytes('dcap-qvl/sgx_quote_collateral.json'));
const TDX_AT = new Date('2025-06-19T12:00:00Z');
const SGX_AT = new Date('2025-06-19T11:56:00Z');
/** Absolute offsets in a v4 quote: 48-byte header, then the TD report body (spec §1.8). */
const TDB = { teeTcbSvn: 48, mrSignerSeam: 48 + 64, seamAttributes: 48 + 112, tdAttributes: 48 + 120, mrTd: 48 + 136 } as const;

type Json = Record<string, unknown>;

function fails(r: VerificationResult, reason: string, message?: RegExp): void {
  expect(r.ok, `expected ${reason}, got ok`).toBe(false);
  expect(r.reason, r.message).toBe(reason);
  if (message) expect(r.message).toMatch(message);
}

describe('TDX checks on Intel\'s real collateral (recombined, all Intel-signed)', () => {
  it('the real TDX quote verifies on its collateral (baseline)', async () => {
    const r = await verifyQuote(TDX_QUOTE, { collateral: TDX_COLL, now: TDX_AT });
    expect(r.ok, r.message).toBe(true);
    expect(r.tdxModuleStatus).toBe('UpToDate');
  });

  it('§5.F.9 a TDX quote with the SGX QE identity (id QE) → QE_IDENTITY_MISMATCH', async () => {
    const coll: Collateral = { ...TDX_COLL, qeIdentityBody: SGX_COLL.qeIdentityBody, qeIdentitySignature: SGX_COLL.qeIdentitySignature, qeIdentityIssuerChain: SGX_COLL.qeIdentityIssuerChain };
    fails(await verifyQuote(TDX_QUOTE, { collateral: coll, now: TDX_AT }), 'QE_IDENTITY_MISMATCH', /QE identity is for QE, a TDX quote needs TD_QE/);
  });

  it('§5.F.9 an SGX quote with the TD_QE identity → QE_IDENTITY_MISMATCH', async () => {
    const coll: Collateral = { ...SGX_COLL, qeIdentityBody: TDX_COLL.qeIdentityBody, qeIdentitySignature: TDX_COLL.qeIdentitySignature, qeIdentityIssuerChain: TDX_COLL.qeIdentityIssuerChain };
    fails(await verifyQuote(SGX_QUOTE, { collateral: coll, now: SGX_AT }), 'QE_IDENTITY_MISMATCH', /QE identity is for TD_QE, a SGX quote needs QE/);
  });

  it('§5.F.3 a TDX quote with an SGX TCB info → TCB_INFO_MISMATCH', async () => {
    const coll: Collateral = { ...TDX_COLL, tcbInfoBody: SGX_COLL.tcbInfoBody, tcbInfoSignature: SGX_COLL.tcbInfoSignature, tcbInfoIssuerChain: SGX_COLL.tcbInfoIssuerChain };
    fails(await verifyQuote(TDX_QUOTE, { collateral: coll, now: TDX_AT }), 'TCB_INFO_MISMATCH', /TCB info is for SGX, the quote is TDX/);
  });
});

describe('TDX checks on the real TDX quote re-signed under the simulator\'s PKI', () => {
  const NOW = new Date('2026-06-01T12:00:00Z');
  const AT = new Date(NOW.getTime() + 600_000);
  const t = tempDir('sqh-verify-tdx-');
  let sim: SimCollateral;
  let base: Collateral;
  let tcbKey: Awaited<ReturnType<typeof simKeys>>['tcbSigningKey'];
  let pckKey: ReturnType<typeof simPckKey>;
  let chain: string[];
  let tdxInfo: Json;

  beforeAll(async () => {
    const platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
    await platform.setTcbProfile('UpToDate');
    sim = await platform.collateral({ now: NOW });
    tcbKey = (await simKeys(t.dir)).tcbSigningKey;
    pckKey = simPckKey(t.dir);
    chain = pemList(sim.pckCertChainPem);
    // Intel's TDX TCB info for the simulated platform: its FMSPC/PCE-ID, SGX components at 0 so the sim
    // PCK certificate meets them; the TDX parts (components, module identities) exactly as Intel's.
    tdxInfo = JSON.parse(TDX_COLL.tcbInfoBody) as Json;
    tdxInfo.fmspc = sim.fmspc;
    tdxInfo.pceId = sim.pceId;
    tdxInfo.issueDate = '2026-06-01T12:00:00Z';
    tdxInfo.nextUpdate = '2026-07-01T12:00:00Z';
    (tdxInfo.tcbLevels as Json[]).forEach((l, i) => {
      const tcb = l.tcb as Json;
      tcb.sgxtcbcomponents = Array.from({ length: 16 }, () => ({ svn: 0 }));
      tcb.pcesvn = i === 0 ? 1 : 0;
    });
    const qe = JSON.parse(TDX_COLL.qeIdentityBody) as Json;
    qe.issueDate = '2026-06-01T12:00:00Z';
    qe.nextUpdate = '2026-07-01T12:00:00Z';
    const qeBody = JSON.stringify(qe);
    base = { ...sim, teeType: 'TDX', qeIdentityBody: qeBody, qeIdentitySignature: signJson(qeBody, tcbKey), ...tcb(() => {}) } as Collateral;
  }, 60_000);
  afterAll(() => t.cleanup());

  function tcb(edit: (o: Json) => void): Partial<Collateral> {
    const o = structuredClone(tdxInfo);
    edit(o);
    const body = JSON.stringify(o);
    return { tcbInfoBody: body, tcbInfoSignature: signJson(body, tcbKey) };
  }
  const quote = (editSigned?: (s: Buffer) => void) => forgeQuote(TDX_QUOTE, { pckKey, chainPem: chain, ...(editSigned ? { editSigned } : {}) });
  const check = (q: Buffer, patch: Partial<Collateral> = {}) =>
    createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(q, { collateral: { ...base, ...patch }, now: AT });
  const modules = (o: Json) => o.tdxModuleIdentities as Array<Json & { tcbLevels: Json[] }>;

  it('baseline: verifies UpToDate with module TDX_01 UpToDate', async () => {
    const r = await check(quote());
    expect(r.ok, r.message).toBe(true);
    expect(r.status).toBe('UpToDate');
    expect(r.teeType).toBe('TDX');
    expect(r.tdxModuleStatus).toBe('UpToDate');
    expect(r.simulated).toBe(true);
  });

  it('§5.F.6 MRSIGNERSEAM differs from the module identity → TDX_MODULE_MISMATCH', async () => {
    fails(await check(quote((s) => (s[TDB.mrSignerSeam + 47] ^= 1))), 'TDX_MODULE_MISMATCH', /MRSIGNERSEAM/);
    fails(await check(quote(), tcb((o) => (modules(o).find((m) => m.id === 'TDX_01')!.mrsigner = 'AA'.repeat(48)))), 'TDX_MODULE_MISMATCH', /MRSIGNERSEAM/);
  });

  it('§5.F.6 SEAMATTRIBUTES not zero, or a module identity expecting other attributes → TDX_MODULE_MISMATCH', async () => {
    fails(await check(quote((s) => (s[TDB.seamAttributes + 7] = 0x80))), 'TDX_MODULE_MISMATCH', /SEAMATTRIBUTES/);
    fails(await check(quote(), tcb((o) => (modules(o).find((m) => m.id === 'TDX_01')!.attributes = '0100000000000000'))), 'TDX_MODULE_MISMATCH', /SEAMATTRIBUTES/);
  });

  it('§5.F.6 a module version without a module identity → TDX_MODULE_MISMATCH', async () => {
    fails(await check(quote((s) => (s[TDB.teeTcbSvn + 1] = 2))), 'TDX_MODULE_MISMATCH', /TDX_02/);
    fails(await check(quote(), tcb((o) => delete o.tdxModuleIdentities)), 'TCB_INFO_MISMATCH', /no tdxModuleIdentities/);
  });

  it('§5.F.6 module version 0 uses tdxModule (its mrsigner), not a module identity', async () => {
    const v0 = quote((s) => (s[TDB.teeTcbSvn + 1] = 0));
    const r = await check(v0);
    // Version 0: all 16 TDX components are compared (tee_tcb_svn[0]=6 ≥ 5, [1]=0 ≥ 0, [2]=3 ≥ 2) and no module status.
    expect(r.ok, r.message).toBe(true);
    expect(r.tdxModuleStatus).toBeUndefined();
    fails(await check(v0, tcb((o) => ((o.tdxModule as Json).mrsigner = 'AA'.repeat(48)))), 'TDX_MODULE_MISMATCH', /MRSIGNERSEAM/);
  });

  it('§5.G.3 module ISV SVN: on an OutOfDate level → OutOfDate; below every level → TDX_MODULE_TCB_NOT_SUPPORTED', async () => {
    const out = await check(quote((s) => (s[TDB.teeTcbSvn] = 3)));
    expect(out.ok, out.message).toBe(true);
    expect(out.tdxModuleStatus).toBe('OutOfDate');
    expect(out.status).toBe('OutOfDate');
    fails(await check(quote((s) => (s[TDB.teeTcbSvn] = 1))), 'TDX_MODULE_TCB_NOT_SUPPORTED', /below every TDX_01 TCB level/);
    const revoked = tcb((o) => (modules(o).find((m) => m.id === 'TDX_01')!.tcbLevels[0].tcbStatus = 'Revoked'));
    const rev = await check(quote(), revoked);
    fails(rev, 'TCB_REVOKED');
    expect(rev.tdxModuleStatus).toBe('Revoked');
  });

  it('§5.G.3 TDX components below every level → TCB_NOT_SUPPORTED; components 0–1 are the module\'s', async () => {
    fails(await check(quote((s) => (s[TDB.teeTcbSvn + 2] = 1))), 'TCB_NOT_SUPPORTED', /TEE_TCB_SVN/);
    // With a module version, component 0 (the module SVN) is judged by the module identity, not the level.
    const levels = tcb((o) => {
      for (const l of o.tcbLevels as Json[]) ((l.tcb as Json).tdxtcbcomponents as Array<{ svn: number }>)[0].svn = 200;
    });
    const r = await check(quote(), levels);
    expect(r.ok, r.message).toBe(true);
  });

  it('a debuggable TD (TD_ATTRIBUTES.TUD, bit 0) verifies, is reported debug and is refused unless the policy allows debug', async () => {
    const plain = await check(quote());
    expect(plain.td?.debug).toBe(false);
    expect(plain.accepted).toBe(true);
    const q = quote((s) => (s[TDB.tdAttributes] |= 0x01));
    const r = await check(q);
    expect(r.ok, r.message).toBe(true);
    expect(r.td?.debug).toBe(true);
    expect(r.accepted).toBe(false);
    expect(r.policyViolations.map((v) => v.code)).toEqual(['DEBUG_NOT_ALLOWED']);
    const allowed = await createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(q, { collateral: base, now: AT, policy: { allowDebug: true } });
    expect(allowed.accepted).toBe(true);
    // Another TD attribute bit is not debug.
    expect((await check(quote((s) => (s[TDB.tdAttributes] |= 0x02)))).td?.debug).toBe(false);
  });

  it('the reported MRTD is the quote\'s, and a policy naming another MRTD refuses it', async () => {
    const r = await check(quote());
    expect(r.td?.mrTd).toBe(TDX_QUOTE.subarray(TDB.mrTd, TDB.mrTd + 48).toString('hex'));
    const v = createVerifier({ trustedRoots: [sim.rootCertDer] });
    expect((await v.verify(quote(), { collateral: base, now: AT, policy: { mrTd: r.td!.mrTd.toUpperCase() } })).accepted).toBe(true);
    const other = await v.verify(quote(), { collateral: base, now: AT, policy: { mrTd: 'ab'.repeat(48) } });
    expect(other.policyViolations.map((x) => x.code)).toEqual(['MRTD_MISMATCH']);
  });

  it('§5.F.9 a TDX quote with a QE identity for QE (re-signed) → QE_IDENTITY_MISMATCH', async () => {
    const qe = JSON.parse(base.qeIdentityBody) as Json;
    qe.id = 'QE';
    const body = JSON.stringify(qe);
    fails(await check(quote(), { qeIdentityBody: body, qeIdentitySignature: signJson(body, tcbKey) }), 'QE_IDENTITY_MISMATCH', /needs TD_QE/);
  });

  it('§5.F.3 a TCB info v2 (no id, SGX only) for the TDX quote → TCB_INFO_MISMATCH', async () => {
    const o = JSON.parse(sim.tcbInfoBody) as Json;
    o.version = 2;
    delete o.id;
    for (const l of o.tcbLevels as Json[]) {
      const t = l.tcb as Json;
      (t.sgxtcbcomponents as Array<{ svn: number }>).forEach((c, i) => (t[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = c.svn));
      delete t.sgxtcbcomponents;
    }
    const body = JSON.stringify(o);
    fails(await check(quote(), { tcbInfoBody: body, tcbInfoSignature: signJson(body, tcbKey) }), 'TCB_INFO_MISMATCH', /version 2 cannot describe a TDX platform/);
  });

  it('§5.F.3 an SGX TCB info (re-signed, same FMSPC) for the TDX quote → TCB_INFO_MISMATCH', async () => {
    fails(await check(quote(), { tcbInfoBody: sim.tcbInfoBody, tcbInfoSignature: sim.tcbInfoSignature }), 'TCB_INFO_MISMATCH', /is for SGX/);
  });
});
