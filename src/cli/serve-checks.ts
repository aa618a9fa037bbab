/**
 * Start-up checks of `serve` that turn a predictable failure into one line a person can act on:
 * a sim state directory that holds no platform (or cannot be read), and a socket path this user
 * cannot create. Kept apart from serve.ts so the command file stays a thin parse-call-print.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { DEFAULT_SOCKET_PATH, DaemonError } from '../daemon/index.js';
import { StateFiles } from '../providers/sim/state-files.js';

/**
 * The sim provider must not quietly invent a new platform where an operator expected one (a typo in
 * --state-dir would otherwise hand out quotes from a platform nobody has the root of). With `init`,
 * an empty or missing directory gets a new platform; without it, that is an error saying how to make one.
 */
export function checkSimStateDir(dir: string, init: boolean): void {
  if (existsSync(dir)) {
    let entries: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new CliError(`state dir ${dir} is not a directory`, EXIT_BAD_INPUT);
      accessSync(dir, constants.R_OK | constants.X_OK);
      entries = readdirSync(dir);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(
        `state dir ${dir} is unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run as its owner or fix its permissions`,
        EXIT_FAILURE,
      );
    }
    if (entries.includes(StateFiles.platform)) {
      try {
        accessSync(join(dir, StateFiles.platform), constants.R_OK);
      } catch {
        throw new CliError(`state dir ${dir} is unreadable (${StateFiles.platform} cannot be read): run as its owner or fix its permissions`, EXIT_FAILURE);
      }
      return;
    }
    // Other state files without the commit marker: the sim reports that itself (interrupted init).
    if (entries.some((f) => (Object.values(StateFiles) as string[]).includes(f))) return;
  }
  if (init) return;
  throw new CliError(
    `no simulated platform in ${dir}: create one with \`sgx-quote-helper sim init --state-dir ${dir}\`, or pass --init to serve to create it now`,
    EXIT_BAD_INPUT,
  );
}

/**
 * A socket that cannot be created for lack of permission: say whose path it is and what to use instead.
 * Returns undefined for every other failure (the daemon's own message is clear enough).
 */
export function socketPermissionError(e: unknown, socketPath: string): CliError | undefined {
  if (!(e instanceof DaemonError) || e.code !== 'SOCKET_BIND_FAILED') return undefined;
  const errno = (e.cause as NodeJS.ErrnoException | undefined)?.code;
  if (errno !== 'EACCES' && errno !== 'EPERM') return undefined;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const who = uid === undefined ? 'this user' : `user ${uid}`;
  const dir = dirname(socketPath);
  const why = socketPath === DEFAULT_SOCKET_PATH
    ? `${dir} is where Intel's clients look, and only root (or its owner) can write it`
    : `${who} cannot write ${dir}`;
  const runtime = process.env.XDG_RUNTIME_DIR || '/tmp';
  return new CliError(
    `cannot create the AESM socket ${socketPath}: permission denied (${why}). ` +
      `Serve a path you can write with --socket ${join(runtime, 'aesm.socket')} or SQH_SOCKET=${join(runtime, 'aesm.socket')}` +
      (socketPath === DEFAULT_SOCKET_PATH ? ', or run as root' : ''),
    EXIT_FAILURE,
  );
}
