// Socket publishing and ownership on a real filesystem with real sockets.
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError, probeSocketPath, publishSocket, SocketOwnershipWatcher, unlinkIfOwned } from '../../src/daemon/index.js';
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
      expect(readdirSync(path.dirname(socket))).toEqual(['aesm.socket']);
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
