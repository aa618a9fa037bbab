// CLI answers a person can act on: each case runs the real CLI (tsx, from the sources) and checks the
// message and the exit code. The collateral services are real loopback sockets: one that refuses
// connections (a port we bound and closed) and URLs whose port is wrong in different ways.
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { runCli } from '../client/run-cli.js';
import { tempDir } from '../sim/helpers.js';
import { TESTDATA as TD } from '../support/testdata.js';
import { simQuote } from '../verify/sim-fixtures.js';

const INTEL_QUOTE = `${TD}/dcap-qvl/sgx_quote`;
const t = tempDir('sqh-answers-');
let simQuoteFile = '';
beforeAll(async () => {
  const platform = await SimPlatform.init({ stateDir: join(t.dir, 'state') });
  simQuoteFile = join(t.dir, 'sim.quote');
  writeFileSync(simQuoteFile, simQuote(platform));
});
afterAll(() => t.cleanup());

/** A loopback port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('inspect labels simulated quotes', () => {
  it('a quote from our sim: SIMULATED in the heading and in --json; exit 0', async () => {
    const [text, json] = await Promise.all([runCli(['inspect', simQuoteFile]), runCli(['inspect', simQuoteFile, '--json'])]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/ — SIMULATED$/);
    expect(text.stdout).toContain('SIMULATED quote: its PCK chain ends in a root issued by sgx-quote-helper sim');
    expect(JSON.parse(json.stdout)).toMatchObject({ simulated: true, intelProductionRoot: false });
  });

  it("a real Intel quote is not labelled; a test-PKI quote says its root is not Intel's", async () => {
    const [intel, testPki] = await Promise.all([runCli(['inspect', INTEL_QUOTE]), runCli(['inspect', `${TD}/simulated/sim_quote.bin`])]);
    expect(intel.code).toBe(0);
    expect(intel.stdout).not.toMatch(/SIMULATED|NOT Intel/);
    expect(testPki.code).toBe(0);
    expect(testPki.stdout).toContain("PCK chain root is NOT Intel's production root CA");
  });
});

describe('verify says why a quote was rejected', () => {
  it('text mode names the policy violation (MRENCLAVE_MISMATCH), not only the TCB status; exit 1', async () => {
    const r = await runCli(['verify', INTEL_QUOTE, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', '2025-06-19T11:56:00Z',
      '--mrenclave', '11'.repeat(32)]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/: REJECTED — ConfigurationAndSWHardeningNeeded/);
    // The reason comes right under the verdict.
    expect(lines[1]).toMatch(/^ {2}rejected by policy: MRENCLAVE_MISMATCH: MRENCLAVE 33d8736d[0-9a-f]+ is not an expected value$/);
  });
});

describe('verify --collateral-url failures', () => {
  it('an unreachable service is a collateral fetch failure (exit 3), not an invalid quote', async () => {
    const port = await closedPort();
    const r = await runCli(['verify', INTEL_QUOTE, '--collateral-url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('NOT VERIFIED — collateral fetch failed');
    expect(r.stdout).toContain(`cannot reach http://127.0.0.1:${port}/sgx/certification/v4/`);
    expect(r.stdout).toContain('ECONNREFUSED');
    expect(r.stdout).not.toMatch(/REJECTED|Invalid/);
  });

  it.each([
    ['http://127.0.0.1:99999', 2, /--collateral-url: .*the port 99999 is out of range \(1-65535\)/],
    ['http://127.0.0.1:8o81', 2, /--collateral-url: .*the port "8o81" is not a number/],
    ['127.0.0.1:8081', 2, /--collateral-url: .*(needs a scheme|must be http\(s\))/],
  ] as const)('a bad port or URL says which part is wrong: %s', async (url, code, message) => {
    const r = await runCli(['verify', INTEL_QUOTE, '--collateral-url', url]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('collateral list', () => {
  it('--cache on a missing file fails (exit 2) and does not create it', async () => {
    const cache = join(t.dir, 'typo.sqlite');
    const r = await runCli(['collateral', 'list', '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no collateral cache at ${cache}`);
    expect(existsSync(cache)).toBe(false);
    expect(readdirSync(t.dir).filter((f) => f.startsWith('typo'))).toEqual([]);
  });
});

describe('messages never mention our internal process', () => {
  it('no string in src/ points users at an issue of ours', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk('src');
    expect(files.length).toBeGreaterThan(50);
    // Our tracker's vocabulary, in messages or in comments that end up next to them: "the dcap issue",
    // "issue 11", "issue #3", "see the issue".
    const internal = /\b(the \w+ issue|issues? #?\d+|see the issue)\b/i;
    const hits = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((l, i) => ({ where: `${f}:${i + 1}`, l }))
        .filter(({ l }) => internal.test(l)),
    );
    expect(hits.map((h) => `${h.where}: ${h.l.trim()}`)).toEqual([]);
  });
});
