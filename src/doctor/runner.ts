/**
 * Runs every check in a fixed order and returns the results. The only facts shared between checks are
 * gathered here once: the ops endpoint's answer (provider, FMSPC, pid), the QCNL config (collateral
 * URL), the device look (in-process quoting) and whether the socket answered.
 */
import { checkSgxAesmAddr, isOutOfProcess, AESM_ADDR_ENV } from './aesm-addr.js';
import { checkCollateral } from './collateral.js';
import { ENCLAVE_DEVICES, PROVISION_DEVICES, checkSgxDevices, groupNames, lookForDevice } from './devices.js';
import { checkIntelLibraries } from './libraries.js';
import { checkSocketListener } from './listener.js';
import { checkPlatformTcb, checkReadiness, defaultHttpGet, fetchOps, DEFAULT_OPS_URL } from './ops.js';
import { checkQuoteProvider, readQuoteProviderInfo } from './quote-provider.js';
import { checkAesmSocket } from './socket.js';
import { currentProcessIdentity, type CheckResult, type DoctorRole, type HttpGet, type ProcessIdentity } from './types.js';
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
  checks.push(checkSgxDevices({ root, role, outOfProcess, provider, who }));
  checks.push(checkIntelLibraries({ root, env, role, provider }));
  checks.push(checkQuoteProvider({ info: qpl, role, provider }));
  checks.push(checkSgxAesmAddr({ env, role, inProcessDevicesUsable: usable(enclave) && usable(provision) }));
  const socket = await checkAesmSocket({ socketPath, role, timeoutMs });
  checks.push(socket.result);
  checks.push(await checkSocketListener({ socketPath, root, opsPid: ops.healthz?.pid, opsUrl: ops.url, answered: socket.answered, pause: opts.pause }));
  checks.push(checkReadiness(ops, role));
  checks.push(checkPlatformTcb(ops));
  const collateralUrl = opts.collateralUrl ?? qpl.collateralUrl;
  const urlSource = opts.collateralUrl ? '--collateral-url' : qpl.collateralUrl ? qpl.config?.path : undefined;
  checks.push(
    await checkCollateral({
      fmspc: ops.readyz?.fmspc ?? opts.fmspc?.toUpperCase(),
      url: collateralUrl,
      urlSource,
      role,
      provider,
      now: opts.now ?? new Date(),
      fetch: opts.fetch,
      timeoutMs,
    }),
  );
  return { role, roleReason, socketPath, opsUrl: ops.url, checks };
}

/** 0 when nothing FAILs, else 1. */
export function doctorExitCode(checks: readonly CheckResult[]): 0 | 1 {
  return checks.some((c) => c.status === 'FAIL') ? 1 : 0;
}
