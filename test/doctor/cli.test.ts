// `sgx-quote-helper doctor` through the real CLI (tsx, from the sources): text and --json output and
// the exit codes, against a REAL sim daemon (in this process, real Unix socket and ops HTTP) and the
// real collateral server, and against a socket that is not there. --fs-root points /dev, /etc, the
// library directories and /proc at an empty temp dir (a node without SGX hardware or Intel packages).
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { CHECK_STATUSES, type CheckResult } from '../../src/doctor/index.js';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { createSimProvider, SimPlatform } from '../../src/providers/sim/index.js';
import { createCollateralServer, createSimBackend } from '../../src/pcs/index.js';
import { removeDir, startTestDaemon, tempDir } from '../daemon/helpers.js';
import { runCli } from '../client/run-cli.js';
import { fakeRoot, type FakeRoot } from './support.js';

let dir: string;
let daemon: DaemonHandle;
let ops: string;
let collateral: FastifyInstance;
let collateralUrl: string;
let root: FakeRoot;
let closedOps: string;
// The CLI must not pick up the developer's own settings.
const env = { SQH_SOCKET: '', QCNL_CONF_PATH: '', LD_LIBRARY_PATH: '' };

beforeAll(async () => {
  dir = tempDir('sqh-docc-');
  const stateDir = path.join(dir, 'state');
  const platform = await SimPlatform.init({ stateDir });
  daemon = await startTestDaemon(dir, await createSimProvider({ stateDir }));
  ops = (await daemon.opsAddress)!;
  // Same clock as the CLI's (both real): the collateral is fresh for as long as the test runs.
  collateral = createCollateralServer({ backend: await createSimBackend({ platform }) });
  collateralUrl = await collateral.listen({ host: '127.0.0.1', port: 0 });
  root = fakeRoot();
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closedOps = `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  await new Promise<void>((r) => s.close(() => r()));
}, 60_000);

afterAll(async () => {
  await daemon?.shutdown('stopped');
  await collateral?.close();
  root?.cleanup();
  removeDir(dir);
});

describe('doctor against a running sim daemon', () => {
  it('text: one line per check, socket OK, provider WARN labelled SIMULATED, collateral OK; exit 0', async () => {
    const r = await runCli(['doctor', '--socket', daemon.config.socketPath, '--ops-url', ops, '--collateral-url', collateralUrl, '--fs-root', root.dir], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`sgx-quote-helper doctor: role node (inferred: SGX_AESM_ADDR is unset), socket ${daemon.config.socketPath}, ops ${ops}`);
    expect(lines).toContainEqual(expect.stringMatching(/^OK {4}aesm-socket {7}.* answers: 1 attestation key id\(s\)/));
    expect(lines).toContainEqual(expect.stringMatching(/^OK {4}socket-listener .*published by sgx-quote-helper pid \d+/));
    expect(lines).toContainEqual(expect.stringMatching(/^WARN {2}helper-readiness .*provider sim.*SIMULATED/));
    expect(lines).toContainEqual(expect.stringMatching(/^OK {4}collateral .*SIMULATED TCB info nextUpdate .*: fresh$/));
    // Every WARN is followed by its hint.
    const warnAt = lines.findIndex((l) => l.startsWith('WARN  helper-readiness'));
    expect(lines[warnAt + 1]).toMatch(/^ +→ fine for development/);
    expect(lines.at(-1)).toBe('0 FAIL, 3 WARN, 6 OK');
  });

  it('--json: an array of exactly {name, status, detail, hint}; exit 0', async () => {
    const r = await runCli(['doctor', '--json', '--socket', daemon.config.socketPath, '--ops-url', ops, '--fs-root', root.dir], { env });
    expect(r.code).toBe(0);
    const checks = JSON.parse(r.stdout) as CheckResult[];
    expect(checks.map((c) => c.name)).toEqual([
      'sgx-devices', 'intel-libraries', 'quote-provider', 'sgx-aesm-addr', 'aesm-socket', 'socket-listener', 'helper-readiness', 'platform-tcb', 'collateral',
    ]);
    for (const c of checks) {
      expect(Object.keys(c)).toEqual(['name', 'status', 'detail', 'hint']);
      expect(CHECK_STATUSES).toContain(c.status);
      expect(c.detail).not.toBe('');
      if (c.status !== 'OK') expect(c.hint).not.toBe('');
    }
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by['aesm-socket']!.status).toBe('OK');
    expect(by['helper-readiness']).toMatchObject({ status: 'WARN', detail: expect.stringContaining('SIMULATED') });
    expect(by['collateral']).toMatchObject({ status: 'WARN', detail: expect.stringContaining('skipped: no collateral service') });
  });
});

describe('doctor in an app pod whose socket directory is empty', () => {
  it('text and --json: aesm-socket FAILs with a hint naming the /var/run/aesmd mount and the DaemonSet; exit 1', async () => {
    const missing = path.join(dir, 'empty', 'aesm.socket');
    const args = ['doctor', '--socket', missing, '--ops-url', closedOps, '--fs-root', root.dir];
    const [text, json] = await Promise.all([runCli(args, { env: { ...env, SGX_AESM_ADDR: '1' } }), runCli([...args, '--json'], { env: { ...env, SGX_AESM_ADDR: '1' } })]);
    expect(text.code).toBe(1);
    expect(json.code).toBe(1);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('FAIL  aesm-socket'));
    expect(lines[at]).toContain(`${missing} does not exist`);
    expect(lines[at + 1]).toContain("mount the node's /var/run/aesmd into this container at /var/run/aesmd");
    expect(lines[at + 1]).toContain('sgx-quote-helper DaemonSet');
    const socket = (JSON.parse(json.stdout) as CheckResult[]).find((c) => c.name === 'aesm-socket')!;
    expect(socket.status).toBe('FAIL');
    expect(socket.hint).toContain('/var/run/aesmd');
    expect(socket.hint).toContain('DaemonSet');
  });
});

describe('bad usage exits 2 with a message naming what is allowed', () => {
  it.each([
    [['--role', 'pod'], "--role must be one of node, app, got 'pod'"],
    [['--ops-url', '127.0.0.1:9464'], '--ops-url must be an http(s) URL'],
    [['--collateral-url', 'pccs:8081'], '--collateral-url: '],
    [['--timeout', 'soon'], "--timeout must be a whole number, got 'soon'"],
    [['--fmspc', '00906ED5'], "--fmspc must be 12 hex digits (e.g. 00906ED50000), got '00906ED5'"],
  ])('%j', async (extra, message) => {
    const r = await runCli(['doctor', ...extra], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
