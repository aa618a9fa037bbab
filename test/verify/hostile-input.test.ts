import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import type { Collateral } from '../../src/pcs/types.js';
import { compactJsonText } from '../../src/verify/compact-json.js';
import { evaluatePolicy, verifyQuote } from '../../src/verify/index.js';
import { TESTDATA as TD } from '../support/testdata.js';

// Real quotes and the collateral Intel signed for them (test/fixtures/testdata/PROVENANCE.md).
const bytes = (p: string) => readFileSync(`${TD}/${p}`);
const SGX = { quote: bytes('dcap-qvl/sgx_quote'), coll: parseCollateralBundle(bytes('dcap-qvl/sgx_quote_collateral.json')), at: new Date('2025-06-19T11:56:00Z') };
const TDX = { quote: bytes('dcap-qvl/tdx_quote'), coll: parseCollateralBundle(bytes('dcap-qvl/tdx_quote_collateral.json')), at: new Date('2025-06-19T12:00:00Z') };

const pretty = (json: string) => JSON.stringify(JSON.parse(json), null, 2);
const withColl = (c: Collateral, patch: Partial<Collateral>): Collateral => ({ ...c, ...patch });

describe('TCB info / QE identity signatures: exact bytes, else the compact form', () => {
  it('the real bodies verify over their exact bytes', async () => {
    const r = await verifyQuote(SGX.quote, { collateral: SGX.coll, now: SGX.at });
    expect(r.ok).toBe(true);
    expect(r.collateralSignedForms).toEqual({ tcbInfo: 'exact', qeIdentity: 'exact' });
  });

  it('a pretty-printed copy of the real TCB info and QE identity bodies verifies (compact form)', async () => {
    const tcbInfoBody = pretty(SGX.coll.tcbInfoBody);
    const qeIdentityBody = pretty(SGX.coll.qeIdentityBody);
    expect(tcbInfoBody).not.toBe(SGX.coll.tcbInfoBody);
    expect(tcbInfoBody).toContain('\n  "');
    const r = await verifyQuote(SGX.quote, { collateral: withColl(SGX.coll, { tcbInfoBody, qeIdentityBody }), now: SGX.at });
    expect(r.ok).toBe(true);
    expect(r.status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(r.collateralSignedForms).toEqual({ tcbInfo: 'compact', qeIdentity: 'compact' });
  });

  it('a pretty-printed TDX TCB info (with tabs and CRLF) verifies too', async () => {
    const tcbInfoBody = JSON.stringify(JSON.parse(TDX.coll.tcbInfoBody), null, '\t').replace(/\n/g, '\r\n');
    const r = await verifyQuote(TDX.quote, { collateral: withColl(TDX.coll, { tcbInfoBody }), now: TDX.at });
    expect(r.ok).toBe(true);
    expect(r.collateralSignedForms?.tcbInfo).toBe('compact');
  });

  it('a one-character change inside a string of the pretty-printed body does not verify', async () => {
    const body = pretty(SGX.coll.tcbInfoBody);
    expect(body).toContain('"INTEL-SA-00289"');
    for (const changed of [body.replace('"INTEL-SA-00289"', '"INTEL-SA-00288"'), body.replace('"INTEL-SA-00289"', '"INTEL-SA- 00289"')]) {
      expect(changed).not.toBe(body);
      const r = await verifyQuote(SGX.quote, { collateral: withColl(SGX.coll, { tcbInfoBody: changed }), now: SGX.at });
      expect(r.ok).toBe(false);
      expect(r.reason).toBe('TCB_INFO_INVALID_SIGNATURE');
    }
  });

  it('a one-character change inside a string of the QE identity does not verify', async () => {
    const body = pretty(SGX.coll.qeIdentityBody);
    const changed = body.replace(/"mrsigner": "(.)/, (_m, c: string) => `"mrsigner": "${c === '8' ? '9' : '8'}`);
    expect(changed).not.toBe(body);
    const r = await verifyQuote(SGX.quote, { collateral: withColl(SGX.coll, { qeIdentityBody: changed }), now: SGX.at });
    expect(r.reason).toBe('QE_IDENTITY_INVALID_SIGNATURE');
  });

  it('compaction leaves strings, escapes and numbers alone', () => {
    expect(compactJsonText('{ "a b" : [ 1 , "x\\" y" ],\n\t"c":\r\n2 }')).toBe('{"a b":[1,"x\\" y"],"c":2}');
    expect(compactJsonText(SGX.coll.tcbInfoBody)).toBe(SGX.coll.tcbInfoBody);
    expect(compactJsonText(pretty(SGX.coll.tcbInfoBody))).toBe(SGX.coll.tcbInfoBody);
  });
});

describe('collateral expiration: expired at exactly the earliest expiration date (QvE: earliest <= check date)', () => {
  it('one millisecond before: not expired; at the instant: expired', async () => {
    const first = await verifyQuote(SGX.quote, { collateral: SGX.coll, now: SGX.at });
    const earliest = new Date(first.collateralEarliestExpiration!);
    const before = await verifyQuote(SGX.quote, { collateral: SGX.coll, now: new Date(earliest.getTime() - 1) });
    expect(before.collateralExpired).toBe(false);
    const at = await verifyQuote(SGX.quote, { collateral: SGX.coll, now: earliest });
    expect(at.ok).toBe(true);
    expect(at.collateralExpired).toBe(true);
    expect(at.expiredCollateral.map((x) => x.notAfter)).toContain(earliest.toISOString());
    expect(at.accepted).toBe(false);
    expect(at.policyViolations.map((v) => v.code)).toContain('COLLATERAL_EXPIRED');
  });
});

describe('trailing data after the quote', () => {
  const strict = { rejectNonZeroTrailingData: true };

  it('a quote without trailing bytes reports length 0', async () => {
    const r = await verifyQuote(SGX.quote, { collateral: SGX.coll, now: SGX.at, policy: strict });
    expect(r.trailingDataLength).toBe(0);
    expect(r.trailingDataAllZero).toBe(true);
    expect(r.accepted).toBe(true);
  });

  it("a real TDX quote's zero padding is reported and accepted by the strict policy", async () => {
    const r = await verifyQuote(TDX.quote, { collateral: TDX.coll, now: TDX.at, policy: strict });
    expect(r.ok).toBe(true);
    expect(r.trailingDataLength).toBe(70);
    expect(r.trailingDataAllZero).toBe(true);
    expect(r.policyViolations.map((v) => v.code)).not.toContain('TRAILING_DATA');
  });

  it('1,000 random bytes or a second whole quote: reported, accepted by default, rejected by the strict policy', async () => {
    for (const extra of [randomBytes(1000), SGX.quote]) {
      const q = Buffer.concat([SGX.quote, extra]);
      const lax = await verifyQuote(q, { collateral: SGX.coll, now: SGX.at });
      expect(lax.ok).toBe(true);
      expect(lax.trailingDataLength).toBe(extra.length);
      expect(lax.trailingDataAllZero).toBe(false);
      expect(lax.accepted).toBe(true);
      const r = await verifyQuote(q, { collateral: SGX.coll, now: SGX.at, policy: strict });
      expect(r.accepted).toBe(false);
      expect(r.policyViolations.map((v) => v.code)).toEqual(['TRAILING_DATA']);
      expect(evaluatePolicy(r, {}).accepted).toBe(true);
    }
  });
});
