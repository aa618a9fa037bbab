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
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rename, stat, lstat, chmod, chown, unlink } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DaemonError } from './errors.js';
import { MAX_SOCKET_PATH_BYTES } from './config.js';

export interface SocketIdentity {
  dev: number;
  ino: number;
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
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new DaemonError('SOCKET_BIND_FAILED', `cannot create socket directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const tmp = temporarySocketPath(socketPath);
  await new Promise<void>((resolve, reject) => {
    // Name the path the operator chose, not the temporary one (its name means nothing to them).
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new DaemonError('SOCKET_BIND_FAILED', `cannot create socket ${socketPath} in ${dir}: ${e.code ?? e.message}`, { cause: e }));
    server.once('error', onError);
    server.listen(tmp, () => {
      server.off('error', onError);
      resolve();
    });
  });
  try {
    await chmod(tmp, opts.mode);
    if (opts.gid !== undefined) await chown(tmp, -1, opts.gid);
    const st = await stat(tmp);
    await rename(tmp, socketPath);
    return { dev: st.dev, ino: st.ino };
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
    return { dev: st.dev, ino: st.ino };
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
 * Watches the socket path; emits 'replaced' once when the path names another inode (a successor's
 * socket) and 'removed' when nothing is there. inotify on the directory gives a prompt signal; a
 * stat poll covers filesystems and mount namespaces where it does not fire.
 */
export class SocketOwnershipWatcher extends EventEmitter {
  private fsWatcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checking = false;
  private stopped = false;

  constructor(
    readonly socketPath: string,
    private ours: SocketIdentity,
    private readonly pollMs = 500,
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

  /** After re-publishing (self-heal) the identity to compare with changes. */
  setIdentity(id: SocketIdentity): void {
    this.ours = id;
  }

  async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const now = await currentIdentity(this.socketPath);
      if (this.stopped) return;
      if (!now) this.emit('removed');
      else if (!sameIdentity(now, this.ours)) {
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
