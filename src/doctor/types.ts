/**
 * What every doctor check returns, and the inputs checks share. Each check is a small function of its
 * inputs (filesystem root, environment, socket path, HTTP GET, clock), so tests run it on temp dirs
 * and real daemons, and the CLI only gathers the real ones.
 */

export const CHECK_STATUSES = ['OK', 'WARN', 'FAIL'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** One line of the report; `--json` prints an array of exactly these. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it, in one line ('' when nothing needs doing). */
  hint: string;
}

/** node: the helper's pod or a host that runs the helper; app: an application pod or process that asks for quotes. */
export const DOCTOR_ROLES = ['node', 'app'] as const;
export type DoctorRole = (typeof DOCTOR_ROLES)[number];

/** Who this process is, for judging file modes (device nodes). */
export interface ProcessIdentity {
  uid: number;
  gid: number;
  groups: number[];
}

export function currentProcessIdentity(): ProcessIdentity {
  return {
    uid: process.getuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
  };
}

/** A bounded HTTP GET: status and body text, or a thrown Error whose message says why not. */
export type HttpGet = (url: string, timeoutMs: number) => Promise<{ status: number; body: string; headers?: Headers }>;

export function ok(name: string, detail: string, hint = ''): CheckResult {
  return { name, status: 'OK', detail, hint };
}
export function warn(name: string, detail: string, hint: string): CheckResult {
  return { name, status: 'WARN', detail, hint };
}
export function fail(name: string, detail: string, hint: string): CheckResult {
  return { name, status: 'FAIL', detail, hint };
}
