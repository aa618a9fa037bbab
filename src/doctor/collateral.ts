/**
 * Collateral for this platform's FMSPC (from the helper's /readyz): TCB info and QE identity fetched
 * from the collateral service the node would use (--collateral-url, else the QCNL config's
 * collateral_service / pccs_url) with the project's PCS client, and judged fresh against `now`.
 */
import { createPcsClient, PcsError, type FetchLike } from '../pcs/index.js';
import { fail, ok, warn, type CheckResult, type DoctorRole } from './types.js';

export const CHECK_COLLATERAL = 'collateral';
/** Less than this left before nextUpdate: the service is not refreshing (a PCCS refreshes daily). */
export const NEAR_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export interface CollateralCheckInput {
  fmspc?: string;
  url?: string;
  /** Where the URL came from, for the message ('--collateral-url' or the QCNL config path). */
  urlSource?: string;
  role: DoctorRole;
  /** The helper's provider, when known: the sim's platform is unknown to Intel. */
  provider?: string;
  now: Date;
  fetch?: FetchLike;
  timeoutMs?: number;
}

function days(ms: number): string {
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

export async function checkCollateral(input: CollateralCheckInput): Promise<CheckResult> {
  if (!input.fmspc) {
    return warn(
      CHECK_COLLATERAL,
      "skipped: this platform's FMSPC is unknown (the helper's /readyz did not report it)",
      'give --fmspc (sgx-quote-helper inspect of a quote from this node shows it), or see the helper-readiness check',
    );
  }
  if (!input.url) {
    return warn(
      CHECK_COLLATERAL,
      `skipped: no collateral service configured for FMSPC ${input.fmspc}`,
      'give --collateral-url https://<your PCCS>:8081 (or https://api.trustedservices.intel.com), or set pccs_url in /etc/sgx_default_qcnl.conf',
    );
  }
  // The node's DCAP library (dcap provider) needs the service to certify its key; an explicit URL is a request to check it.
  const needed = input.urlSource === '--collateral-url' || (input.role === 'node' && input.provider !== 'sim' && input.provider !== 'upstream');
  const from = `${input.url}${input.urlSource ? ` (from ${input.urlSource})` : ''}`;
  let client;
  try {
    client = createPcsClient({ baseUrl: input.url, timeoutMs: input.timeoutMs ?? 10_000, now: () => input.now, ...(input.fetch ? { fetch: input.fetch } : {}) });
  } catch (e) {
    return fail(CHECK_COLLATERAL, `${from}: ${(e as Error).message}`, 'fix the URL: scheme, host and port, e.g. https://pccs.example:8081');
  }
  try {
    const [tcb, qe] = await Promise.all([client.getTcbInfo('SGX', input.fmspc), client.getQeIdentity('SGX')]);
    const simulated = tcb.simulated || qe.simulated ? ' SIMULATED' : '';
    const items = [
      { what: 'TCB info', nextUpdate: tcb.nextUpdate },
      { what: 'QE identity', nextUpdate: qe.nextUpdate },
    ];
    const now = input.now.getTime();
    const expired = items.filter((i) => i.nextUpdate.getTime() <= now);
    const soon = items.filter((i) => i.nextUpdate.getTime() > now && i.nextUpdate.getTime() - now < NEAR_EXPIRY_MS);
    const detail = `${from}:${simulated} ${items.map((i) => `${i.what} nextUpdate ${i.nextUpdate.toISOString()}`).join(', ')} for FMSPC ${input.fmspc}`;
    if (expired.length) {
      return warn(CHECK_COLLATERAL, `${detail}: ${expired.map((i) => i.what).join(' and ')} expired (stale)`, 'the service serves old collateral and verifiers reject it: refresh the PCCS cache (or check its upstream connection to Intel PCS)');
    }
    if (soon.length) {
      const left = Math.min(...soon.map((i) => i.nextUpdate.getTime() - now));
      return warn(CHECK_COLLATERAL, `${detail}: expires in ${days(left)}`, 'the service does not seem to refresh: check the PCCS refresh schedule and its access to Intel PCS');
    }
    return ok(CHECK_COLLATERAL, `${detail}: fresh`);
  } catch (e) {
    const msg = (e as Error).message;
    const notFound = e instanceof PcsError && e.code === 'HTTP_STATUS' && e.status === 404;
    if (notFound) {
      const hint = input.provider === 'sim'
        ? "a SIMULATED platform's FMSPC is unknown to Intel: serve collateral for it with sgx-quote-helper collateral serve --state-dir <the helper's state dir> and give its URL"
        : 'the platform is not registered with this PCCS/PCS: register it (PCK Cert ID Retrieval Tool) or check the PCCS has fetched its collateral';
      const detail = `${from}: HTTP 404 for FMSPC ${input.fmspc}: ${msg}`;
      return needed ? fail(CHECK_COLLATERAL, detail, hint) : warn(CHECK_COLLATERAL, detail, hint);
    }
    const hint = 'check the URL, DNS, proxy (HTTPS_PROXY) and firewall from this pod; Intel\'s library reports this as 0xE019 SGX_QL_NETWORK_ERROR';
    return needed ? fail(CHECK_COLLATERAL, `${from}: unreachable or unusable: ${msg}`, hint) : warn(CHECK_COLLATERAL, `${from}: unreachable or unusable: ${msg} (not needed for this role and provider)`, hint);
  }
}
