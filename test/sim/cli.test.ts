import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QuoteVerifier } from '@phala/dcap-qvl';
import { register } from '../../src/cli/sim.js';
import { CliError } from '../../src/cli/cli-error.js';
import { createSimProvider, SimPlatform } from '../../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID, parseReport } from '../../src/sgx/index.js';
import { tempDir } from './helpers.js';

async function run(...args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += c.toString()), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += c.toString()), true));
  try {
    await program.parseAsync(['node', 'sgx-quote-helper', 'sim', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out, err };
}

async function runError(...args: string[]): Promise<CliError> {
  const err = await run(...args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  expect((err as Error).message).not.toContain('\n');
  return err as CliError;
}

describe('sgx-quote-helper sim (CLI)', () => {
  const t = tempDir();
  const sd = join(t.dir, 'state');
  afterAll(() => t.cleanup());

  beforeAll(async () => {
    const { out, err } = await run('init', '--state-dir', sd, '--tcb', 'SWHardeningNeeded');
    expect(out).toContain('SIMULATED');
    expect(out).toContain('SWHardeningNeeded');
    expect(err).toContain('report-key.json');
  });

  it('init refuses to replace a platform without --force (exit 2) and --force makes a new identity', async () => {
    const before = (await SimPlatform.load(sd)).identity().ppid;
    expect((await runError('init', '--state-dir', sd)).exitCode).toBe(2);
    const u = tempDir();
    try {
      await run('init', '--state-dir', u.dir);
      await run('init', '--state-dir', u.dir, '--force', '--ca', 'platform', '--fmspc', '00112233aabb');
      const id = (await SimPlatform.load(u.dir)).identity();
      expect(id.caType).toBe('platform');
      expect(id.fmspc).toBe('00112233AABB');
    } finally {
      u.cleanup();
    }
    expect((await SimPlatform.load(sd)).identity().ppid).toBe(before);
  });

  it('show prints the identity (text says SIMULATED; --json is machine-readable)', async () => {
    const text = await run('show', '--state-dir', sd);
    expect(text.out).toMatch(/^SIMULATED SGX platform/);
    const json = JSON.parse((await run('show', '--state-dir', sd, '--json')).out);
    expect(json.simulated).toBe(true);
    expect(json.ppid).toMatch(/^[0-9a-f]{32}$/);
  });

  it('report + collateral + root: a quote from the sim provider verifies with dcap-qvl', async () => {
    const provider = await createSimProvider({ stateDir: sd, initIfMissing: false });
    const { targetInfo } = await provider.initQuote(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    const tiFile = join(t.dir, 'qe.ti');
    writeFileSync(tiFile, targetInfo);
    const reportFile = join(t.dir, 'app.report');
    const { err } = await run('report', '--state-dir', sd, '--target-info', tiFile, '--mrenclave', 'aa'.repeat(32), '--mrsigner', 'bb'.repeat(32),
      '--isv-prod-id', '2', '--isv-svn', '5', '--report-data', 'c0ffee', '--out', reportFile);
    expect(err).toContain('SIMULATED');
    const report = readFileSync(reportFile);
    expect(report.length).toBe(432);
    const r = parseReport(report);
    expect(r.body.isvSvn).toBe(5);
    expect(r.body.attributes).toEqual({ flags: 5n, xfrm: 0xe7n });
    expect(r.body.reportData.subarray(0, 3).toString('hex')).toBe('c0ffee');
    const { quote } = await provider.getQuote({ report, attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID });

    const collFile = join(t.dir, 'coll.json');
    await run('collateral', '--state-dir', sd, '--format', 'dcap-qvl', '--out', collFile);
    const rootFile = join(t.dir, 'root.der');
    await run('root', '--state-dir', sd, '--der', '--out', rootFile);
    const result = QuoteVerifier.newWithRootCa(readFileSync(rootFile)).verify(quote, JSON.parse(readFileSync(collFile, 'utf8')), Date.now() / 1000);
    expect(result.status).toBe('SWHardeningNeeded');

    const pcsFile = join(t.dir, 'pcs.json');
    await run('collateral', '--state-dir', sd, '--format', 'pcs', '--out', pcsFile);
    const pcs = JSON.parse(readFileSync(pcsFile, 'utf8'));
    expect(pcs.simulated).toContain('SIMULATED');
    expect(JSON.parse(pcs.tcbInfo).tcbInfo.tcbLevels[0].tcbStatus).toBe('SWHardeningNeeded');
    expect(pcs.pckCrl).toMatch(/^-----BEGIN X509 CRL-----/);
    const pemFile = join(t.dir, 'root.pem');
    await run('root', '--state-dir', sd, '--out', pemFile);
    expect(readFileSync(pemFile, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('set-tcb changes the profile; rotate-key bumps the attestation key generation', async () => {
    await run('set-tcb', 'outofdate', '--state-dir', sd);
    expect((await SimPlatform.load(sd)).identity().tcbProfile).toBe('OutOfDate');
    const gen = (await SimPlatform.load(sd)).identity().attestationKeyGeneration;
    const { err } = await run('rotate-key', '--state-dir', sd);
    expect(err).toContain('SIMULATED');
    expect((await SimPlatform.load(sd)).identity().attestationKeyGeneration).toBe(gen + 1);
  });

  it.each([
    [['set-tcb', 'Bogus', '--state-dir', sd], /unknown TCB profile/],
    [['init', '--state-dir', join(t.dir, 'x'), '--tcb', 'Nope'], /unknown TCB profile/],
    [['init', '--state-dir', join(t.dir, 'x'), '--fmspc', 'zz'], /--fmspc must be hex/],
    [['show', '--state-dir', join(t.dir, 'nothing')], /no simulated platform/],
    [['collateral', '--state-dir', sd, '--format', 'xml', '--out', '-'], /--format must be pcs or dcap-qvl/],
    [['report', '--state-dir', sd, '--target-info', join(t.dir, 'missing.ti'), '--mrenclave', 'aa'.repeat(32), '--mrsigner', 'bb'.repeat(32), '--report-data', '00', '--out', '-'], /cannot read target info/],
    [['report', '--state-dir', sd, '--target-info', '-', '--mrenclave', 'aa', '--mrsigner', 'bb'.repeat(32), '--report-data', '00', '--out', '-'], /--mrenclave must be exactly 32 bytes/],
    [['report', '--state-dir', sd, '--target-info', '-', '--mrenclave', 'aa'.repeat(32), '--mrsigner', 'bb'.repeat(32), '--report-data', '00'.repeat(65), '--out', '-'], /at most 64 bytes/],
    [['report', '--state-dir', sd, '--target-info', '-', '--mrenclave', 'aa'.repeat(32), '--mrsigner', 'bb'.repeat(32), '--isv-svn', '70000', '--report-data', '00', '--out', '-'], /--isv-svn must be an integer/],
  ])('bad input %j exits 2 with one clear line', async (args, msg) => {
    const e = await runError(...(args as string[]));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(msg);
  });

  it('a target info of the wrong size exits 2', async () => {
    const f = join(t.dir, 'short.ti');
    writeFileSync(f, Buffer.alloc(100));
    const e = await runError('report', '--state-dir', sd, '--target-info', f, '--mrenclave', 'aa'.repeat(32), '--mrsigner', 'bb'.repeat(32), '--report-data', '00', '--out', '-');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('512 bytes');
  });

  it('a damaged state exits 1 naming the file', async () => {
    const u = tempDir();
    try {
      await run('init', '--state-dir', u.dir);
      writeFileSync(join(u.dir, 'platform.json'), '{"kind":');
      const e = await runError('show', '--state-dir', u.dir);
      expect(e.exitCode).toBe(1);
      expect(e.message).toContain(join(u.dir, 'platform.json'));
    } finally {
      u.cleanup();
    }
  });

  it('the real binary entry point exits 2 on bad input, without a stack trace', async () => {
    const res = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sim', 'show', '--state-dir', join(t.dir, 'none')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('no simulated platform');
  });
});
