/**
 * Publishing the AESM socket without a gap, and knowing when we no longer own it.
 *
 * A new instance listens on a private temporary name next to the socket path and rename()s it over
 * the path: rename is atomic, so at every instant the path names a listening socket (the old one or
 * the new one). The old instance sees the path's inode change and drains.
 *
 * libuv unlink()s the path a pipe server was bound to when that server closes. Because we always
 * bind to a unique temporary name, that unlink hits a name that no longer exists, never the
 * published socket (which may by then belong to a successor).
 *
 * Who may be replaced (docs/operations.md, "The node socket"): before renaming, each instance writes
 * an identity record `.<socket name>.sqh-<dev>-<ino>` next to the socket, naming the inode it is
 * about to publish. A live socket is handed over only when such a record exists for its current
 * inode and is owned by our user or root; anything else (a host aesmd, another service) is foreign
 * and `serve` refuses unless told `--take-over`. The directory itself must not be writable by other
 * users (unless sticky), or records and sockets could be forged.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rename, stat, lstat, chmod, chown, unlink, readdir, writeFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DaemonError } from './errors.js';
import { MAX_SOCKET_PATH_BYTES } from './config.js';

export interface SocketIdentity {
  dev: number;
  ino: number;
  /** Owner of the socket file (set by currentIdentity). */
  uid?: number;
}

export type ExistingSocketState = 'absent' | 'stale' | 'live';

/** What sits at `socketPath` now: nothing, a socket nobody listens on (killed instance), or a live server. */
export async function probeSocketPath(socketPath: string, timeoutMs = 1000): Promise<ExistingSocketState> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new DaemonError('SOCKET_BIND_FAILED', `cannot inspect ${socketPath}: ${(e as Error).message}`);
  }
  if (!st.isSocket()) {
    throw new DaemonError(
      'SOCKET_PATH_NOT_SOCKET',
      `${socketPath} exists and is not a socket; remove it or choose another --socket path`,
    );
  }
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    const timer = setTimeout(() => {
      conn.destroy();
      // Accepting but slow: a live server (maybe busy); handing over is still right.
      resolve('live');
    }, timeoutMs);
    conn.once('connect', () => {
      clearTimeout(timer);
      conn.destroy();
      resolve('live');
    });
    conn.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve('stale');
      else reject(new DaemonError('SOCKET_BIND_FAILED', `cannot probe ${socketPath}: ${e.message}`));
    });
  });
}

export interface PublishOptions {
  mode: number;
  gid?: number;
  /** Mode for socket directories we create (applied with chmod, so the umask does not narrow it). */
  dirMode?: number;
  /** Skip the directory check (only to take back a socket another user replaced; see daemon.ts). */
  allowUnsafeDir?: boolean;
}

/** listen() backlog of the AESM socket (Node's default is 511). */
export const LISTEN_BACKLOG = 4096;

/** The mode `serve` creates the socket directory with: clients of any uid must be able to reach the socket. */
export const SOCKET_DIR_MODE = 0o755;

const RECORD_MARK = '.sqh-';

function recordName(socketPath: string, id: SocketIdentity): string {
  return path.join(path.dirname(socketPath), `.${path.basename(socketPath)}${RECORD_MARK}${id.dev}-${id.ino}`);
}

/** Where the identity record of the socket inode `id` lives (read by `doctor` to name the listener). */
export const identityRecordPath = recordName;

/** File-name prefix of every identity record of `socketPath` (in its directory). */
export function identityRecordPrefix(socketPath: string): string {
  return `.${path.basename(socketPath)}${RECORD_MARK}`;
}

/** A uid we trust to own the socket or its identity record: ourselves or root. */
export function trustedUid(uid: number): boolean {
  return uid === 0 || uid === process.getuid?.();
}

/**
 * Whether the live socket at `socketPath` is provably served by another sgx-quote-helper: an
 * identity record for its dev+inode exists, is a regular file, and belongs to our user or root.
 */
export async function isOurInstance(socketPath: string): Promise<boolean> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch {
    return false;
  }
  if (!st.isSocket() || !trustedUid(st.uid)) return false;
  try {
    const rec = await lstat(recordName(socketPath, { dev: st.dev, ino: st.ino }));
    return rec.isFile() && trustedUid(rec.uid);
  } catch {
    return false;
  }
}

/** Remove identity records of inodes other than `keep` (left behind by a kill -9). Best effort. */
async function removeStaleRecords(socketPath: string, keep: SocketIdentity): Promise<void> {
  const prefix = `.${path.basename(socketPath)}${RECORD_MARK}`;
  const keepNames = new Set([path.basename(recordName(socketPath, keep))]);
  // An instance that published after us (a racing start) keeps its record too.
  const now = await currentIdentity(socketPath);
  if (now) keepNames.add(path.basename(recordName(socketPath, now)));
  let names: string[];
  try {
    names = await readdir(path.dirname(socketPath));
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(prefix) && !keepNames.has(n)) await unlink(path.join(path.dirname(socketPath), n)).catch(() => undefined);
  }
}

/** Remove our own identity record (on stop). */
export async function removeIdentityRecord(socketPath: string, id: SocketIdentity): Promise<void> {
  await unlink(recordName(socketPath, id)).catch(() => undefined);
}

/**
 * Refuse directories where another user could replace the socket: writable by group or others
 * without the sticky bit, or owned by someone other than us or root. Returns the reason, or undefined.
 */
export async function unsafeDirectoryReason(dir: string): Promise<string | undefined> {
  const st = await stat(dir);
  const mode = st.mode & 0o7777;
  if (!trustedUid(st.uid)) {
    return `socket directory ${dir} belongs to uid ${st.uid}, who could replace the socket; use a directory owned by root or by this user (uid ${process.getuid?.()})`;
  }
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
    return `socket directory ${dir} has mode ${mode.toString(8).padStart(4, '0')}: other users can write it and could replace the socket; run chmod go-w ${dir} (or chmod +t ${dir} for a shared directory)`;
  }
  return undefined;
}

/** mkdir -p that applies `mode` to every directory it creates, whatever the umask. */
async function makeSocketDir(dir: string, mode: number): Promise<void> {
  const created: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      await stat(d);
      break;
    } catch {
      created.push(d);
      if (path.dirname(d) === d) break;
    }
  }
  await mkdir(dir, { recursive: true, mode });
  for (const d of created.reverse()) await chmod(d, mode);
}

/** A unique sibling name for binding before the rename. Short, so long socket paths still fit. */
export function temporarySocketPath(socketPath: string): string {
  const dir = path.dirname(socketPath);
  const tmp = path.join(dir, `.${path.basename(socketPath).slice(0, 8)}.${process.pid}.${randomBytes(3).toString('hex')}`);
  if (Buffer.byteLength(tmp) > MAX_SOCKET_PATH_BYTES) {
    throw new DaemonError('SOCKET_PATH_TOO_LONG', `socket path ${socketPath} is too long for AF_UNIX; choose a shorter --socket path`);
  }
  return tmp;
}

/**
 * Listen on a temporary name, set mode/group, then atomically rename it over `socketPath`
 * (replacing a live or stale socket). Returns the published socket's identity.
 */
export async function publishSocket(server: net.Server, socketPath: string, opts: PublishOptions): Promise<SocketIdentity> {
  const dir = path.dirname(socketPath);
  try {
    await makeSocketDir(dir, opts.dirMode ?? SOCKET_DIR_MODE);
  } catch (e) {
    throw new DaemonError('SOCKET_BIND_FAILED', `cannot create socket directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const unsafe = opts.allowUnsafeDir ? undefined : await unsafeDirectoryReason(dir);
  if (unsafe) throw new DaemonError('SOCKET_DIR_UNSAFE', unsafe);
  const tmp = temporarySocketPath(socketPath);
  await new Promise<void>((resolve, reject) => {
    // Name the path the operator chose, not the temporary one (its name means nothing to them).
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new DaemonError('SOCKET_BIND_FAILED', `cannot create socket ${socketPath} in ${dir}: ${e.code ?? e.message}`, { cause: e }));
    server.once('error', onError);
    // A deep accept queue (the kernel caps it at net.core.somaxconn): a burst of connects from a
    // neighbour must not fill it and make a well-behaved client's connect() fail with EAGAIN.
    server.listen({ path: tmp, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  try {
    await chmod(tmp, opts.mode);
    if (opts.gid !== undefined) await chown(tmp, -1, opts.gid);
    const st = await stat(tmp);
    const id = { dev: st.dev, ino: st.ino };
    // The record exists before the socket is visible, so a successor never sees our socket unvouched for.
    await writeFile(recordName(socketPath, id), JSON.stringify({ service: 'sgx-quote-helper', pid: process.pid }) + '\n', { mode: 0o644 });
    try {
      await rename(tmp, socketPath);
    } catch (e) {
      await removeIdentityRecord(socketPath, id);
      throw e;
    }
    await removeStaleRecords(socketPath, id);
    return id;
  } catch (e) {
    server.close();
    await unlink(tmp).catch(() => undefined);
    const hint = opts.gid !== undefined ? ' (setting --socket-group needs membership of that group or CAP_CHOWN)' : '';
    throw new DaemonError('SOCKET_BIND_FAILED', `cannot publish socket at ${socketPath}: ${(e as Error).message}${hint}`);
  }
}

/** dev+ino of whatever is at `socketPath` now, or undefined if nothing is. */
export async function currentIdentity(socketPath: string): Promise<SocketIdentity | undefined> {
  try {
    const st = await lstat(socketPath);
    return { dev: st.dev, ino: st.ino, uid: st.uid };
  } catch {
    return undefined;
  }
}

export function sameIdentity(a: SocketIdentity | undefined, b: SocketIdentity | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}

/** Unlink the socket path only if it is still the socket we published. Returns whether it did. */
export async function unlinkIfOwned(socketPath: string, ours: SocketIdentity): Promise<boolean> {
  const now = await currentIdentity(socketPath);
  if (!sameIdentity(now, ours)) return false;
  try {
    await unlink(socketPath);
    return true;
  } catch {
    return false;
  }
}

/**
 * Watches the socket path; emits 'replaced' once when the path names another inode owned by our
 * user or root (a successor's socket), 'untrusted' (each time it changes) when the new inode belongs
 * to another user, and 'removed' when nothing is there. inotify on the directory gives a prompt signal; a
 * stat poll covers filesystems and mount namespaces where it does not fire.
 */
export class SocketOwnershipWatcher extends EventEmitter {
  private fsWatcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checking = false;
  private stopped = false;
  /** After 'untrusted' the owner re-publishes; our own rename must not look like a successor's. */
  private paused = false;

  constructor(
    readonly socketPath: string,
    private ours: SocketIdentity,
    private readonly pollMs = 500,
    /** Whose sockets count as a successor's (default: our user or root). */
    private readonly trusted: (uid: number) => boolean = trustedUid,
  ) {
    super();
  }

  start(): void {
    try {
      this.fsWatcher = watch(path.dirname(this.socketPath), { persistent: false }, () => void this.check());
      this.fsWatcher.on('error', () => undefined);
    } catch {
      /* the poll below still works */
    }
    this.poll = setInterval(() => void this.check(), this.pollMs);
    this.poll.unref();
  }

  /** After re-publishing (self-heal) the identity to compare with changes; resumes after 'untrusted'. */
  setIdentity(id: SocketIdentity): void {
    this.ours = id;
    this.paused = false;
  }

  async check(): Promise<void> {
    if (this.checking || this.stopped || this.paused) return;
    this.checking = true;
    try {
      const now = await currentIdentity(this.socketPath);
      if (this.stopped) return;
      if (!now) this.emit('removed');
      else if (!sameIdentity(now, this.ours)) {
        if (now.uid !== undefined && !this.trusted(now.uid)) {
          // Never drain for a socket another user put there: report it and keep serving. Checks
          // pause until the owner calls setIdentity (after re-publishing, or giving up).
          this.ours = now;
          this.paused = true;
          this.emit('untrusted', now);
          return;
        }
        this.stop();
        this.emit('replaced', now);
      }
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.fsWatcher?.close();
    if (this.poll) clearInterval(this.poll);
  }
}
