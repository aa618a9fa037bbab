/**
 * Runs every check in a fixed order and returns the results. The only facts shared between checks are
 * gathered here once: the ops endpoint's answer (provider, FMSPC, pid), the QCNL config (collateral
 * URL), the device look (in-process quoting) and whether the socket answered.
 */
import { CHECK_AESM_ADDR, checkSgxAesmAddr, isOutOfProcess, AESM_ADDR_ENV } from './aesm-addr.js';
import { CHECK_COLLATERAL, checkCollateral } from './collateral.js';
import { CHECK_DEVICES, ENCLAVE_DEVICES, PROVISION_DEVICES, checkSgxDevices, groupNames, lookForDevice } from './devices.js';
import { CHECK_LIBRARIES, checkIntelLibraries } from './libraries.js';
import { CHECK_LISTENER, checkSocketListener } from './listener.js';
import { CHECK_READINESS, CHECK_TCB, checkPlatformTcb, checkReadiness, defaultHttpGet, fetchOps, DEFAULT_OPS_URL } from './ops.js';
import { CHECK_QUOTE_PROVIDER, checkQuoteProvider, readQuoteProviderInfo } from './quote-provider.js';
import { CHECK_SOCKET, checkAesmSocket } from './socket.js';
import { currentProcessIdentity, fail, type CheckResult, type DoctorRole, type HttpGet, type ProcessIdentity } from './types.js';
import type { FetchLike } from '../pcs/index.js';
import { resolveSocketPath } from '../client/index.js';

export interface DoctorOptions {
  /** Filesystem root for /dev, /etc, library directories and /proc (default '/'). */
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Default: $SQH_SOCKET, then /var/run/aesmd/aesm.socket (what the client uses). */
  socketPath?: string;
  /** Default http://127.0.0.1:9464. */
  opsUrl?: string;
  /** Default: app when SGX_AESM_ADDR is set, else node. */
  role?: DoctorRole;
  /** FMSPC for the collateral check when the helper does not report one (dcap, upstream). */
  fmspc?: string;
  /** Collateral service to check; default: the QCNL config's collateral_service, else pccs_url. */
  collateralUrl?: string;
  who?: ProcessIdentity;
  now?: Date;
  httpGet?: HttpGet;
  /** HTTP for the collateral client (default: its own bounded GET). */
  fetch?: FetchLike;
  /** Bound for each network step (default 5 s). */
  timeoutMs?: number;
  /** Wait between the two looks at the socket's inode. */
  pause?: () => Promise<void>;
}

export interface DoctorReport {
  role: DoctorRole;
  /** Why this role: given, or inferred from SGX_AESM_ADDR. */
  roleReason: string;
  socketPath: string;
  opsUrl: string;
  checks: CheckResult[];
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const root = opts.root ?? '/';
  const env = opts.env ?? process.env;
  const who = opts.who ?? currentProcessIdentity();
  const outOfProcess = isOutOfProcess(env);
  const role: DoctorRole = opts.role ?? (outOfProcess ? 'app' : 'node');
  const roleReason = opts.role ? 'given with --role' : outOfProcess ? `inferred: ${AESM_ADDR_ENV} is set` : `inferred: ${AESM_ADDR_ENV} is unset`;
  const socketPath = resolveSocketPath(opts.socketPath, env);
  const opsUrl = opts.opsUrl ?? DEFAULT_OPS_URL;
  const timeoutMs = opts.timeoutMs ?? 5000;

  const ops = await fetchOps(opsUrl, opts.httpGet ?? defaultHttpGet, timeoutMs);
  const provider = ops.readyz?.provider;
  const qpl = readQuoteProviderInfo(root, env);
  const names = groupNames(root);
  const enclave = lookForDevice(root, ENCLAVE_DEVICES, who, names).node;
  const provision = lookForDevice(root, PROVISION_DEVICES, who, names).node;
  const usable = (n: typeof enclave) => !!n && n.kind === 'char' && n.accessible;

  const checks: CheckResult[] = [];
  checks.push(await guarded(CHECK_DEVICES, () => checkSgxDevices({ root, role, outOfProcess, provider, who })));
  checks.push(await guarded(CHECK_LIBRARIES, () => checkIntelLibraries({ root, env, role, provider })));
  checks.push(await guarded(CHECK_QUOTE_PROVIDER, () => checkQuoteProvider({ info: qpl, role, provider })));
  checks.push(await guarded(CHECK_AESM_ADDR, () => checkSgxAesmAddr({ env, role, inProcessDevicesUsable: usable(enclave) && usable(provision) })));
  let answered = false;
  checks.push(
    await guarded(CHECK_SOCKET, async () => {
      const socket = await checkAesmSocket({ socketPath, role, timeoutMs });
      answered = socket.answered;
      return socket.result;
    }),
  );
  checks.push(await guarded(CHECK_LISTENER, () => checkSocketListener({ socketPath, root, opsPid: ops.healthz?.pid, opsUrl: ops.url, answered, pause: opts.pause })));
  checks.push(await guarded(CHECK_READINESS, () => checkReadiness(ops, role)));
  checks.push(await guarded(CHECK_TCB, () => checkPlatformTcb(ops)));
  const collateralUrl = opts.collateralUrl ?? qpl.collateralUrl;
  const urlSource = opts.collateralUrl ? '--collateral-url' : qpl.collateralUrl ? qpl.config?.path : undefined;
  checks.push(
    await guarded(CHECK_COLLATERAL, () => checkCollateral({
      fmspc: ops.readyz?.fmspc ?? opts.fmspc?.toUpperCase(),
      url: collateralUrl,
      urlSource,
      role,
      provider,
      now: opts.now ?? new Date(),
      fetch: opts.fetch,
      timeoutMs,
    })),
  );
  return { role, roleReason, socketPath, opsUrl: ops.url, checks };
}

/**
 * A check that throws (a bug, or a host stranger than its tests) becomes that check's FAIL with the
 * message, so the report still lists every other check and the exit code still says "something failed".
 */
async function guarded(name: string, run: () => CheckResult | Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (e) {
    return fail(name, `the check itself failed: ${e instanceof Error ? e.message : String(e)}`, 'a bug in doctor or an unexpected host: report this line with the command you ran');
  }
}

/** 0 when nothing FAILs, else 1. */
export function doctorExitCode(checks: readonly CheckResult[]): 0 | 1 {
  return checks.some((c) => c.status === 'FAIL') ? 1 : 0;
}
