import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import { TESTDATA as TD } from '../support/testdata.js';
import {
  INTEL_SGX_ROOT_CA_PEM,
  INTEL_SGX_ROOT_CA_SHA256,
  QvResult,
  createVerifier,
  verifyQuote,
} from '../../src/verify/index.js';

const bytes = (p: string) => readFileSync(`${TD}/${p}`);
const collateral = (p: string) => parseCollateralBundle(bytes(p));

/** Real quotes with the collateral they were published with, verified at that collateral's issue time. */
const REAL = {
  dcapSgx: { quote: 'dcap-qvl/sgx_quote', coll: 'dcap-qvl/sgx_quote_collateral.json', at: '2025-06-19T11:56:00Z' },
  mobilecoin: { quote: 'mobilecoin/hw_quote.dat', coll: 'mobilecoin/collateral_dcap_qvl_format.json', at: '2023-07-13T00:00:00Z' },
  dcapTdx: { quote: 'dcap-qvl/tdx_quote', coll: 'dcap-qvl/tdx_quote_collateral.json', at: '2025-06-19T12:00:00Z' },
  dcapTdxOutdated: { quote: 'dcap-qvl/tdx_quote_outdated', coll: 'dcap-qvl/tdx_quote_outdated_collateral.json', at: '2026-02-19T00:00:00Z' },
  spr: { quote: 'go-tdx-guest/tdx_prod_quote_SPR_E4.dat', coll: 'go-tdx-guest/collateral_dcap_qvl_format_v4.json', at: '2023-07-01T00:00:00Z' },
} as const;

async function run(k: keyof typeof REAL, trustedRoots?: (string | Buffer)[]) {
  const c = REAL[k];
  return verifyQuote(bytes(c.quote), { collateral: collateral(c.coll), now: new Date(c.at), ...(trustedRoots ? { trustedRoots } : {}) });
}

describe('verifier on real quotes (Intel production root)', () => {
  it('embeds exactly Intel\'s production root', () => {
    const der = Buffer.from(INTEL_SGX_ROOT_CA_PEM.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    expect(der.equals(bytes('dcap-qvl/TrustedRootCA.der'))).toBe(true);
    const fp = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    expect(fp).toBe(INTEL_SGX_ROOT_CA_SHA256);
  });

  it('dcap-qvl SGX v3 quote → ConfigurationAndSWHardeningNeeded [INTEL-SA-00289, INTEL-SA-00615]', async () => {
    const r = await run('dcapSgx');
    expect(r.ok).toBe(true);
    expect(r.status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(r.qvResult).toBe(QvResult.CONFIG_AND_SW_HARDENING_NEEDED);
    expect(r.advisoryIds).toEqual(['INTEL-SA-00289', 'INTEL-SA-00615']);
    expect(r.simulated).toBe(false);
    expect(r.collateralExpired).toBe(false);
    expect(r.fmspc).toBe('00A067110000');
    expect(r.caType).toBe('processor');
    expect(r.tcbDate).toBeDefined();
    expect(Buffer.from(r.enclave!.reportData, 'hex').subarray(0, 13).toString()).toBe('Hello, world!');
    expect(r.enclave!.mrEnclave).toMatch(/^[0-9a-f]{64}$/);
    expect(r.accepted).toBe(true); // the default policy accepts configuration/hardening statuses
  });

  it('mobilecoin SGX quote → SWHardeningNeeded, flagged: its PCK CRL was already stale', async () => {
    const r = await run('mobilecoin');
    expect(r.ok).toBe(true);
    expect(r.status).toBe('SWHardeningNeeded');
    expect(r.advisoryIds).toEqual(['INTEL-SA-00334', 'INTEL-SA-00615']);
    expect(r.collateralExpired).toBe(true);
    expect(r.expiredCollateral).toEqual([
      { item: 'pckCrl', reason: 'CRL_EXPIRED', notBefore: '2023-04-21T22:00:36.000Z', notAfter: '2023-05-21T22:00:36.000Z' },
    ]);
    // Intel QvE semantics: the status stands; the relying party's policy decides about stale collateral.
    expect(r.accepted).toBe(false);
    expect(r.policyViolations.map((v) => v.code)).toEqual(['COLLATERAL_EXPIRED']);
    const lenient = await verifyQuote(bytes(REAL.mobilecoin.quote), {
      collateral: collateral(REAL.mobilecoin.coll), now: new Date(REAL.mobilecoin.at), policy: { allowExpiredCollateral: true },
    });
    expect(lenient.accepted).toBe(true);
  });

  it('dcap-qvl TDX v4 quote → UpToDate with the TD identity', async () => {
    const r = await run('dcapTdx');
    expect(r.ok).toBe(true);
    expect(r.status).toBe('UpToDate');
    expect(r.qvResult).toBe(QvResult.OK);
    expect(r.teeType).toBe('TDX');
    expect(r.caType).toBe('platform');
    expect(r.td!.mrTd).toMatch(/^[0-9a-f]{96}$/);
    expect(r.enclave).toBeUndefined();
    expect(r.tdxModuleStatus).toBe('UpToDate');
  });

  it('platforms below every TCB level → TcbLevelNotSupported (TDX v5 outdated, go-tdx-guest SPR E4 v4)', async () => {
    for (const k of ['dcapTdxOutdated', 'spr'] as const) {
      const r = await run(k);
      expect(r.ok, k).toBe(false);
      expect(r.status, k).toBe('TcbLevelNotSupported');
      expect(r.reason, k).toBe('TCB_NOT_SUPPORTED');
      expect(r.qvResult, k).toBe(QvResult.UNSPECIFIED);
      expect(r.accepted, k).toBe(false);
    }
  });

  it('every real quote fails under a wrong root', async () => {
    const simRoot = bytes('simulated/root.der');
    for (const k of Object.keys(REAL) as (keyof typeof REAL)[]) {
      const r = await run(k, [simRoot]);
      expect(r.ok, k).toBe(false);
      expect(r.reason, k).toBe('PCK_CHAIN_UNTRUSTED');
      expect(r.simulated, k).toBe(false);
    }
  });
});

describe('simulated quotes need their root passed explicitly', () => {
  const quote = bytes('simulated/sim_quote.bin');
  const coll = collateral('simulated/sim_collateral.json');
  const at = new Date('2026-11-26T14:00:00Z'); // just after the sample collateral was issued (its CRLs at 13:35:57)

  it('verifies under its root, reported simulated', async () => {
    const r = await verifyQuote(quote, { collateral: coll, now: at, trustedRoots: [bytes('simulated/root.pem').toString()] });
    expect(r.ok).toBe(true);
    expect(r.status).toBe('SWHardeningNeeded');
    expect(r.advisoryIds).toEqual(['INTEL-SA-00615']);
    expect(r.simulated).toBe(true);
    expect(r.collateralExpired).toBe(false);
  });

  it('fails under the default (Intel) root', async () => {
    const r = await verifyQuote(quote, { collateral: coll, now: at });
    expect(r.reason).toBe('PCK_CHAIN_UNTRUSTED');
  });
});

describe('expiration follows Intel QvE: a flag, not a failure', () => {
  it('a month after nextUpdate the status is still computed and every expired item is named', async () => {
    const c = REAL.dcapSgx;
    const r = await verifyQuote(bytes(c.quote), { collateral: collateral(c.coll), now: new Date('2025-08-30T00:00:00Z') });
    expect(r.ok).toBe(true);
    expect(r.status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(r.collateralExpired).toBe(true);
    const items = r.expiredCollateral.map((x) => `${x.item}:${x.reason}`);
    expect(items).toContain('pckCrl:CRL_EXPIRED');
    expect(items).toContain('tcbInfo:TCB_INFO_EXPIRED');
    expect(items).toContain('qeIdentity:QE_IDENTITY_EXPIRED');
    expect(r.accepted).toBe(false);
  });

  it('after the PCK certificate notAfter it is flagged PCK_CERT_EXPIRED', async () => {
    const c = REAL.mobilecoin;
    const r = await verifyQuote(bytes(c.quote), { collateral: collateral(c.coll), now: new Date('2031-01-01T00:00:00Z') });
    expect(r.ok).toBe(true);
    expect(r.expiredCollateral.map((x) => x.reason)).toContain('PCK_CERT_EXPIRED');
  });
});

describe('createVerifier caches verified collateral', () => {
  it('verifies the context once per chain × collateral set and gives identical results warm', async () => {
    const c = REAL.dcapSgx;
    const v = createVerifier({ now: new Date(c.at), collateral: collateral(c.coll) });
    const cold = await v.verify(bytes(c.quote));
    expect(v.cacheSize).toBe(1);
    const warm = await v.verify(bytes(c.quote));
    expect(v.cacheSize).toBe(1);
    expect(warm).toEqual(cold);
    // A tampered quote still fails with a warm cache: the per-quote signatures are never cached.
    const bad = Buffer.from(bytes(c.quote));
    bad[100] ^= 1;
    expect((await v.verify(bad)).reason).toBe('INVALID_QUOTE_SIGNATURE');
  });

  it('re-checks a context after its collateral expired', async () => {
    const c = REAL.dcapSgx;
    const v = createVerifier({ collateral: collateral(c.coll) });
    await v.verify(bytes(c.quote), { now: new Date(c.at) });
    const later = await v.verify(bytes(c.quote), { now: new Date('2025-09-01T00:00:00Z') });
    expect(later.collateralExpired).toBe(true);
    expect(later.status).toBe('ConfigurationAndSWHardeningNeeded');
  });
});

describe("Intel's QVL sample data (Intel test PKI, TCB info v2, cert type 1)", () => {
  it('verifies with the chain from the collateral under its test root, reported simulated', async () => {
    const D = 'intel-qvl-sampledata';
    const text = (f: string) => bytes(`${D}/${f}`).toString('utf8');
    // Our own bundle format, carrying the whole PCS response bodies as served.
    const bundle = {
      format: 'sgx-quote-helper/collateral-v1',
      pckCrlIssuerChain: text('pckSignChain.pem'),
      rootCaCrl: bytes(`${D}/rootCaCrl.der`).toString('hex'),
      pckCrl: bytes(`${D}/intermediateCaCrl.der`).toString('hex'),
      tcbInfoIssuerChain: text('tcbSignChain.pem'),
      tcbInfo: text('tcbInfo.json'),
      qeIdentityIssuerChain: text('tcbSignChain.pem'),
      qeIdentity: text('qeIdentity.json'),
      pckCertificateChain: text('pckCert.pem') + text('pckSignChain.pem'),
    };
    const r = await verifyQuote(bytes(`${D}/quote.dat`), {
      collateral: parseCollateralBundle(JSON.stringify(bundle)),
      now: new Date('2020-01-01T00:00:00Z'),
      trustedRoots: [text('trustedRootCaCert.pem')],
    });
    expect(r.ok, r.message).toBe(true);
    expect(r.status).toBe('UpToDate');
    expect(r.simulated).toBe(true); // Intel's test root is not the production root
    const prod = await verifyQuote(bytes(`${D}/quote.dat`), { collateral: parseCollateralBundle(JSON.stringify(bundle)), now: new Date('2020-01-01T00:00:00Z') });
    expect(prod.reason).toBe('PCK_CHAIN_UNTRUSTED');
  });
});
