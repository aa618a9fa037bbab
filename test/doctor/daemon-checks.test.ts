// The checks that talk to a helper, against REAL daemons (src/daemon with the sim provider, over real
// Unix sockets and loopback HTTP), a real daemon process (for a second pid), and the real collateral
// server (sim backend). Foreign listeners are real sockets speaking the AESM framing
// (test/client/raw-aesm-server.ts). The only stand-ins: a FAKE /proc TREE (temp dir) for Intel's
// aesmd, and the FakeProvider of test/daemon/helpers.ts where a provider must be not ready or
// not simulated (it stands in for SGX hardware).
import { lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  checkAesmSocket,
  checkCollateral,
  checkPlatformTcb,
  checkReadiness,
  checkSocketListener,
  defaultHttpGet,
  doctorExitCode,
  fetchOps,
  NEAR_EXPIRY_MS,
  runDoctor,
} from '../../src/doctor/index.js';
import { identityRecordPath, type DaemonHandle } from '../../src/daemon/index.js';
import type { QuoteProvider } from '../../src/providers/provider.js';
import { createSimProvider, SimPlatform } from '../../src/providers/sim/index.js';
import { createCollateralServer, createSimBackend } from '../../src/pcs/index.js';
import { FakeProvider, removeDir, startTestDaemon, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop, type DaemonProcess } from '../daemon/process-harness.js';
import { startRawServer, type RawServer } from '../client/raw-aesm-server.js';
import { fakeRoot, type FakeRoot } from './support.js';

/** Collateral issue time of the sim backend: its TCB info and QE identity run to NOW + 30 days. */
const NOW = new Date('2026-06-01T12:00:00Z');
const NEXT_UPDATE = new Date('2026-07-01T12:00:00Z');
const noPause = async () => undefined;

let dir: string;
let simDaemon: DaemonHandle;
let simOps: string;
let fmspc: string;
let collateralServer: FastifyInstance;
let collateralUrl: string;
let other: DaemonProcess;
let otherOps: string;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  dir = tempDir('sqh-doc-');
  const stateDir = path.join(dir, 'state');
  const platform = await SimPlatform.init({ stateDir });
  fmspc = platform.identity().fmspc;
  simDaemon = await startTestDaemon(path.join(dir, 'a'), await createSimProvider({ stateDir }));
  simOps = (await simDaemon.opsAddress)!;
  collateralServer = createCollateralServer({ backend: await createSimBackend({ platform, now: () => NOW }) });
  collateralUrl = await collateralServer.listen({ host: '127.0.0.1', port: 0 });
  // A second helper in its own process: its ops endpoint answers with another pid.
  other = spawnDaemon({ kind: 'tsx' }, ['--provider', 'sim', '--init', '--state-dir', path.join(dir, 'b-state'), '--socket', path.join(dir, 'b', 'aesm.socket'), '--ops-listen', '127.0.0.1:0']);
  otherOps = await other.opsAddress;
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  if (other) await stop(other);
  await simDaemon?.shutdown('stopped');
  await collateralServer?.close();
  removeDir(dir);
});

/** A socket at `p` nobody listens on: what kill -9 of a daemon leaves (bound elsewhere, renamed, closed). */
async function staleSocket(p: string): Promise<void> {
  const s = net.createServer();
  const tmp = `${p}.tmp`;
  await new Promise<void>((r) => s.listen(tmp, () => r()));
  renameSync(tmp, p);
  await new Promise<void>((r) => s.close(() => r()));
}

/** A foreign AESM service: answers the two calls doctor makes, writes no identity record. */
async function foreignAesm(p: string): Promise<RawServer> {
  const s = await startRawServer(p, {
    kind: 'answer',
    respond: (req) =>
      req.kind === 'getSupportedAttKeyIdNum'
        ? { kind: 'getSupportedAttKeyIdNum', errorCode: 0, attKeyIdNum: 1 }
        : req.kind === 'getQuoteSizeEx'
          ? { kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 4734 }
          : { kind: 'legacy', fieldNumber: 1, errorCode: 1 },
  });
  cleanups.push(() => s.close());
  return s;
}

/** A filesystem root with nothing in it (no /proc: no aesmd to find). */
function emptyRoot(): string {
  const r = fakeRoot();
  cleanups.push(() => r.cleanup());
  return r.dir;
}

function procWithAesmd(pid: number): FakeRoot {
  const r = fakeRoot();
  r.file(`proc/${pid}/comm`, 'aesm_service\n');
  r.file('proc/1/comm', 'systemd\n');
  cleanups.push(() => r.cleanup());
  return r;
}

describe('aesm-socket', () => {
  it('OK against the real sim daemon: it answers GetSupportedAttKeyIDNum and a quote size', async () => {
    const r = await checkAesmSocket({ socketPath: simDaemon.config.socketPath, role: 'app' });
    expect(r.answered).toBe(true);
    expect(r.result.status).toBe('OK');
    expect(r.result.detail).toMatch(/answers: 1 attestation key id\(s\), ECDSA-P256 quote size \d{4,5} bytes/);
  });

  it('FAIL for a missing socket, with a hint naming the /var/run/aesmd mount and the DaemonSet', async () => {
    const r = await checkAesmSocket({ socketPath: path.join(dir, 'nothing', 'aesm.socket'), role: 'app' });
    expect(r.result.status).toBe('FAIL');
    expect(r.result.detail).toContain(`${path.join(dir, 'nothing')} does not exist (not mounted here)`);
    expect(r.result.hint).toContain("mount the node's /var/run/aesmd into this container");
    expect(r.result.hint).toContain('DaemonSet');
  });

  it('says whether the directory is empty or holds other names (aesm.sock is a common typo)', async () => {
    const empty = path.join(dir, 'emptydir');
    mkdirSync(empty);
    writeFileSync(path.join(empty, '.aesm.socket.sqh-1-2'), '');
    expect((await checkAesmSocket({ socketPath: path.join(empty, 'aesm.socket'), role: 'app' })).result.detail).toContain(`${empty} is empty`);
    writeFileSync(path.join(empty, 'aesm.sock'), '');
    const typo = await checkAesmSocket({ socketPath: path.join(empty, 'aesm.socket'), role: 'app' });
    expect(typo.result.status).toBe('FAIL');
    expect(typo.result.detail).toContain(`${empty} holds aesm.sock`);
  });

  it('FAIL for a file that is not a socket, and for a stale socket nobody listens on', async () => {
    const file = path.join(dir, 'file.socket');
    writeFileSync(file, '');
    const notSocket = await checkAesmSocket({ socketPath: file, role: 'node' });
    expect(notSocket.result.status).toBe('FAIL');
    expect(notSocket.result.detail).toContain('is a file, not a socket');
    const stale = path.join(dir, 'stale.socket');
    await staleSocket(stale);
    const refused = await checkAesmSocket({ socketPath: stale, role: 'node' });
    expect(refused.result.status).toBe('FAIL');
    expect(refused.result.detail).toContain('ECONNREFUSED');
    expect(refused.result.detail).toContain('0x4001');
    expect(refused.result.hint).toContain('nobody listening');
  });

  it('FAIL for a listener that closes without answering (not AESM)', async () => {
    const p = path.join(dir, 'closer.socket');
    const s = await startRawServer(p, { kind: 'close' });
    cleanups.push(() => s.close());
    const r = await checkAesmSocket({ socketPath: p, role: 'app', timeoutMs: 2000 });
    expect(r.result.status).toBe('FAIL');
    expect(r.answered).toBe(false);
    expect(r.result.detail).toContain('closed the connection');
  });
});

describe('socket-listener', () => {
  it("OK for the real daemon's socket: its identity record names this process's pid, and so does its ops endpoint", async () => {
    const ops = await fetchOps(simOps, defaultHttpGet);
    expect(ops.healthz).toMatchObject({ service: 'sgx-quote-helper', pid: process.pid });
    const r = await checkSocketListener({ socketPath: simDaemon.config.socketPath, root: emptyRoot(), opsPid: ops.healthz?.pid, opsUrl: simOps, answered: true, pause: noPause });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain(`published by sgx-quote-helper pid ${process.pid}`);
  });

  it('WARN when the ops endpoint is answered by another helper process than the one that published the socket', async () => {
    const ops = await fetchOps(otherOps, defaultHttpGet);
    expect(ops.healthz?.pid).toBe(other.pid);
    const r = await checkSocketListener({ socketPath: simDaemon.config.socketPath, root: emptyRoot(), opsPid: ops.healthz?.pid, opsUrl: otherOps, answered: true, pause: noPause });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain(`answered by pid ${other.pid}, the socket by pid ${process.pid}`);
    expect(r.hint).toContain('two helper instances run');
  });

  it('WARN when the helper that published the socket no longer answers (a stale socket with its identity record)', async () => {
    const p = path.join(dir, 'dead.socket');
    await staleSocket(p);
    const st = lstatSync(p);
    writeFileSync(identityRecordPath(p, st), JSON.stringify({ service: 'sgx-quote-helper', pid: 31337 }));
    const sock = await checkAesmSocket({ socketPath: p, role: 'node' });
    const r = await checkSocketListener({ socketPath: p, root: emptyRoot(), answered: sock.answered, pause: noPause });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain('published by sgx-quote-helper pid 31337');
    expect(r.detail).toContain('the sgx-quote-helper that published it (pid 31337) does not answer');
  });

  it("WARN when Intel's aesmd runs beside our listener (fake /proc)", async () => {
    const root = procWithAesmd(4242);
    const r = await checkSocketListener({ socketPath: simDaemon.config.socketPath, root: root.dir, answered: true, pause: noPause });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain("Intel's aesmd also runs here (pid 4242)");
    expect(r.hint).toContain('systemctl disable --now aesmd');
  });

  it('WARN for a foreign AESM service (no identity record), naming the aesmd it found', async () => {
    const p = path.join(dir, 'foreign.socket');
    await foreignAesm(p);
    const sock = await checkAesmSocket({ socketPath: p, role: 'app' });
    expect(sock.result.status).toBe('OK'); // it does answer
    const root = procWithAesmd(777);
    const r = await checkSocketListener({ socketPath: p, root: root.dir, answered: sock.answered, pause: noPause });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain('has no sgx-quote-helper identity record: another AESM service listens');
    expect(r.detail).toContain("Intel's aesmd runs here (pid 777)");
    // With a helper's ops endpoint answering as well, the two compete.
    const both = await checkSocketListener({ socketPath: p, root: root.dir, opsPid: process.pid, opsUrl: simOps, answered: true, pause: noPause });
    expect(both.hint).toContain('two services compete');
  });

  it('WARN when the socket inode changes between the two looks', async () => {
    const p = path.join(dir, 'flip.socket');
    await foreignAesm(p);
    const flip = async () => {
      const tmp = path.join(dir, 'flip.new');
      const s = await startRawServer(tmp, { kind: 'close' });
      cleanups.push(() => s.close());
      renameSync(tmp, p);
    };
    const r = await checkSocketListener({ socketPath: p, root: emptyRoot(), answered: true, pause: flip });
    expect(r.status).toBe('WARN');
    expect(r.detail).toMatch(/the socket was replaced between two looks \(inode \d+ → inode \d+\)/);
  });
});

describe('helper-readiness and platform-tcb', () => {
  it('the sim daemon: ready but WARN, labelled SIMULATED; its FMSPC and TCB status are OK', async () => {
    const ops = await fetchOps(simOps, defaultHttpGet);
    const ready = checkReadiness(ops, 'node');
    expect(ready.status).toBe('WARN');
    expect(ready.detail).toContain('provider sim');
    expect(ready.detail).toContain('SIMULATED');
    const tcb = checkPlatformTcb(ops);
    expect(tcb.status).toBe('OK');
    expect(tcb.detail).toBe(`FMSPC ${fmspc}, TCB status UpToDate (SIMULATED platform)`);
  });

  it('a sim platform with a Revoked TCB FAILs, an OutOfDate one WARNs', async () => {
    for (const [profile, status] of [['Revoked', 'FAIL'], ['OutOfDate', 'WARN']] as const) {
      const d = path.join(dir, `tcb-${profile}`);
      await SimPlatform.init({ stateDir: path.join(d, 'state'), tcbProfile: profile });
      const daemon = await startTestDaemon(d, await createSimProvider({ stateDir: path.join(d, 'state') }));
      cleanups.push(() => daemon.shutdown('stopped'));
      const r = checkPlatformTcb(await fetchOps((await daemon.opsAddress)!, defaultHttpGet));
      expect(r.status).toBe(status);
      expect(r.detail).toContain(`TCB status ${profile}`);
    }
  });

  it('a provider that is not ready FAILs with its reason; a ready, non-simulated one is OK', async () => {
    const down = await startTestDaemon(path.join(dir, 'down'), new FakeProvider({ ready: false }));
    cleanups.push(() => down.shutdown('stopped'));
    const notReady = checkReadiness(await fetchOps((await down.opsAddress)!, defaultHttpGet), 'node');
    expect(notReady.status).toBe('FAIL');
    expect(notReady.detail).toContain('NOT ready: fake not ready');

    // The fake provider, announced as not simulated: what a dcap provider on hardware reports.
    const fake = new FakeProvider();
    const hardwareStandIn: QuoteProvider = {
      name: 'fake',
      simulated: false,
      maxConcurrency: 1,
      supportedAttKeyIds: () => fake.supportedAttKeyIds(),
      initQuote: () => fake.initQuote(),
      getQuoteSize: () => fake.getQuoteSize(),
      getQuote: (r) => fake.getQuote(r),
      health: () => fake.health(),
      close: () => fake.close(),
    };
    const up = await startTestDaemon(path.join(dir, 'up'), hardwareStandIn);
    cleanups.push(() => up.shutdown('stopped'));
    const ops = await fetchOps((await up.opsAddress)!, defaultHttpGet);
    expect(checkReadiness(ops, 'node')).toMatchObject({ status: 'OK', detail: expect.stringContaining('ready, not simulated') });
    expect(checkPlatformTcb(ops).detail).toBe('FMSPC 00906ED50000, TCB status UpToDate');
  });

  it('nothing listening, or an HTTP server that is not the helper: WARN, with a hint per role', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const gone = await fetchOps(`http://127.0.0.1:${port}`, defaultHttpGet);
    const app = checkReadiness(gone, 'app');
    expect(app.status).toBe('WARN');
    expect(app.detail).toContain('ECONNREFUSED');
    expect(app.hint).toContain('--ops-url http://<helper pod IP>:9464');
    expect(checkReadiness(gone, 'node').hint).toContain('--ops-listen');

    const stranger = http.createServer((_q, res) => res.end('hello'));
    await new Promise<void>((r) => stranger.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => stranger.close(() => r())));
    const url = `http://127.0.0.1:${(stranger.address() as net.AddressInfo).port}`;
    const r = checkReadiness(await fetchOps(url, defaultHttpGet), 'node');
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain('without the helper\'s JSON: something else listens there');
  });
});

describe('collateral', () => {
  const base = () => ({ fmspc, url: collateralUrl, urlSource: '--collateral-url', role: 'node' as const, provider: 'sim' });

  it('OK while fresh, WARN within a week of nextUpdate, WARN (stale) after it', async () => {
    const fresh = await checkCollateral({ ...base(), now: new Date(NOW.getTime() + 3600_000) });
    expect(fresh.status).toBe('OK');
    expect(fresh.detail).toContain(`TCB info nextUpdate ${NEXT_UPDATE.toISOString()}`);
    expect(fresh.detail).toContain('SIMULATED');
    const justFresh = await checkCollateral({ ...base(), now: new Date(NEXT_UPDATE.getTime() - NEAR_EXPIRY_MS - 1000) });
    expect(justFresh.status).toBe('OK');
    const soon = await checkCollateral({ ...base(), now: new Date(NEXT_UPDATE.getTime() - 2 * 86_400_000) });
    expect(soon.status).toBe('WARN');
    expect(soon.detail).toContain('expires in 2.0 days');
    const stale = await checkCollateral({ ...base(), now: new Date(NEXT_UPDATE.getTime() + 1000) });
    expect(stale.status).toBe('WARN');
    expect(stale.detail).toContain('TCB info and QE identity expired (stale)');
  });

  it('an FMSPC the service does not know: FAIL when asked for with --collateral-url, WARN when only found in the QCNL config of an app', async () => {
    const asked = await checkCollateral({ ...base(), fmspc: '00906ED50000', now: NOW });
    expect(asked.status).toBe('FAIL');
    expect(asked.detail).toContain('HTTP 404 for FMSPC 00906ED50000');
    expect(asked.hint).toContain('SIMULATED platform');
    const fromConf = await checkCollateral({ ...base(), fmspc: '00906ED50000', urlSource: '/etc/sgx_default_qcnl.conf', role: 'app', now: NOW });
    expect(fromConf.status).toBe('WARN');
  });

  it('unreachable: FAIL for a dcap node (its library needs the PCCS), WARN for an app', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
    await new Promise<void>((r) => s.close(() => r()));
    const node = await checkCollateral({ fmspc, url, urlSource: '/etc/sgx_default_qcnl.conf', role: 'node', provider: 'dcap', now: NOW });
    expect(node.status).toBe('FAIL');
    expect(node.detail).toContain('ECONNREFUSED');
    expect(node.hint).toContain('0xE019');
    const app = await checkCollateral({ fmspc, url, urlSource: '/etc/sgx_default_qcnl.conf', role: 'app', now: NOW });
    expect(app.status).toBe('WARN');
  });

  it('skipped (WARN) without an FMSPC or without a URL', async () => {
    expect((await checkCollateral({ role: 'node', url: collateralUrl, now: NOW })).detail).toContain('FMSPC is unknown');
    const noUrl = await checkCollateral({ role: 'node', fmspc, now: NOW });
    expect(noUrl.status).toBe('WARN');
    expect(noUrl.hint).toContain('--collateral-url');
  });
});

describe('runDoctor', () => {
  it('an app pod with everything in place: every check in order, the collateral URL taken from the QCNL config', async () => {
    const root = fakeRoot();
    cleanups.push(() => root.cleanup());
    root.device('dev/sgx_enclave');
    root.file('usr/lib/x86_64-linux-gnu/libsgx_quote_ex.so.1');
    root.file('usr/lib/x86_64-linux-gnu/libsgx_dcap_ql.so.1');
    root.file('usr/lib/x86_64-linux-gnu/libdcap_quoteprov.so.1');
    root.file('etc/sgx_default_qcnl.conf', JSON.stringify({ pccs_url: `${collateralUrl}/sgx/certification/v4/` }));
    const report = await runDoctor({
      root: root.dir,
      env: { SGX_AESM_ADDR: '1' },
      socketPath: simDaemon.config.socketPath,
      opsUrl: simOps,
      now: NOW,
      pause: noPause,
    });
    expect(report.role).toBe('app');
    expect(report.roleReason).toContain('SGX_AESM_ADDR is set');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['sgx-devices', 'OK'],
      ['intel-libraries', 'OK'],
      ['quote-provider', 'WARN'], // the PCCS URL is loopback: right for this test, a warning in a pod
      ['sgx-aesm-addr', 'OK'],
      ['aesm-socket', 'OK'],
      ['socket-listener', 'OK'],
      ['helper-readiness', 'WARN'], // SIMULATED
      ['platform-tcb', 'OK'],
      ['collateral', 'OK'],
    ]);
    expect(report.checks.at(-1)!.detail).toContain('(from /etc/sgx_default_qcnl.conf)');
    expect(doctorExitCode(report.checks)).toBe(0);
  });

  it('--fmspc stands in when the helper reports none (here: no ops endpoint at all)', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const closed = `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
    await new Promise<void>((r) => s.close(() => r()));
    const opts = { root: emptyRoot(), env: {}, socketPath: simDaemon.config.socketPath, opsUrl: closed, collateralUrl, now: NOW, pause: noPause };
    const without = await runDoctor(opts);
    expect(without.checks.at(-1)).toMatchObject({ name: 'collateral', status: 'WARN', hint: expect.stringContaining('--fmspc') });
    const given = await runDoctor({ ...opts, fmspc: fmspc.toLowerCase() });
    expect(given.checks.at(-1)).toMatchObject({ name: 'collateral', status: 'OK', detail: expect.stringContaining(`for FMSPC ${fmspc}: fresh`) });
  });

  it('a check that throws becomes its own FAIL; every other check still reports and the exit code is 1', async () => {
    const boom = () => Promise.reject(new Error('pause exploded'));
    const report = await runDoctor({ root: emptyRoot(), env: { SGX_AESM_ADDR: '1' }, socketPath: simDaemon.config.socketPath, opsUrl: simOps, now: NOW, pause: boom, collateralUrl });
    expect(report.checks).toHaveLength(9);
    expect(report.checks.find((c) => c.name === 'socket-listener')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('pause exploded') });
    expect(report.checks.find((c) => c.name === 'aesm-socket')!.status).toBe('OK');
    expect(report.checks.at(-1)!.name).toBe('collateral');
    expect(doctorExitCode(report.checks)).toBe(1);
  });

  it('the same pod without SGX_AESM_ADDR and with --role app: FAILs, so the exit code is 1', async () => {
    const report = await runDoctor({ root: emptyRoot(), env: {}, role: 'app', socketPath: simDaemon.config.socketPath, opsUrl: simOps, now: NOW, pause: noPause });
    expect(report.checks.find((c) => c.name === 'sgx-aesm-addr')!.status).toBe('FAIL');
    expect(doctorExitCode(report.checks)).toBe(1);
  });
});
