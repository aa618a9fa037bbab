/**
 * The helper's ops endpoint (daemon/ops-server.ts): /healthz (alive, draining, pid) and /readyz
 * (ready, provider, simulated, FMSPC, TCB status). Two checks read one fetch: readiness, and the
 * platform's FMSPC and TCB status.
 */
import { boundedGet } from '../pcs/bounded-get.js';
import { fail, ok, warn, type CheckResult, type DoctorRole, type HttpGet } from './types.js';

export const CHECK_READINESS = 'helper-readiness';
export const CHECK_TCB = 'platform-tcb';
/** What `serve` listens on unless --ops-listen says otherwise (daemon/config.ts DEFAULT_OPS_LISTEN). */
export const DEFAULT_OPS_URL = 'http://127.0.0.1:9464';
const MAX_OPS_BODY = 64 * 1024;

export interface ReadyzAnswer {
  ready: boolean;
  provider?: string;
  simulated?: boolean;
  reason?: string;
  fmspc?: string;
  tcbStatus?: string;
  warnings?: string[];
}

export interface OpsFacts {
  url: string;
  /** Why nothing usable came back (unreachable, not JSON, not ours). */
  error?: string;
  healthz?: { status?: string; draining?: boolean; pid?: number; service?: string };
  readyz?: ReadyzAnswer;
  readyzStatus?: number;
}

/** The default GET: the collateral client's bounded GET (deadline, body cap). */
export const defaultHttpGet: HttpGet = async (url, timeoutMs) => {
  const r = await boundedGet(url, {}, { timeoutMs, maxBodyBytes: MAX_OPS_BODY, maxDecodedBodyBytes: MAX_OPS_BODY });
  return { status: r.status, body: r.body.toString('utf8'), headers: r.headers };
};

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function fetchOps(baseUrl: string, get: HttpGet, timeoutMs = 5000): Promise<OpsFacts> {
  const url = baseUrl.replace(/\/+$/, '');
  const facts: OpsFacts = { url };
  try {
    const h = await get(`${url}/healthz`, timeoutMs);
    const j = parseJson(h.body);
    if (h.status === 200 && j) {
      facts.healthz = {
        ...(typeof j.status === 'string' ? { status: j.status } : {}),
        ...(typeof j.draining === 'boolean' ? { draining: j.draining } : {}),
        ...(Number.isSafeInteger(j.pid) ? { pid: j.pid as number } : {}),
        ...(typeof j.service === 'string' ? { service: j.service } : {}),
      };
    }
    const r = await get(`${url}/readyz`, timeoutMs);
    const rj = parseJson(r.body);
    if (!rj || typeof rj.ready !== 'boolean') {
      facts.error = `${url}/readyz answered HTTP ${r.status} without the helper's JSON: something else listens there`;
      return facts;
    }
    facts.readyzStatus = r.status;
    facts.readyz = {
      ready: rj.ready,
      ...(typeof rj.provider === 'string' ? { provider: rj.provider } : {}),
      ...(typeof rj.simulated === 'boolean' ? { simulated: rj.simulated } : {}),
      ...(typeof rj.reason === 'string' ? { reason: rj.reason } : {}),
      ...(typeof rj.fmspc === 'string' && /^[0-9A-Fa-f]{12}$/.test(rj.fmspc) ? { fmspc: rj.fmspc.toUpperCase() } : {}),
      ...(typeof rj.tcbStatus === 'string' ? { tcbStatus: rj.tcbStatus } : {}),
      ...(Array.isArray(rj.warnings) ? { warnings: rj.warnings.filter((w): w is string => typeof w === 'string').slice(0, 10) } : {}),
    };
  } catch (e) {
    facts.error = (e as Error).message;
  }
  return facts;
}

function unreachableHint(role: DoctorRole, url: string): string {
  return role === 'app'
    ? `give --ops-url http://<helper pod IP>:9464 (kubectl get pods -A -o wide -l app.kubernetes.io/component=quote-helper), or run doctor in the helper's pod`
    : `is the helper running with its ops endpoint on ${url}? (serve --ops-listen; the chart uses 0.0.0.0:9464) Give --ops-url if it listens elsewhere`;
}

export function checkReadiness(facts: OpsFacts, role: DoctorRole): CheckResult {
  const r = facts.readyz;
  if (!r) return warn(CHECK_READINESS, facts.error ?? `no answer from ${facts.url}`, unreachableHint(role, facts.url));
  const who = `${facts.url}: provider ${r.provider ?? '?'}${facts.healthz?.pid !== undefined ? `, pid ${facts.healthz.pid}` : ''}`;
  const warnings = r.warnings?.length ? `; warnings: ${r.warnings.join('; ')}` : '';
  if (facts.healthz?.draining) {
    return warn(CHECK_READINESS, `${who}: draining (shutting down or replaced)`, 'a rolling update is under way or this instance was replaced: run doctor again, or point --ops-url at the new pod');
  }
  if (!r.ready) {
    return fail(CHECK_READINESS, `${who}: NOT ready: ${r.reason ?? 'no reason given'}${warnings}`, "the helper cannot quote now: read its logs (kubectl logs on the helper pod) for the provider's start-up or health error");
  }
  if (r.simulated) {
    return warn(CHECK_READINESS, `${who}: ready, SIMULATED quotes (no relying party that trusts Intel accepts them)${warnings}`, 'fine for development; for real attestation serve --provider dcap on SGX hardware');
  }
  if (warnings) return warn(CHECK_READINESS, `${who}: ready${warnings}`, 'read the warnings: they name what to fix');
  return ok(CHECK_READINESS, `${who}: ready, not simulated`);
}

/** TCB statuses a relying party usually still accepts, with a warning. */
const TCB_WARN = new Set(['SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'TcbLevelNotSupported']);

export function checkPlatformTcb(facts: OpsFacts): CheckResult {
  const r = facts.readyz;
  if (!r) return warn(CHECK_TCB, `unknown: ${facts.error ?? 'the ops endpoint did not answer'}`, 'see the helper-readiness check');
  const label = r.simulated ? ' (SIMULATED platform)' : '';
  if (!r.fmspc && !r.tcbStatus) {
    return warn(CHECK_TCB, `the helper's ${r.provider ?? ''} provider does not report FMSPC or TCB status`, 'verify a quote from this node (sgx-quote-helper verify) to learn its TCB status; give doctor --fmspc (from sgx-quote-helper inspect) to check its collateral');
  }
  const detail = `FMSPC ${r.fmspc ?? '(not reported)'}, TCB status ${r.tcbStatus ?? '(not reported)'}${label}`;
  const s = r.tcbStatus;
  if (s === 'Revoked') return fail(CHECK_TCB, detail, "the platform's keys are revoked: relying parties reject its quotes; replace or re-provision the platform with Intel");
  if (s && TCB_WARN.has(s)) {
    return warn(CHECK_TCB, detail, s.startsWith('OutOfDate')
      ? 'update the BIOS/microcode (and re-register the platform with your PCCS); strict relying parties reject OutOfDate'
      : 'relying parties see this status: check their policy accepts it (SW hardening / configuration advisories)');
  }
  if (s && s !== 'UpToDate') return warn(CHECK_TCB, detail, 'unknown TCB status: check the helper version and its collateral');
  return ok(CHECK_TCB, detail);
}
