/**
 * The AESM socket, asked the way an application would: the path exists and is a socket, it accepts a
 * connection, answers GetSupportedAttKeyIDNum and a quote size (GetQuoteSizeEx; after InitQuoteEx if
 * the key is not initialised yet, as every client does first). Uses the project's own client.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AesmCode } from '../aesm/index.js';
import { AesmClient, AesmClientError } from '../client/index.js';
import { fail, ok, type CheckResult, type DoctorRole } from './types.js';

export const CHECK_SOCKET = 'aesm-socket';

export interface SocketCheckInput {
  socketPath: string;
  role: DoctorRole;
  /** Per-call bound (default 5 s): a stuck listener costs the doctor at most a few of these. */
  timeoutMs?: number;
}

export interface SocketCheckOutcome {
  result: CheckResult;
  /** The socket answered both calls (the listener speaks AESM). */
  answered: boolean;
}

const MOUNT_HINT_APP =
  'mount the node\'s /var/run/aesmd into this container at /var/run/aesmd (hostPath; the helper\'s webhook adds it to pods that ask for SGX), and check that the sgx-quote-helper DaemonSet has a ready pod on this node: kubectl get pods -A -o wide -l app.kubernetes.io/component=quote-helper';
const MOUNT_HINT_NODE =
  'start the helper (sgx-quote-helper serve), or check that its DaemonSet pod on this node is running and mounts hostPath /var/run/aesmd: kubectl get pods -A -o wide -l app.kubernetes.io/component=quote-helper';

function hintFor(role: DoctorRole): string {
  return role === 'app' ? MOUNT_HINT_APP : MOUNT_HINT_NODE;
}

export async function checkAesmSocket(input: SocketCheckInput): Promise<SocketCheckOutcome> {
  const p = input.socketPath;
  const failed = (detail: string, hint: string): SocketCheckOutcome => ({ result: fail(CHECK_SOCKET, detail, hint), answered: false });
  let st;
  try {
    st = await lstat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failed(`${p} does not exist: ${await describeDirectory(path.dirname(p))}`, hintFor(input.role));
    return failed(`cannot look at ${p}: ${code ?? (e as Error).message}`, 'run the doctor as a user that may read the socket directory');
  }
  if (!st.isSocket()) {
    return failed(`${p} exists but is a ${st.isDirectory() ? 'directory' : 'file, not a socket'}`, `a hostPath mount of the wrong kind (File/Directory instead of the socket's directory) or a leftover: mount the node's /var/run/aesmd directory, and remove what sits at ${p} on the node`);
  }
  const client = new AesmClient({ socketPath: p, timeoutMs: input.timeoutMs ?? 5000, retryDeadlineMs: 0 });
  try {
    const keyIds = await client.getSupportedAttKeyIdNum();
    let size: number;
    try {
      size = await client.getQuoteSize();
    } catch (e) {
      if (!(e instanceof AesmClientError) || e.aesmCode !== AesmCode.ATT_KEY_NOT_INITIALIZED) throw e;
      await client.getTargetInfo();
      size = await client.getQuoteSize();
    }
    return { result: ok(CHECK_SOCKET, `${p} answers: ${keyIds} attestation key id(s), ECDSA-P256 quote size ${size} bytes`), answered: true };
  } catch (e) {
    if (!(e instanceof AesmClientError)) throw e;
    return failed(e.describe(), socketFailureHint(e, input.role));
  }
}

function socketFailureHint(e: AesmClientError, role: DoctorRole): string {
  switch (e.kind) {
    case 'unavailable':
      return e.errno === 'ECONNREFUSED'
        ? `a socket file with nobody listening (the helper stopped or is restarting): ${hintFor(role)}`
        : hintFor(role);
    case 'permission':
      return "this user may not connect: the helper creates the socket with --socket-mode (default 0666) and --socket-group; check them and the directory's permissions";
    default:
      return e.hint ?? 'check the helper\'s logs and its /readyz';
  }
}

/**
 * What the socket's directory holds: missing (not mounted), empty (the helper is not running on this
 * node, or another directory was mounted), or other names (e.g. `aesm.sock`, a common typo).
 */
async function describeDirectory(dir: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${dir} does not exist (not mounted here)` : `${dir} cannot be listed (${code ?? (e as Error).message})`;
  }
  // Identity records and temporary sockets of the helper start with a dot.
  const visible = names.filter((n) => !n.startsWith('.'));
  if (visible.length === 0) return `${dir} is empty (no helper publishes there, or the mount shows another directory)`;
  const shown = visible.slice(0, 5).join(', ') + (visible.length > 5 ? `, … (${visible.length} entries)` : '');
  return `${dir} holds ${shown}`;
}
