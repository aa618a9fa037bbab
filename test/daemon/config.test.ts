import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError, DEFAULTS, parseDuration, parseListen, parseMode, parseSize, resolveConfig } from '../../src/daemon/index.js';
import { resolveStateDir } from '../../src/providers/sim/state-dir.js';
import { removeDir, tempDir } from './helpers.js';

describe('daemon configuration', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig({ env: {} });
    expect(c).toMatchObject({
      provider: 'auto',
      socketPath: '/var/run/aesmd/aesm.socket',
      // The one default every sim command shares (system dir when writable, else XDG), not a second copy.
      stateDir: resolveStateDir(undefined, {}),
      opsListen: { host: '127.0.0.1', port: 9464 },
      socketMode: 0o666,
      drainTimeoutMs: 15_000,
      requestTimeoutMs: 5_000,
      firstByteTimeoutMs: 1_000,
      providerTimeoutMs: 10_000,
      maxConnections: 512,
      maxRequestSize: 65_536,
      logLevel: 'info',
      takeOver: false,
    });
    expect(c.providerTimeoutMs).toBeLessThan(15_000);
  });

  it('takes flags over env over the config file', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'c.yaml');
      writeFileSync(file, 'socket: /tmp/from-file.sock\nstateDir: /tmp/file-state\nlogLevel: debug\nmaxConnections: 7\n');
      const c = resolveConfig({
        configFile: file,
        env: { SQH_SOCKET: '/tmp/from-env.sock', SQH_LOG_LEVEL: 'warn' },
        flags: { socket: '/tmp/from-flag.sock' },
      });
      expect(c.socketPath).toBe('/tmp/from-flag.sock');
      expect(c.logLevel).toBe('warn');
      expect(c.stateDir).toBe('/tmp/file-state');
      expect(c.maxConnections).toBe(7);
    } finally {
      removeDir(dir);
    }
  });

  it('names every bad value in one error', () => {
    let err: unknown;
    try {
      resolveConfig({
        env: { SQH_PROVIDER: 'hardware' },
        flags: { socketMode: '999', drainTimeout: 'soon', maxConnections: '0', opsListen: 'localhost', maxRequestSize: '1', logLevel: 'loud' },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DaemonError);
    const msg = (err as DaemonError).message;
    expect((err as DaemonError).code).toBe('CONFIG_INVALID');
    for (const part of ['SQH_PROVIDER="hardware"', '--socket-mode="999"', '--drain-timeout="soon"', '--max-connections="0"', '--ops-listen="localhost"', '--max-request-size="1"', '--log-level="loud"']) {
      expect(msg).toContain(part);
    }
  });

  it('rejects unknown config-file keys, a missing upstream, an over-long socket path and a self-loop', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ sockett: '/x' }));
      expect(() => resolveConfig({ env: {}, configFile: file })).toThrow(/unknown key "sockett"/);
      expect(() => resolveConfig({ env: {}, flags: { provider: 'upstream' } })).toThrow(/needs --upstream/);
      expect(() => resolveConfig({ env: {}, flags: { socket: `/tmp/${'x'.repeat(100)}.sock` } })).toThrow(/AF_UNIX/);
      expect(() => resolveConfig({ env: {}, flags: { socket: '/tmp/a.sock', upstream: '/tmp/a.sock' } })).toThrow(/loop/);
      expect(() => resolveConfig({ env: {}, configFile: path.join(dir, 'missing.yaml') })).toThrow(/cannot read/);
    } finally {
      removeDir(dir);
    }
  });

  it('resolves --socket-group names through the group file', () => {
    const dir = tempDir();
    try {
      const groups = path.join(dir, 'group');
      writeFileSync(groups, 'root:x:0:\nsgx_prv:x:1234:app\n');
      expect(resolveConfig({ env: {}, groupFile: groups, flags: { socketGroup: 'sgx_prv' } }).socketGid).toBe(1234);
      expect(resolveConfig({ env: {}, groupFile: groups, flags: { socketGroup: '77' } }).socketGid).toBe(77);
      expect(() => resolveConfig({ env: {}, groupFile: groups, flags: { socketGroup: 'nope' } })).toThrow(/no such group/);
    } finally {
      removeDir(dir);
    }
  });

  it('parses durations, sizes, modes and listen addresses', () => {
    expect(parseDuration('500ms', 0, 1e6)).toBe(500);
    expect(parseDuration('15', 0, 1e6)).toBe(15_000);
    expect(parseDuration('1.5s', 0, 1e6)).toBe(1500);
    expect(parseDuration('2m', 0, 1e6)).toBe(120_000);
    expect(parseSize('64KiB', 0, 1e9)).toBe(65_536);
    expect(parseSize('1M', 0, 1e9)).toBe(1_048_576);
    expect(parseMode('0660')).toBe(0o660);
    expect(parseMode('0o600')).toBe(0o600);
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListen(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen('off')).toBeNull();
    expect(DEFAULTS.maxRequestSize).toBe(64 * 1024);
  });
});
