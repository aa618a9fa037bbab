// `npm start` (scripts/start.mjs): the daemon with the sim provider, on the socket and state dir it
// prints, serving real AESM clients until SIGINT. Runs the built dist/ (npm install builds it).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesmClient } from '../../src/client/index.js';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { removeDir, tempDir } from '../daemon/helpers.js';
import { REPO } from '../daemon/process-harness.js';

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
      const client = new AesmClient({ socketPath: socket, retryDeadlineMs: 20_000 });
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
  });
});
