import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collateralFromDcapQvlJson } from '../../src/pcs/bundle.js';
import { SimPlatform, TCB_PROFILES, toDcapQvlCollateral } from '../../src/providers/sim/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { convergeWithQe, type TcbLevelStatus } from '../../src/verify/index.js';
import { parseQuote } from '../../src/sgx/index.js';
import { signJson, simKeys, simQuote } from './sim-fixtures.js';

const NOW = new Date('2026-06-01T12:00:00Z');

/** Quotes from our simulator under each TCB profile verify to that profile's status (Intel convergence). */
describe('simulated platform: each TCB profile gives its status', () => {
  const t = tempDir('sqh-verify-sim-');
  let platform: SimPlatform;
  beforeAll(async () => {
    platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
  });
  afterAll(() => t.cleanup());

  it.each(TCB_PROFILES)('%s', async (profile) => {
    await platform.setTcbProfile(profile);
    const sim = await platform.collateral({ now: NOW });
    // Round-trip through the dcap-qvl bundle format, as a user with `sim collateral` output would.
    const collateral = collateralFromDcapQvlJson(toDcapQvlCollateral(sim));
    const v = createVerifier({ trustedRoots: [sim.rootCertDer] });
    const r = await v.verify(simQuote(platform), { collateral, now: new Date(NOW.getTime() + 60_000) });
    expect(r.simulated).toBe(true);
    expect(r.collateralExpired).toBe(false);
    if (profile === 'Revoked') {
      // The Revoked profile also lists the PCK certificate in the PCK CRL, which §5.C5 finds first.
      expect(r.status).toBe('Revoked');
      expect(r.reason).toBe('PCK_REVOKED');
    } else if (profile === 'TcbLevelNotSupported') {
      expect(r.status).toBe('TcbLevelNotSupported');
      expect(r.reason).toBe('TCB_NOT_SUPPORTED');
    } else {
      expect(r.ok, r.message).toBe(true);
      expect(r.status).toBe(profile);
      expect(r.platformStatus).toBe(profile);
      expect(r.enclave?.mrEnclave).toBe('a1'.repeat(32));
    }
    // And never under Intel's root.
    const intel = await createVerifier().verify(simQuote(platform), { collateral, now: NOW });
    expect(intel.reason).toBe('PCK_CHAIN_UNTRUSTED');
  });

  // Intel convergence, not dcap-qvl's worst-wins: a QE identity that rates this QE OutOfDate (re-signed with
  // the simulator's TCB Signing key) combined with each platform profile gives the spec §5.G table's value.
  it.each(['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'] as const)(
    'QE OutOfDate × platform %s',
    async (profile) => {
      await platform.setTcbProfile(profile);
      const sim = await platform.collateral({ now: NOW });
      const quote = simQuote(platform);
      const qeSvn = parseQuote(quote).qe.qeReport.isvSvn;
      const identity = JSON.parse(sim.qeIdentityBody) as Record<string, unknown>;
      identity.tcbLevels = [
        { tcb: { isvsvn: qeSvn + 1 }, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
        { tcb: { isvsvn: qeSvn }, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-00615'] },
      ];
      const body = JSON.stringify(identity);
      const key = (await simKeys(t.dir)).tcbSigningKey;
      const collateral = { ...collateralFromDcapQvlJson(toDcapQvlCollateral(sim)), qeIdentityBody: body, qeIdentitySignature: signJson(body, key) };
      const r = await createVerifier({ trustedRoots: [sim.rootCertDer] }).verify(quote, { collateral, now: new Date(NOW.getTime() + 60_000) });
      expect(r.ok, r.message).toBe(true);
      expect(r.qeStatus).toBe('OutOfDate');
      expect(r.status).toBe(convergeWithQe(profile as TcbLevelStatus, 'OutOfDate'));
      expect(r.status).toBe(profile.startsWith('Configuration') || profile === 'OutOfDateConfigurationNeeded' ? 'OutOfDateConfigurationNeeded' : 'OutOfDate');
      expect(r.advisoryIds).toContain('INTEL-SA-00615');
    },
  );
});
