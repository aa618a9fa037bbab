// Start-up of the dcap provider in real `serve` processes, on the C STAND-IN for Intel's libraries
// (test/dcap-standin; SGX hardware is the external boundary): what is missing is said in one
// message; --provider auto says why it chose; a missing QPL is loud; a failed certification or a
// slow warm-up leave the daemon serving but not ready; a stuck native call does not keep it alive.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesmCode } from '../../src/aesm/index.js';
import { checkDcapHost } from '../../src/providers/dcap/index.js';
import { chooseProvider } from '../../src/providers/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY, parseQuote, REPORT_SIZE } from '../../src/sgx/index.js';
import { runCli } from '../client/run-cli.js';
import { call, metricValue, removeDir, scrape, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop } from '../daemon/process-harness.js';
import { buildDcapStandin, readStandinRecord, writeStandinScript, type StandinBuild } from '../support/dcap-standin.js';

let standin: StandinBuild;
let dir: string;
let emptyDir: string;

beforeAll(() => {
  standin = buildDcapStandin();
  dir = tempDir('sqh-ds-');
  emptyDir = path.join(dir, 'empty');
  mkdirSync(emptyDir);
}, 60_000);

afterAll(() => removeDir(dir));

/** A fresh directory per daemon: its socket, the stand-in's script and record. */
function daemonDir(name: string) {
  const d = path.join(dir, name);
  mkdirSync(d);
  const env = standin.env(d);
  return { d, env, sock: path.join(d, 'aesm.socket'), script: (...l: string[]) => writeStandinScript(env.SQH_DCAP_STANDIN_SCRIPT, l) };
}

// Every test has its own directory and daemon: they run concurrently (process start-up dominates).
describe.concurrent('what the host lacks', () => {
  it('library and devices missing: exit 1 with ONE message naming the library, the packages, the device nodes and the group', async () => {
    const r = await runCli(['serve', '--provider', 'dcap', '--dcap-lib-dir', emptyDir, '--sgx-device-dir', emptyDir, '--socket', path.join(dir, 'x.sock'), '--ops-listen', 'off']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBe(1);
    for (const needle of ['libsgx_dcap_ql.so.1 not found', 'libsgx-dcap-ql', 'libsgx-dcap-default-qpl', 'az-dcap-client', 'sgx_enclave', 'sgx/enclave', 'sgx_provision', 'sgx.intel.com/enclave', 'sgx.intel.com/provision', 'group sgx_prv', 'libsgx-enclave-common']) {
      expect(lines[0], needle).toContain(needle);
    }
  });

  it('names only what is missing: a host with the library but no devices, one with devices but no library, one with an unopenable provision node', () => {
    const noDevices = checkDcapHost({ libDir: standin.libDir, deviceDir: emptyDir });
    expect(noDevices.library).toBe(path.join(standin.libDir, 'libsgx_dcap_ql.so.1'));
    expect(noDevices.problems.join(' ')).not.toContain('libsgx_dcap_ql');
    expect(noDevices.problems.length).toBe(2);
    const noLibrary = checkDcapHost({ libDir: emptyDir, deviceDir: standin.deviceDir });
    expect(noLibrary.problems.length).toBe(1);
    expect(noLibrary.problems[0]).toContain('libsgx_dcap_ql.so.1 not found');
    expect(checkDcapHost({ libDir: standin.libDir, deviceDir: standin.deviceDir }).problems).toEqual([]);
    // Found through LD_LIBRARY_PATH when no directory is given (the dynamic loader's own search).
    expect(checkDcapHost({ deviceDir: standin.deviceDir, env: { LD_LIBRARY_PATH: `/nonexistent:${standin.libDir}` } }).library).toBe(path.join(standin.libDir, 'libsgx_dcap_ql.so.1'));
  });

  it('auto: dcap only with both device and library, otherwise sim, and says why', () => {
    const both = chooseProvider('auto', { dcap: { libDir: standin.libDir, deviceDir: standin.deviceDir } });
    expect(both.kind).toBe('dcap');
    expect(both.reason).toContain(path.join(standin.deviceDir, 'sgx_enclave'));
    const noDevice = chooseProvider('auto', { dcap: { libDir: standin.libDir, deviceDir: emptyDir } });
    expect(noDevice).toMatchObject({ kind: 'sim' });
    expect(noDevice.reason).toMatch(/no SGX device.*SIMULATED/);
    const noLib = chooseProvider('auto', { dcap: { libDir: emptyDir, deviceDir: standin.deviceDir } });
    expect(noLib.kind).toBe('sim');
    expect(noLib.reason).toMatch(/no libsgx_dcap_ql\.so\.1/);
  });

  it('load_qe failing at start (no usable SGX device): exit 1 naming the raw status and what to check', async () => {
    const { d, env } = daemonDir('loadqe');
    writeStandinScript(env.SQH_DCAP_STANDIN_SCRIPT, ['load_qe ret=0x2006']);
    const r = await runCli(['serve', '--provider', 'dcap', '--dcap-lib-dir', standin.libDir, '--sgx-device-dir', standin.deviceDir, '--socket', path.join(d, 'a.sock'), '--ops-listen', 'off'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('load_qe');
    expect(r.stderr).toContain('0x2006 SGX_ERROR_NO_DEVICE');
  });
});

describe.concurrent('auto on an SGX host, libraries from the system path', () => {
  it('chooses dcap and logs why; a failed certification at start leaves it serving but not ready until a client InitQuoteEx succeeds', async () => {
    const { d, env, sock, script } = daemonDir('auto');
    script('sgx_ql_init_quote ret=0xE019');
    const daemon = spawnDaemon({ kind: 'tsx' }, ['--provider', 'auto', '--sgx-device-dir', standin.deviceDir, '--socket', sock, '--ops-listen', '127.0.0.1:0', '--state-dir', path.join(d, 'state')], {
      ...env,
      LD_LIBRARY_PATH: standin.libDir,
    });
    try {
      const serving = await daemon.serving;
      expect(serving.provider).toBe('dcap');
      expect(String(serving.providerReason)).toMatch(/^auto: SGX device .*sgx_enclave and Intel's library .*libsgx_dcap_ql\.so\.1 are present$/);
      expect(daemon.lines.find((l) => l.msg === 'loaded Intel DCAP quote library')?.library).toBe('libsgx_dcap_ql.so.1');
      const ops = await daemon.opsAddress;
      const notReady = await scrape(ops, '/readyz');
      expect(notReady.status).toBe(503);
      expect(JSON.parse(notReady.text).reason).toBe('attestation key not certified: sgx_ql_init_quote returned 0xE019 SGX_QL_NETWORK_ERROR');
      expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY })).errorCode).toBe(AesmCode.ATT_KEY_NOT_INITIALIZED);
      script();
      expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n })).errorCode).toBe(0);
      expect((await scrape(ops, '/readyz')).status).toBe(200);
      expect(metricValue((await scrape(ops)).text, 'sqh_dcap_attestation_key_certified')).toBe(1);
    } finally {
      expect((await stop(daemon)).code).toBe(0);
    }
  });
});

describe.concurrent('bounded warm-up and stuck calls at exit', () => {
  it('no QPL, slow load_qe: published after --dcap-warmup-timeout and not ready until the warm-up ends; the missing QPL said loudly at start, on /readyz and in the metrics (1456-byte quotes, cert type 3); SIGTERM during a stuck call still exits 0 at once', async () => {
    const { d, env, sock, script } = daemonDir('slow');
    script('load_qe delay_ms=1500');
    const daemon = spawnDaemon(
      { kind: 'tsx' },
      ['--provider', 'dcap', '--dcap-lib-dir', standin.libDirNoQpl, '--sgx-device-dir', standin.deviceDir, '--socket', sock, '--ops-listen', '127.0.0.1:0', '--state-dir', path.join(d, 'state'), '--dcap-warmup-timeout', '200ms', '--provider-timeout', '2s'],
      env,
    );
    let exited = false;
    try {
      await daemon.serving;
      const ops = await daemon.opsAddress;
      const early = await scrape(ops, '/readyz');
      if (!daemon.lines.some((l) => l.msg === 'dcap provider ready: Intel QE3 loaded (persistent policy)')) {
        expect(early.status).toBe(503);
        expect(JSON.parse(early.text).reason).toMatch(/warm-up still running \(native load_qe/);
      }
      await daemon.waitFor((l) => l.msg === 'dcap provider ready: Intel QE3 loaded (persistent policy)', 'warm-up done', 10_000);
      const loud = daemon.lines.find((l) => l.qpl === 'missing');
      expect(loud?.level).toBe('warn');
      expect(loud?.msg).toMatch(/NOT USABLE BY MOST VERIFIERS.*encrypted PPID.*libsgx-dcap-default-qpl.*az-dcap-client/);
      const ready = await scrape(ops, '/readyz');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text).warnings[0]).toMatch(/encrypted PPID/);
      expect(metricValue((await scrape(ops)).text, 'sqh_dcap_qpl_loaded')).toBe(0);
      expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY })).quoteSize).toBe(1456);
      const q = await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(REPORT_SIZE, 3), attKeyId: KEY, bufSize: 1456 });
      expect(q.errorCode).toBe(0);
      expect(parseQuote(q.quote!).qe.certificationData.type).toBe(3);
      // Now a call that never returns in time.
      const quotesBefore = readStandinRecord(env.SQH_DCAP_STANDIN_RECORD).filter((c) => c.fn === 'sgx_ql_get_quote').length;
      script('sgx_ql_get_quote delay_ms=20000');
      const busy = await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(REPORT_SIZE), attKeyId: KEY, bufSize: 4096 });
      expect(busy.errorCode).toBe(AesmCode.BUSY);
      const exit = await stop(daemon);
      exited = true;
      expect(exit.code).toBe(0);
      expect(daemon.lines.some((l) => l.msg === 'exiting while a native DCAP call is still running'), daemon.lines.slice(-8).map((l) => l.msg).join(' | ')).toBe(true);
      // The process left while the call was in flight: the stand-in never got to record its return.
      expect(readStandinRecord(env.SQH_DCAP_STANDIN_RECORD).filter((c) => c.fn === 'sgx_ql_get_quote').length).toBe(quotesBefore);
    } finally {
      if (!exited) await stop(daemon, 'SIGKILL');
    }
  });
});
