// `serve` refuses to start where it would otherwise surprise someone, and says what to do instead:
// a sim state dir with no platform (sim init, or --init), an unreadable state dir, and a socket path
// a non-root user cannot create. Real CLI processes; the non-root cases run as `nobody` when the test
// runs as root, or as the current (non-root) user otherwise.
import { chmodSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../client/run-cli.js';
import { removeDir } from '../daemon/helpers.js';
import { spawnDaemon, stop } from '../daemon/process-harness.js';

const isRoot = process.getuid?.() === 0;
const asUser = isRoot ? { uid: 65534, gid: 65534 } : {};
const cleanEnv = { SQH_SOCKET: '', SQH_STATE_DIR: '', SQH_PROVIDER: '', SQH_OPS_LISTEN: '', SQH_CONFIG: '' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sqh-sc-'));
  // World-writable like /tmp (so `nobody` can use it), and sticky: the daemon refuses a socket
  // directory that others can write without the sticky bit.
  chmodSync(dir, 0o1777);
});
afterAll(() => removeDir(dir));

describe('serve: the sim state directory', () => {
  it('with no simulated platform: exit 2, says `sim init` or --init, and creates nothing', async () => {
    const state = path.join(dir, 'typo-state');
    const r = await runCli(['serve', '--provider', 'sim', '--state-dir', state, '--socket', path.join(dir, 'a.sock'), '--ops-listen', 'off'], { env: cleanEnv });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no simulated platform in ${state}`);
    expect(r.stderr).toContain(`sim init --state-dir ${state}`);
    expect(r.stderr).toContain('--init');
    expect(existsSync(state)).toBe(false);
    expect(existsSync(path.join(dir, 'a.sock'))).toBe(false);
  });

  it('an empty directory is refused the same way (SQH_STATE_DIR too)', async () => {
    const state = path.join(dir, 'empty');
    mkdirSync(state);
    const r = await runCli(['serve', '--provider', 'sim', '--socket', path.join(dir, 'b.sock'), '--ops-listen', 'off'], { env: { ...cleanEnv, SQH_STATE_DIR: state } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no simulated platform in ${state}`);
  });

  it('--init creates the platform and serves', async () => {
    const state = path.join(dir, 'fresh');
    const socket = path.join(dir, 'c.sock');
    const d = spawnDaemon({ kind: 'tsx' }, ['--provider', 'sim', '--state-dir', state, '--init', '--socket', socket, '--ops-listen', 'off']);
    const line = await d.serving;
    expect(line).toMatchObject({ socket, provider: 'sim' });
    expect(existsSync(path.join(state, 'platform.json'))).toBe(true);
    expect((await stop(d)).code).toBe(0);
  }, 60_000);

  it('an unreadable state dir is reported as unreadable (exit 1)', async () => {
    const state = path.join(dir, 'locked');
    mkdirSync(state, { mode: 0o700 });
    if (!isRoot) chmodSync(state, 0o000);
    const r = await runCli(['serve', '--provider', 'sim', '--state-dir', state, '--socket', path.join(dir, 'd.sock'), '--ops-listen', 'off'], {
      ...asUser,
      env: { ...cleanEnv, HOME: dir },
    });
    if (!isRoot) chmodSync(state, 0o700);
    expect(r.stderr).toContain(`state dir ${state} is unreadable (EACCES)`);
    expect(r.code).toBe(1);
  });
});

describe('serve as a non-root user on the default socket path', () => {
  it(
    'says to use --socket or SQH_SOCKET, names /var/run/aesmd/aesm.socket (not a temporary name), once',
    async () => {
      const state = path.join(dir, 'nonroot-state');
      const r = await runCli(['serve', '--provider', 'sim', '--state-dir', state, '--init', '--ops-listen', 'off', '--log-level', 'info'], {
        ...asUser,
        env: { ...cleanEnv, HOME: dir, XDG_RUNTIME_DIR: '' },
      });
      expect(r.code).toBe(1);
      const lines = (r.stdout + r.stderr).split('\n').filter((l) => /aesm\.socket|aesmd/.test(l) && /denied|EACCES/.test(l));
      expect(lines).toHaveLength(1);
      expect(r.stderr).toContain('cannot create the AESM socket /var/run/aesmd/aesm.socket: permission denied');
      expect(r.stderr).toContain('--socket');
      expect(r.stderr).toContain('SQH_SOCKET');
      expect(r.stderr).not.toMatch(/\.aesm\.soc/);
    },
    60_000,
  );
});
