import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collateralFromDcapQvlJson } from '../../src/pcs/bundle.js';
import { SimPlatform, TCB_PROFILES, toDcapQvlCollateral } from '../../src/providers/sim/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { tempDir } from '../sim/helpers.js';
import { simQuote } from './sim-fixtures.js';

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
});
