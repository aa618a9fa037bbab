// Every AesmClient method against the REAL daemon (src/daemon, sim provider) over a real Unix socket,
// plus restarts and handovers of real daemon processes, the CLI commands and the example.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, startDaemon, createLogger, type DaemonHandle } from '../../src/daemon/index.js';
import { createSimProvider, SimPlatform } from '../../src/providers/sim/index.js';
import { attKeyIdBase, DEFAULT_ECDSA_P256_ATT_KEY_ID, parseQuote, REPORT_SIZE } from '../../src/sgx/index.js';
import { AesmClient, AesmClientError, checkQeReportInfo, createQeReportInfo } from '../../src/client/index.js';
import { DEFAULT_APP_ATTRIBUTES, SimAppEnclave } from '../../src/demo/sim-app-enclave.js';
import { CliProcess } from '../../src/demo/cli-process.js';
import { runCli } from './run-cli.js';

let dir: string;
let stateDir: string;
let sock: string;
let daemon: DaemonHandle;
let client: AesmClient;
let enclave: SimAppEnclave;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-cd-'));
  stateDir = join(dir, 'state');
  sock = join(dir, 'aesm.socket');
  const config = resolveConfig({ flags: { provider: 'sim', stateDir, socket: sock, opsListen: 'off', logLevel: 'silent' }, env: {} });
  daemon = await startDaemon(config, await createSimProvider({ stateDir }), { logger: createLogger('silent') });
  client = new AesmClient({ socketPath: sock, retryDeadlineMs: 0 });
  const platform = await SimPlatform.load(stateDir);
  enclave = new SimAppEnclave(platform.reportKeySecret, {
    mrEnclave: createHash('sha256').update('client test enclave').digest(),
    mrSigner: createHash('sha256').update('client test signer').digest(),
    isvProdId: 7,
    isvSvn: 3,
    attributes: DEFAULT_APP_ATTRIBUTES,
  });
});

afterAll(async () => {
  await daemon?.shutdown('stopped');
  rmSync(dir, { recursive: true, force: true });
});

async function clientError(p: Promise<unknown>): Promise<AesmClientError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(AesmClientError);
  return e as AesmClientError;
}

describe('AesmClient against the real daemon (sim provider)', () => {
  it('getSupportedAttKeyIdNum / getSupportedAttKeyIds: the default ECDSA-P256 key id', async () => {
    expect(await client.getSupportedAttKeyIdNum()).toBe(1);
    const ids = await client.getSupportedAttKeyIds();
    expect(ids).toHaveLength(1);
    expect(attKeyIdBase(ids[0]!).equals(attKeyIdBase(DEFAULT_ECDSA_P256_ATT_KEY_ID))).toBe(true);
  });

  it('selectAttKeyId: no list, an explicit list, and an unsupported key (AESM 38 → 0x8001)', async () => {
    expect(attKeyIdBase(await client.selectAttKeyId()).equals(attKeyIdBase(DEFAULT_ECDSA_P256_ATT_KEY_ID))).toBe(true);
    const mine = Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    mine[200] = 0x5a; // outside the 158-byte base: still matches, and our own entry comes back
    expect((await client.selectAttKeyId([mine])).equals(mine)).toBe(true);
    const other = Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    other[154] = 3; // algorithm ECDSA-P384
    const err = await clientError(client.selectAttKeyId([other]));
    expect(err.aesmName).toBe('AESM_UNSUPPORTED_ATT_KEY_ID');
    expect(err.sgxStatus).toBe(0x8001);
    expect(err.quote3Error).toBe(0xe00b);
  });

  it('queryPubKeyIdSize, initQuote and getTargetInfo agree', async () => {
    expect((await client.queryPubKeyIdSize()).pubKeyIdSize).toBe(32);
    const init = await client.initQuote();
    expect(init.targetInfo).toHaveLength(512);
    expect(init.pubKeyId).toHaveLength(32);
    expect((await client.getTargetInfo()).equals(init.targetInfo)).toBe(true);
  });

  it('getQuoteSize + getQuote: a parseable v3 quote of exactly that size carrying the enclave identity', async () => {
    const targetInfo = await client.getTargetInfo();
    const reportData = Buffer.alloc(64, 0xab);
    const size = await client.getQuoteSize();
    const { quote } = await client.getQuote(enclave.report(targetInfo, reportData));
    expect(quote).toHaveLength(size);
    const q = parseQuote(quote);
    expect(q.version).toBe(3);
    expect(q.body.type).toBe('sgx');
    if (q.body.type === 'sgx') {
      expect(q.body.report.mrEnclave.equals(enclave.identity.mrEnclave)).toBe(true);
      expect(q.body.report.isvProdId).toBe(7);
      expect(q.body.report.reportData.equals(reportData)).toBe(true);
    }
  });

  it('getQuote with qe_report_info: the QE report binds the quote and its MAC verifies for the enclave', async () => {
    const targetInfo = await client.getTargetInfo();
    const sent = createQeReportInfo(enclave.targetInfo());
    const { quote, qeReportInfo } = await client.getQuote(enclave.report(targetInfo, Buffer.from('nonce')), { qeReportInfo: sent });
    const check = checkQeReportInfo(sent, qeReportInfo!, quote);
    expect(check.ok).toBe(true);
    expect(enclave.verifyReport(check.qeReport!)).toBe(true);
    // The same QE report does not pass for a different quote.
    const tampered = Buffer.from(quote);
    tampered[100] ^= 1;
    expect(checkQeReportInfo(sent, qeReportInfo!, tampered)).toMatchObject({ ok: false, failure: 'report-data-mismatch' });
  });

  it('getQuote with a buffer larger than the quote: zero-padded like aesmd, and the QE report still checks', async () => {
    const targetInfo = await client.getTargetInfo();
    const size = await client.getQuoteSize();
    const sent = createQeReportInfo(enclave.targetInfo());
    const { quote, qeReportInfo } = await client.getQuote(enclave.report(targetInfo, Buffer.from('pad')), { qeReportInfo: sent, quoteSize: size + 100 });
    expect(quote).toHaveLength(size + 100);
    expect(quote.subarray(size).every((b) => b === 0)).toBe(true);
    expect(checkQeReportInfo(sent, qeReportInfo!, quote).ok).toBe(true);
  });

  it('a report not targeted at the QE: AESM 47 with the targeting hint', async () => {
    const report = enclave.report(enclave.targetInfo(), Buffer.alloc(0)); // targeted at itself
    expect(report).toHaveLength(REPORT_SIZE);
    const err = await clientError(client.getQuote(report));
    expect(err.aesmName).toBe('AESM_INVALID_REPORT');
    expect(err.sgxStatus).toBe(0x3001);
    expect(err.hint).toMatch(/not targeted at the QE/);
  });

  it('after a key rotation: AESM 42 on GetQuoteSizeEx until initQuote runs again', async () => {
    const platform = await SimPlatform.load(stateDir);
    await platform.rotateKey();
    const err = await clientError(client.getQuoteSize());
    expect(err.aesmCode).toBe(42);
    expect(err.sgxStatus).toBe(0x8003);
    expect(err.quote3ErrorName).toBe('SGX_QL_ATT_KEY_NOT_INITIALIZED');
    expect(err.hint).toMatch(/initQuote/);
    const targetInfo = await client.getTargetInfo();
    const { quote } = await client.getQuote(enclave.report(targetInfo, Buffer.alloc(1)));
    expect(parseQuote(quote).version).toBe(3);
  });
});

describe('client commands against the real daemon', () => {
  it('keyids, targetinfo and quote --qe-report-info', async () => {
    const qfile = join(dir, 'q.hex');
    const tfile = join(dir, 'ti.bin');
    const [keyids, ti, quote] = await Promise.all([
      runCli(['keyids', '--socket', sock, '--json']),
      runCli(['targetinfo', '--socket', sock, '--out', tfile]),
      runCli(['quote', '--socket', sock, '--state-dir', stateDir, '--mrenclave', '11'.repeat(32), '--mrsigner', '22'.repeat(32),
        '--report-data', 'cafe', '--isv-prod-id', '5', '--out', qfile, '--format', 'hex', '--qe-report-info']),
    ]);
    expect(keyids.code, keyids.stderr).toBe(0);
    const listed = JSON.parse(keyids.stdout) as { attKeyIds: Array<{ algorithm: string; intelDefaultEcdsa: boolean }> };
    expect(listed.attKeyIds).toEqual([expect.objectContaining({ algorithm: 'ECDSA-P256', intelDefaultEcdsa: true })]);
    expect(ti.code, ti.stderr).toBe(0);
    expect(readFileSync(tfile)).toHaveLength(512);
    expect(quote.code, quote.stderr).toBe(0);
    expect(quote.stderr).toMatch(/SIMULATED quote/);
    expect(quote.stderr).toMatch(/MAC ok/);
    const q = parseQuote(Buffer.from(readFileSync(qfile, 'utf8').trim(), 'hex'));
    expect(q.body.type === 'sgx' && q.body.report.mrEnclave.toString('hex')).toBe('11'.repeat(32));
    expect(q.body.type === 'sgx' && q.body.report.isvProdId).toBe(5);
  });

  it('quote with the wrong platform state: exit 1 naming AESM_INVALID_REPORT and --state-dir', async () => {
    const other = join(dir, 'other-state');
    await SimPlatform.init({ stateDir: other });
    const r = await runCli(['quote', '--socket', sock, '--state-dir', other, '--mrenclave', '11'.repeat(32), '--mrsigner', '22'.repeat(32),
      '--report-data', '00', '--out', join(dir, 'never.bin')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AESM_INVALID_REPORT \(47\)/);
    expect(r.stderr).toMatch(/--state-dir/);
  });

  it('examples/quote-from-node.ts runs against the daemon', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'examples/quote-from-node.ts'], {
        env: { ...process.env, SQH_SOCKET: sock, SQH_STATE_DIR: stateDir },
        encoding: 'utf8',
      }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, out: stdout + stderr }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/quote v3, \d+ bytes/);
    expect(r.out).toMatch(/QE report: binding ok, MAC ok/);
  });
});

describe('restarts and handovers of real daemon processes', () => {
  const serveArgs = (s: string) => ['serve', '--provider', 'sim', '--state-dir', stateDir, '--init', '--socket', s, '--ops-listen', 'off', '--log-level', 'info'];

  it('a call made while the daemon is down completes once it is back; none fails during a handover', async () => {
    const s = join(dir, 'restart.socket');
    const first = new CliProcess('daemon 1', serveArgs(s), process.env);
    try {
      const patient = new AesmClient({ socketPath: s, retryDeadlineMs: 15_000 });
      await patient.getTargetInfo(); // waits (ENOENT retries) for the first daemon to come up

      // Handover: a second instance takes the socket over while calls keep going.
      const results: Array<'ok' | string> = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          results.push(await patient.getQuoteSize().then(() => 'ok', (e: AesmClientError) => e.describe()));
        }
      })();
      const second = new CliProcess('daemon 2', serveArgs(s), process.env);
      await first.exited; // the replaced instance drains and exits by itself
      const afterHandover = results.length;
      await patient.getSupportedAttKeyIdNum();
      while (results.length < afterHandover + 3) await new Promise((r) => setTimeout(r, 10));
      stop = true;
      await loop;
      expect(results.filter((r) => r !== 'ok')).toEqual([]);
      expect(results.length).toBeGreaterThan(3);

      // Restart: stop it, ask while nothing listens, start a new one.
      await second.stop();
      const pending = patient.getQuoteSize();
      await new Promise((r) => setTimeout(r, 200));
      const third = new CliProcess('daemon 3', serveArgs(s), process.env);
      try {
        expect(await pending).toBeGreaterThan(1000);
      } finally {
        await third.stop();
      }
    } finally {
      await first.stop();
    }
  });
});
