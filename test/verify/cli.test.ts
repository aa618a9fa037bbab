import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollateralServer, createSimBackend } from '../../src/pcs/index.js';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { tempDir } from '../sim/helpers.js';
import { simQuote } from './sim-fixtures.js';
import { TESTDATA as TD } from '../support/testdata.js';

const ARGS = ['--import', 'tsx', 'src/cli/main.ts', 'verify'];

function cli(...args: string[]) {
  return spawnSync(process.execPath, [...ARGS, ...args], { encoding: 'utf8' });
}

/** Async spawn, for runs that talk to a server living in this test process. */
function cliAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...ARGS, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('sgx-quote-helper verify', () => {
  it('prints the contract JSON for one quote and exits 0 when accepted', () => {
    const r = cli(`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', '2025-06-19T11:56:00Z', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'ConfigurationAndSWHardeningNeeded', advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'], simulated: false, accepted: true });
    expect(out.reason).toBeUndefined();
  });

  it('prints an array for several quotes and exits 1 when one is rejected (with its reason)', () => {
    const r = cli(
      `${TD}/dcap-qvl/sgx_quote`, `${TD}/mobilecoin/hw_quote.dat`,
      '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', '2025-06-19T11:56:00Z', '--json',
    );
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as Array<{ status: string; reason?: string; simulated: boolean }>;
    expect(out).toHaveLength(2);
    expect(out[0].status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(out[1].reason).toBe('TCB_INFO_MISMATCH'); // the other platform's FMSPC
  });

  it('applies policy flags', () => {
    const base = [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', '2025-06-19T11:56:00Z'];
    const strict = cli(...base, '--accept-status', 'UpToDate');
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/REJECTED/);
    expect(strict.stdout).toMatch(/STATUS_NOT_ACCEPTED/);
    const mrenclave = cli(...base, '--mrenclave', '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb', '--accept-advisory', 'INTEL-SA-00289,INTEL-SA-00615');
    expect(mrenclave.status).toBe(0);
  });

  it('labels a quote verified under a non-Intel root SIMULATED', () => {
    const r = cli(`${TD}/simulated/sim_quote.bin`, '--collateral-bundle', `${TD}/simulated/sim_collateral.json`, '--at', '2026-11-26T14:00:00Z',
      '--trust-root', `${TD}/simulated/root.pem`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ACCEPTED — SIMULATED/);
    const intel = cli(`${TD}/simulated/sim_quote.bin`, '--collateral-bundle', `${TD}/simulated/sim_collateral.json`, '--at', '2026-11-26T14:00:00Z', '--json');
    expect(intel.status).toBe(1);
    expect(JSON.parse(intel.stdout).reason).toBe('PCK_CHAIN_UNTRUSTED');
  });

  it('bad input and usage exit 2 with one line, no stack trace', () => {
    for (const args of [
      [`${TD}/dcap-qvl/sgx_quote`],
      [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', '/nonexistent.json'],
      [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote`],
      [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', 'yesterday'],
      [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--trust-root', `${TD}/dcap-qvl/sgx_quote`],
      [`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--accept-status', 'Great'],
      ['/nonexistent-quote'],
    ]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--cache-max-age: needs a cache, and says what a valid age looks like', () => {
    const env = { ...process.env };
    delete env.SQH_COLLATERAL_CACHE;
    const run = (...args: string[]) => spawnSync(process.execPath, [...ARGS, `${TD}/dcap-qvl/sgx_quote`, '--collateral-url', 'http://127.0.0.1:9', ...args], { encoding: 'utf8', env });
    const noCache = run('--cache-max-age', '12h');
    expect(noCache.status).toBe(2);
    expect(noCache.stderr).toMatch(/--cache-max-age needs a cache: give --cache FILE/);
    const bad = run('--cache-max-age', 'soon', '--cache', '/nonexistent/dir/c.sqlite');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--cache-max-age "soon": use seconds or a number with s, m, h or d/);
  });

  describe('--collateral-url against our collateral server (sim backend, loopback)', () => {
    const t = tempDir('sqh-verify-cli-');
    let url = '';
    let close = async () => {};
    let quoteFile = '';
    let rootFile = '';
    beforeAll(async () => {
      const platform = await SimPlatform.init({ stateDir: join(t.dir, 'state') });
      quoteFile = join(t.dir, 'quote.bin');
      writeFileSync(quoteFile, simQuote(platform));
      rootFile = join(t.dir, 'root.der');
      writeFileSync(rootFile, (await platform.collateral()).rootCertDer);
      const server = createCollateralServer({ backend: await createSimBackend({ platform }) });
      url = await server.listen({ host: '127.0.0.1', port: 0 });
      close = () => server.close();
    });
    afterAll(async () => {
      await close();
      t.cleanup();
    });

    it('fetches collateral over PCS v4 HTTP and verifies a directory of quotes', async () => {
      const r = await cliAsync(t.dir, '--collateral-url', url, '--trust-root', rootFile, '--json');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ status: 'UpToDate', simulated: true, accepted: true, collateralExpired: false });
    });

    it('without --trust-root, says the quote chains to a SIMULATED root and how to check it', async () => {
      const r = await cliAsync(quoteFile, '--collateral-url', url);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/failed check: PCK_CHAIN_UNTRUSTED/);
      expect(r.stdout).toMatch(/hint: this quote chains to a SIMULATED root .*--trust-root/);
      // A real Intel quote under a wrong root is not mistaken for a simulated one.
      const intel = cli(`${TD}/dcap-qvl/sgx_quote`, '--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--trust-root', rootFile);
      expect(intel.stdout).toMatch(/PCK_CHAIN_UNTRUSTED/);
      expect(intel.stdout).not.toMatch(/hint:/);
    });
  });
});
