// One log format for every long-running command: `serve`, `webhook serve` and `collateral serve`, run
// as real processes, write JSON lines with the same fields, level names and time format.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { removeDir, tempDir } from '../daemon/helpers.js';
import { REPO } from '../daemon/process-harness.js';
import { makeServingCert } from '../k8s/support/certs.js';

let dir: string;
beforeAll(async () => {
  dir = tempDir('sqh-log-');
  await SimPlatform.init({ stateDir: path.join(dir, 'state') });
  const cert = await makeServingCert();
  writeFileSync(path.join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(path.join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
});
afterAll(() => removeDir(dir));

/** Start a command, return its first JSON log line from `stream`, then stop it with SIGTERM. */
async function firstLogLine(args: string[], stream: 'stdout' | 'stderr'): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, SQH_SOCKET: '', SQH_STATE_DIR: '', SQH_OPS_LISTEN: '', SQH_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let other = '';
  child[stream === 'stdout' ? 'stderr' : 'stdout'].on('data', (c: Buffer) => (other += c.toString()));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: no JSON log line within 45 s; ${other}`)), 45_000);
      readline.createInterface({ input: child[stream] }).on('line', (text) => {
        if (!text.startsWith('{')) return;
        clearTimeout(timer);
        resolve(JSON.parse(text) as Record<string, unknown>);
      });
      void exited.then((code) => reject(new Error(`${args.join(' ')} exited ${code} before logging; ${other}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('log format of the long-running commands', () => {
  it('serve, webhook serve and collateral serve log the same fields, level names and ISO times', async () => {
    const lines = await Promise.all([
      firstLogLine(['serve', '--provider', 'sim', '--state-dir', path.join(dir, 'state'), '--socket', path.join(dir, 'a.sock'), '--ops-listen', 'off', '--log-level', 'info'], 'stdout'),
      firstLogLine(['webhook', 'serve', '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key'), '--listen', '127.0.0.1:0', '--log-level', 'info'], 'stdout'),
      firstLogLine(['collateral', 'serve', '--state-dir', path.join(dir, 'state'), '--listen', '127.0.0.1:0', '--log-level', 'info'], 'stderr'),
    ]);
    expect(lines.map((l) => l.component)).toEqual(['daemon', 'webhook', 'collateral']);
    for (const l of lines) {
      expect(l).toMatchObject({ level: 'info', service: 'sgx-quote-helper', pid: expect.any(Number) });
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(typeof l.msg).toBe('string');
      // pino's defaults that one of them used to carry and the others did not.
      expect(l).not.toHaveProperty('hostname');
      expect(l).not.toHaveProperty('name');
      expect(Object.keys(l).slice(0, 5)).toEqual(['level', 'time', 'service', 'component', 'pid']);
    }
  }, 120_000);
});
