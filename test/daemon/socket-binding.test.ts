// Socket publishing and ownership on a real filesystem with real sockets.
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError, isOurInstance, probeSocketPath, publishSocket, SOCKET_DIR_MODE, SocketOwnershipWatcher, unlinkIfOwned } from '../../src/daemon/index.js';
import { FakeProvider, removeDir, startTestDaemon, tempDir } from './helpers.js';

describe('socket publishing', () => {
  it('creates the directory, applies the mode, leaves no temporary file and reports its identity', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'run/aesmd/aesm.socket');
    const server = net.createServer();
    try {
      // Our own group: chown to it works for any user, so the --socket-group path runs everywhere.
      const gid = process.getgid!();
      const id = await publishSocket(server, socket, { mode: 0o660, gid });
      const st = lstatSync(socket);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o660);
      expect(st.gid).toBe(gid);
      expect(st.ino).toBe(id.ino);
      // The socket and its identity record (what lets a successor know it replaces one of us).
      expect(readdirSync(path.dirname(socket)).sort()).toEqual([`.aesm.socket.sqh-${id.dev}-${id.ino}`, 'aesm.socket']);
      expect(await probeSocketPath(socket)).toBe('live');
    } finally {
      await new Promise((r) => server.close(r));
      removeDir(dir);
    }
  });

  it('closing a published server leaves the published path alone (libuv only unlinks the temporary name)', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'aesm.socket');
    const server = net.createServer();
    try {
      await publishSocket(server, socket, { mode: 0o666 });
      await new Promise((r) => server.close(r));
      expect(lstatSync(socket).isSocket()).toBe(true);
      expect(await probeSocketPath(socket)).toBe('stale');
    } finally {
      removeDir(dir);
    }
  });

  it('refuses a path that holds something other than a socket', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'aesm.socket');
    writeFileSync(file, 'not a socket');
    mkdirSync(path.join(dir, 'd'));
    try {
      await expect(probeSocketPath(file)).rejects.toMatchObject({ code: 'SOCKET_PATH_NOT_SOCKET' });
      await expect(probeSocketPath(path.join(dir, 'd'))).rejects.toBeInstanceOf(DaemonError);
      expect(await probeSocketPath(path.join(dir, 'absent'))).toBe('absent');
    } finally {
      removeDir(dir);
    }
  });

  it('unlinks only a socket whose dev+inode is still ours', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'aesm.socket');
    const a = net.createServer();
    const b = net.createServer();
    try {
      const idA = await publishSocket(a, socket, { mode: 0o666 });
      const idB = await publishSocket(b, socket, { mode: 0o666 });
      expect(idB.ino).not.toBe(idA.ino);
      expect(await unlinkIfOwned(socket, idA)).toBe(false);
      expect(lstatSync(socket).ino).toBe(idB.ino);
      expect(await unlinkIfOwned(socket, idB)).toBe(true);
    } finally {
      a.close();
      b.close();
      removeDir(dir);
    }
  });

  it('the watcher reports a replacement once', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'aesm.socket');
    const a = net.createServer();
    const b = net.createServer();
    try {
      const idA = await publishSocket(a, socket, { mode: 0o666 });
      const w = new SocketOwnershipWatcher(socket, idA, 50);
      w.start();
      const replaced = new Promise((r) => w.once('replaced', r));
      await publishSocket(b, socket, { mode: 0o666 });
      await replaced;
      w.stop();
    } finally {
      a.close();
      b.close();
      removeDir(dir);
    }
  });

  it('an in-process daemon whose socket file is deleted stops with exit code 1 (so a supervisor restarts it)', async () => {
    const dir = tempDir();
    const provider = new FakeProvider();
    const d = await startTestDaemon(dir, provider);
    const { unlinkSync } = await import('node:fs');
    unlinkSync(d.config.socketPath);
    const exit = await d.closed;
    expect(exit).toMatchObject({ reason: 'removed', exitCode: 1 });
    expect(provider.closed).toBe(true);
    removeDir(dir);
  });
});

describe('--on-replaced wait (for supervisors that restart exited processes)', () => {
  it('drains and stays up, unready, until told to stop; then exits 0 without touching the new socket', async () => {
    const dir = tempDir();
    const d = await startTestDaemon(dir, new FakeProvider(), { onReplaced: 'wait' });
    const { scrape } = await import('./helpers.js');
    const ops = (await d.opsAddress)!;
    const successor = net.createServer((s) => s.end());
    try {
      await publishSocket(successor, d.config.socketPath, { mode: 0o666 });
      const ino = lstatSync(d.config.socketPath).ino;
      // Readiness flips to 503 once the replacement is noticed; liveness stays 200.
      for (let i = 0; i < 200 && (await scrape(ops, '/readyz')).status !== 503; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await scrape(ops, '/readyz')).status).toBe(503);
      expect((await scrape(ops, '/healthz')).status).toBe(200);
      const early = await Promise.race([d.closed.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 600))]);
      expect(early).toBe('still running');
      const exit = await d.shutdown('signal');
      expect(exit).toMatchObject({ reason: 'replaced', exitCode: 0 });
      expect(lstatSync(d.config.socketPath).ino).toBe(ino);
    } finally {
      successor.close();
      removeDir(dir);
    }
  });
});

describe('who may take the socket over (docs/operations.md, "The node socket")', () => {
  it('a live socket without our identity record is foreign: startDaemon refuses it unless --take-over', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'aesm.socket');
    // A foreign AESM service (a host aesmd) listening at the path: a plain listener, no record.
    const foreign = net.createServer((s) => s.end());
    await new Promise<void>((r) => foreign.listen(socket, r));
    try {
      expect(await isOurInstance(socket)).toBe(false);
      await expect(startTestDaemon(dir, new FakeProvider())).rejects.toMatchObject({ code: 'SOCKET_FOREIGN', message: expect.stringContaining('--take-over') });
      expect(await probeSocketPath(socket)).toBe('live'); // untouched
      const d = await startTestDaemon(dir, new FakeProvider(), { takeOver: 'true' });
      expect(d.previous).toBe('live');
      expect(lstatSync(socket).ino).toBe(d.socketIdentity.ino);
      await d.shutdown();
    } finally {
      foreign.close();
      removeDir(dir);
    }
  });

  it('a live sgx-quote-helper (identity record for its inode) is taken over; a stale socket is replaced', async () => {
    const dir = tempDir();
    try {
      const a = await startTestDaemon(dir, new FakeProvider());
      expect(await isOurInstance(a.config.socketPath)).toBe(true);
      const b = await startTestDaemon(dir, new FakeProvider());
      expect(b.previous).toBe('live');
      expect(await a.closed).toMatchObject({ reason: 'replaced' });
      await b.shutdown();
      // What kill -9 leaves: a published socket nobody listens on (stale), replaced without --take-over.
      const stale = net.createServer();
      await publishSocket(stale, b.config.socketPath, { mode: 0o666 });
      await new Promise((r) => stale.close(r));
      const c = await startTestDaemon(dir, new FakeProvider());
      expect(c.previous).toBe('stale');
      // Records of inodes no longer published are cleaned up: only c's remains.
      expect(readdirSync(dir).filter((n) => n.includes('.sqh-'))).toEqual([`.aesm.socket.sqh-${c.socketIdentity.dev}-${c.socketIdentity.ino}`]);
      await c.shutdown();
      expect(readdirSync(dir).filter((n) => n.includes('.sqh-'))).toEqual([]);
    } finally {
      removeDir(dir);
    }
  });

  it('refuses a socket directory other users can write (unless sticky), and names the fix', async () => {
    const dir = tempDir();
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    try {
      for (const mode of [0o777, 0o775, 0o757]) {
        chmodSync(shared, mode);
        const server = net.createServer();
        await expect(publishSocket(server, path.join(shared, 'aesm.socket'), { mode: 0o666 })).rejects.toMatchObject({
          code: 'SOCKET_DIR_UNSAFE',
          message: expect.stringContaining(`chmod go-w ${shared}`),
        });
        server.close();
      }
      chmodSync(shared, 0o1777); // like /tmp: others cannot rename over a file they do not own
      const server = net.createServer();
      await publishSocket(server, path.join(shared, 'aesm.socket'), { mode: 0o666 });
      server.close();
    } finally {
      removeDir(dir);
    }
  });

  it('creates the socket directory 0755 whatever the umask, so clients of every uid can reach the socket', async () => {
    const dir = tempDir();
    const old = process.umask(0o077);
    const server = net.createServer();
    try {
      await publishSocket(server, path.join(dir, 'var/run/aesmd/aesm.socket'), { mode: 0o666 });
      for (const d of ['var', 'var/run', 'var/run/aesmd']) expect(lstatSync(path.join(dir, d)).mode & 0o7777, d).toBe(SOCKET_DIR_MODE);
      expect(lstatSync(path.join(dir, 'var/run/aesmd/aesm.socket')).mode & 0o777).toBe(0o666);
    } finally {
      process.umask(old);
      server.close();
      removeDir(dir);
    }
  });

  it('a socket of an untrusted user renamed over ours is reported, not obeyed', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'aesm.socket');
    const a = net.createServer();
    const b = net.createServer();
    try {
      const idA = await publishSocket(a, socket, { mode: 0o666 });
      // Treat every uid as untrusted here; the reliability suite does this with a real other user.
      const w = new SocketOwnershipWatcher(socket, idA, 50, () => false);
      let replaced = false;
      w.on('replaced', () => (replaced = true));
      w.start();
      const untrusted = new Promise((r) => w.once('untrusted', r));
      await publishSocket(b, socket, { mode: 0o666 });
      await untrusted;
      expect(replaced).toBe(false);
      w.stop();
    } finally {
      a.close();
      b.close();
      removeDir(dir);
    }
  });

  it('stopping never unlinks a socket path that is no longer ours, even before the watcher noticed', async () => {
    const dir = tempDir();
    const d = await startTestDaemon(dir, new FakeProvider());
    const other = net.createServer();
    try {
      // Another socket lands on the path and we are told to stop in the same tick.
      const tmp = path.join(dir, 'other.sock');
      await new Promise<void>((r) => other.listen(tmp, r));
      const ino = lstatSync(tmp).ino;
      renameSync(tmp, d.config.socketPath);
      const exit = await d.shutdown('signal');
      expect(exit.exitCode).toBe(0);
      expect(lstatSync(d.config.socketPath).ino).toBe(ino);
    } finally {
      other.close();
      removeDir(dir);
    }
  });
});
