// The `serve` command's contract: usage errors exit 2 with one line and no stack trace, failures
// exit 1 with a line saying what to do, `auto` chooses sim without SGX hardware, and env vars work.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../daemon/helpers.js';
import { REPO, spawnDaemon, stop } from '../daemon/process-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('sqh-c-');
});
afterAll(() => removeDir(dir));

function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, SQH_SOCKET: '', SQH_STATE_DIR: '', SQH_PROVIDER: '', ...env },
    timeout: 30_000,
  });
}

describe('serve command line', () => {
  it('exits 2 naming each bad value, without a stack trace', () => {
    const r = serve(['--socket-mode', '0999', '--max-connections', 'many', '--provider', 'tpm']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^sgx-quote-helper: invalid configuration: /);
    expect(r.stderr).toContain('--socket-mode="0999"');
    expect(r.stderr).toContain('--max-connections="many"');
    expect(r.stderr).toContain('--provider="tpm"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--provider dcap fails with a clear message (exit 1)', () => {
    const r = serve(['--provider', 'dcap', '--socket', path.join(dir, 'x.sock'), '--ops-listen', 'off']);
    expect(r.status).toBe(1);
    // This machine has no SGX device (the dcap tests in test/dcap cover hosts that have one).
    expect(r.stderr).toContain('the dcap provider cannot start on this host:');
    expect(r.stderr).toContain('/dev/sgx_enclave');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses to replace a file that is not a socket (exit 1)', () => {
    const file = path.join(dir, 'regular.file');
    writeFileSync(file, 'x');
    const r = serve(['--provider', 'sim', '--state-dir', path.join(dir, 'state'), '--init', '--socket', file, '--ops-listen', 'off']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not a socket');
  });

  it('auto without SGX hardware runs the SIMULATED sim provider; SQH_SOCKET and SQH_STATE_DIR are honoured', async () => {
    const socket = path.join(dir, 'env.sock');
    const d = spawnDaemon({ kind: 'tsx' }, ['--init', '--ops-listen', 'off'], { SQH_SOCKET: socket, SQH_STATE_DIR: path.join(dir, 'env-state') });
    const line = await d.serving;
    expect(line).toMatchObject({ socket, provider: 'sim', simulated: true });
    await d.waitFor((l) => l.level === 'warn' && /SIMULATED/.test(l.msg), 'SIMULATED warning');
    // It says why: no SGX device (or no Intel library) on this machine.
    const why = await d.waitFor((l) => l.msg.startsWith('provider auto chose sim (SIMULATED)'), 'why auto chose sim');
    expect(why.level).toBe('warn');
    expect(String(why.reason)).toMatch(/^auto: no SGX device|no libsgx_dcap_ql/);
    expect(String(line.providerReason)).toBe(String(why.reason));
    expect((await stop(d)).code).toBe(0);
  }, 60_000);
});
