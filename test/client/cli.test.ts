// The client commands' failure paths, run as real processes (tsx from the sources, no build needed).
// The permission test needs a socket this user may not open: as root it runs the CLI as `nobody`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRawServer, type RawServer } from './raw-aesm-server.js';
import { runCli } from './run-cli.js';
import { intOption, parseFormat } from '../../src/cli/client.js';
import { CliError } from '../../src/cli/cli-error.js';
import { DemoInputError, parseHexField } from '../../src/demo/hex-input.js';
import { SimPlatform } from '../../src/providers/sim/index.js';

let dir: string;
let server: RawServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-cli-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('client commands: failures', () => {
  it('no daemon: exit 1 with the "is the quote helper running" hint, for every command', async () => {
    const sock = join(dir, 'none.socket');
    const stateDir = join(dir, 'state');
    await SimPlatform.init({ stateDir });
    const runs = await Promise.all([
      runCli(['targetinfo', '--socket', sock, '--wait', '0']),
      runCli(['keyids', '--wait', '0'], { env: { SQH_SOCKET: sock } }),
      runCli(['quote', '--socket', sock, '--wait', '0', '--state-dir', stateDir, '--mrenclave', '11'.repeat(32), '--mrsigner', '22'.repeat(32),
        '--report-data', 'ab', '--out', join(dir, 'q.bin')]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(sock);
      expect(r.stderr).toMatch(/is the quote helper running/);
      expect(r.stderr).toMatch(/SGX_QL_SERVICE_UNAVAILABLE/);
      noStack(r.stderr);
    }
  });

  it('bad input: exit 2 naming the flag, without contacting anything', async () => {
    const good = { mrenclave: '11'.repeat(32), mrsigner: '22'.repeat(32) };
    const [badHex, missing, badTimeout] = await Promise.all([
      runCli(['quote', '--socket', join(dir, 's'), '--out', join(dir, 'q.bin'), '--state-dir', dir,
        '--mrenclave', 'xyz', '--mrsigner', good.mrsigner, '--report-data', 'ab']),
      runCli(['quote', '--mrenclave', good.mrenclave]),
      runCli(['keyids', '--timeout', '-5']),
    ]);
    expect(badHex.code, badHex.stderr).toBe(2);
    expect(badHex.stderr).toMatch(/--mrenclave must be hex/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option/);
    expect(badTimeout.code).toBe(2);
    for (const r of [badHex, missing, badTimeout]) noStack(r.stderr);
  });

  it('flag parsing names the flag and the rule (in-process)', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => parseHexField('--mrenclave', '11'.repeat(31), { exact: 32 }), /--mrenclave must be 32 bytes/],
      [() => parseHexField('--report-data', '00'.repeat(65), { max: 64 }), /--report-data must be at most 64 bytes/],
      [() => parseHexField('--mrsigner', 'abc', { exact: 32 }), /--mrsigner must be hex/],
      [() => intOption('--isv-svn', '70000', 0, 0xffff), /--isv-svn must be between 0 and 65535/],
      [() => intOption('--wait', '1.5', 0), /--wait must be a whole number/],
      [() => parseFormat('pem', ['hex', 'base64'], 'hex'), /--format must be one of hex, base64/],
    ];
    for (const [fn, message] of cases) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err, String(message)).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(message);
      if (err instanceof CliError) expect(err.exitCode).toBe(2);
      else expect(err).toBeInstanceOf(DemoInputError);
    }
    expect(parseHexField('--report-data', '0xCAFE', { max: 64 }).toString('hex')).toBe('cafe');
  });

  it('permission denied on the socket: exit 1 with the permissions hint', async () => {
    const sock = join(dir, 'aesm.socket');
    server = await startRawServer(sock, { kind: 'never-answer' });
    chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chownSync(sock, 0, 0);
      chmodSync(sock, 0o600);
    } else {
      chmodSync(sock, 0o000);
    }
    const r = await runCli(['keyids', '--socket', sock, '--wait', '0'], asRoot ? { uid: 65534, gid: 65534 } : {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EACCES/);
    expect(r.stderr).toMatch(/permission denied on .*aesm\.socket/);
    expect(server.connections).toBe(0);
    noStack(r.stderr);
  });

  it('daemon that never answers: exit 1 after --timeout with the timeout hint', async () => {
    const sock = join(dir, 'aesm.socket');
    server = await startRawServer(sock, { kind: 'never-answer' });
    const r = await runCli(['targetinfo', '--socket', sock, '--timeout', '300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no answer within 300 ms/);
    expect(r.stderr).toMatch(/SGX_QL_SERVICE_TIMEOUT/);
  });

  it('provider error: exit 1 with its AESM name', async () => {
    const sock = join(dir, 'aesm.socket');
    server = await startRawServer(sock, {
      kind: 'answer',
      respond: () => ({ kind: 'getSupportedAttKeyIdNum', errorCode: 30 }),
    });
    const r = await runCli(['keyids', '--socket', sock]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AESM_SERVICE_UNAVAILABLE \(30\)/);
    expect(r.stderr).toMatch(/provider is not available/);
  });
});
