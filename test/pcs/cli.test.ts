import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { parseCollateralBundle } from '../../src/pcs/index.js';
import { startTdxPcsFixture, type PcsFixture } from './helpers/pcs-fixture.js';
import { goTdx, pcsSignatureValid } from './helpers/testdata.js';
import { newSimPlatform } from './helpers/sim.js';

// The CLI runs as a real process (through tsx). Its upstream is a loopback server replaying real PCS
// answers, standing in for Intel's PCS (an external boundary). Async spawn: the fixture lives in this
// process and must keep answering while the CLI runs.

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let fx: PcsFixture;
let dir: string;
beforeAll(async () => {
  fx = await startTdxPcsFixture();
  dir = mkdtempSync(join(tmpdir(), 'sqh-cli-'));
});
afterAll(() => fx.close());

describe('collateral CLI', () => {
  it('fetch writes a dcap-qvl bundle through the cache; list and refresh work on that cache', async () => {
    const out = join(dir, 'tdx.json');
    fx.requests.length = 0;
    const db = join(dir, 'c.sqlite');
    const r = await cli(['collateral', 'fetch', '--url', fx.url, '--fmspc', goTdx.fmspc, '--tdx', '--out', out, '--cache', db, '--query', 'api-version=2018-10-01-preview', '--header', 'metadata: true']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fx.requests).toHaveLength(4);
    expect(fx.requests.every((q) => q.path.includes('api-version=2018-10-01-preview') && q.headers.metadata === 'true')).toBe(true);
    expect(r.stdout).toMatch(/wrote .*tdx\.json: TDX FMSPC 50806F000000, platform CA/);
    const c = parseCollateralBundle(readFileSync(out));
    expect(c.teeType).toBe('TDX');
    expect(pcsSignatureValid(c.tcbInfoIssuerChain, c.tcbInfoBody, c.tcbInfoSignature)).toBe(true);
    expect(c.pckCrl.equals(goTdx.pckCrl())).toBe(true);

    const list = await cli(['collateral', 'list', '--cache', db, '--json']);
    expect(list.status).toBe(0);
    expect((JSON.parse(list.stdout) as { kind: string }[]).map((x) => x.kind).sort()).toEqual(['pckCrl', 'qeIdentity', 'rootCaCrl', 'tcbInfo']);

    fx.requests.length = 0;
    const ref = await cli(['collateral', 'refresh'], { SQH_COLLATERAL_CACHE: db });
    expect(ref.status).toBe(0);
    expect(ref.stdout.split('\n').filter((l) => l.startsWith('ok '))).toHaveLength(4);
    expect(fx.requests).toHaveLength(4);

    fx.mode = 'down';
    try {
      const bad = await cli(['collateral', 'refresh', '--cache', db, '--url', fx.url]);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/FAILED {2}tcbInfo TDX:50806F000000 .*HTTP 503/);
      expect(bad.stderr).toMatch(/4 of 4 cached items could not be refreshed/);
    } finally {
      fx.mode = 'ok';
    }
  });

  it('bad input exits 2, failed operations exit 1, never a stack trace', async () => {
    const port = await closedPort();
    const cases: [string[], number, RegExp][] = [
      [['collateral', 'fetch', '--url', fx.url, '--fmspc', 'xyz', '--out', join(dir, 'x.json')], 2, /--fmspc must be 12 hex/],
      [['collateral', 'fetch', '--url', 'not a url', '--fmspc', goTdx.fmspc, '--out', join(dir, 'x.json')], 2, /not a valid URL/],
      [['collateral', 'fetch', '--url', `http://127.0.0.1:${port}`, '--fmspc', goTdx.fmspc, '--out', join(dir, 'x.json')], 1, /cannot reach/],
      [['collateral', 'fetch', '--url', fx.url, '--fmspc', '00906ED50000', '--out', join(dir, 'x.json')], 1, /not found/],
      [['collateral', 'serve', '--state-dir', join(dir, 'no-such-state')], 2, /no-such-state/],
      [['collateral', 'list', '--cache', join(dir, 'tdx.json')], 1, /collateral cache/],
      [['collateral', 'fetch', '--url', fx.url, '--fmspc', goTdx.fmspc, '--query', 'novalue', '--out', join(dir, 'x.json')], 2, /--query must look like NAME=VALUE/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      const [args, status, msg] = cases[i];
      expect({ args, status: r.status }).toEqual({ args, status });
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('serve --state-dir serves the simulated platform until SIGTERM', async () => {
    const { platform, stateDir } = await newSimPlatform(new Date());
    const fmspc = platform.identity().fmspc;
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collateral', 'serve', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      p.stdout.on('data', (d) => {
        stdout += d;
        const m = /listening on (http:\/\/[^:]+:\d+)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      p.on('close', () => reject(new Error(`server exited early: ${stdout}`)));
    });
    expect(stdout).toMatch(/SIMULATED collateral/);
    const r = await fetch(`${url}/sgx/certification/v4/tcb?fmspc=${fmspc}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('SQH-Simulated')).toBe('true');
    expect(((await r.json()) as { tcbInfo: { fmspc: string } }).tcbInfo.fmspc).toBe(fmspc);
    const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
