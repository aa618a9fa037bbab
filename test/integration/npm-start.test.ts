// `npm start` (scripts/start.mjs): the daemon with the sim provider, on the socket and state dir it
// prints, serving real AESM clients until SIGINT. Runs the built dist/ (npm install builds it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesmClient } from '../../src/client/index.js';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { removeDir, tempDir } from '../daemon/helpers.js';
import { REPO } from '../daemon/process-harness.js';

// How long the client keeps retrying while the daemon starts: generous, because tsc-built start-up on a
// loaded 2-core machine has taken over 20 s; this bounds a hang, it does not measure start-up time.
const START_DEADLINE_MS = 60_000;

let dir: string;
beforeAll(() => {
  dir = tempDir('sqh-start-');
});
afterAll(() => removeDir(dir));

describe('npm start', () => {
  it('prints where it serves, answers AESM clients there with the sim provider, and stops on SIGINT', async () => {
    const socket = path.join(dir, 'run', 'aesm.socket');
    const stateDir = path.join(dir, 'state');
    const child = spawn(process.execPath, ['scripts/start.mjs', '--ops-listen', 'off', '--log-level', 'warn'], {
      cwd: REPO,
      env: { ...process.env, SQH_SOCKET: socket, SQH_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // The client retries until the socket exists, as it does across daemon restarts.
      const client = new AesmClient({ socketPath: socket, retryDeadlineMs: START_DEADLINE_MS });
      const ids = await client.getSupportedAttKeyIds();
      expect(ids).toHaveLength(1);
      const targetInfo = await client.getTargetInfo();
      // The daemon runs the simulated platform it created in the printed state dir.
      expect(targetInfo.equals((await SimPlatform.load(stateDir)).qeTargetInfo())).toBe(true);
      expect(stderr).toContain(`AESM socket: ${socket}`);
      expect(stderr).toContain(`state dir:   ${stateDir}`);
      expect(stderr).toMatch(/SIMULATED/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 90_000);

  it('Ctrl-C (SIGINT to the whole foreground process group) stops it once, cleanly, leaving no socket file', async () => {
    const socket = path.join(dir, 'run2', 'aesm.socket');
    // detached: npm leads its own process group, like a shell's foreground job.
    // Through npm itself, as the README says: npm forwards the SIGINT to the script as well.
    const child = spawn('npm', ['start', '--silent', '--', '--ops-listen', 'off', '--log-level', 'info'], {
      cwd: REPO,
      env: { ...process.env, SQH_SOCKET: socket, SQH_STATE_DIR: path.join(dir, 'state2') },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const client = new AesmClient({ socketPath: socket, retryDeadlineMs: START_DEADLINE_MS });
    try {
      expect(await client.getSupportedAttKeyIds()).toHaveLength(1);
    } catch (e) {
      process.kill(-child.pid!, 'SIGKILL'); // never leave a daemon behind when the test fails
      throw e;
    }
    expect(existsSync(socket)).toBe(true);
    // What the terminal does on Ctrl-C: SIGINT to every process in the foreground group.
    process.kill(-child.pid!, 'SIGINT');
    // npm itself re-raises the SIGINT it got (what a shell shows as ^C); the daemon must have stopped cleanly.
    const e = await exited;
    expect(e.code === 0 || e.signal === 'SIGINT', JSON.stringify(e)).toBe(true);
    expect(out.match(/"msg":"signal received: stopping"/g)).toHaveLength(1);
    expect(out).not.toContain('second signal');
    expect(out).toMatch(/"msg":"stopped"/);
    expect(existsSync(socket)).toBe(false);
  }, 90_000);
});
