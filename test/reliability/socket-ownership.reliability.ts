// Who may take the node socket (docs/operations.md, "The node socket"): a foreign listener at the
// path is refused; another user's socket renamed over ours does not make us drain; unsafe socket
// directories are refused; under umask 077 the directory is still usable by other uids. Real daemon
// processes; "another user" is the real uid of `nobody` (runuser), so this file needs root, which
// the CI container and the DaemonSet have.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  GoodClient,
  checkDaemon,
  daemonRunner,
  fdCount,
  report,
  rssSampler,
  simState,
  spawnDaemon,
  stop,
  tempDir,
  until,
} from './lib/socket-harness.js';
import { cliCommand } from '../daemon/process-harness.js';
import { decodeResponse, encodeFrame, encodeRequest } from '../../src/aesm/index.js';

const OTHER_USER = 'nobody';
const NUM_REQUEST = encodeFrame(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }, { timeoutMs: 15000 }));
const base = tempDir('sqh-own-');
// Other uids must be able to traverse to the socket directories below (mkdtemp makes it 0700).
chmodSync(base, 0o755);
let allOk = true;

/** Run a small Node script as another real user; resolves with its stdout. */
function asOtherUser(script: string, args: string[]): { done: Promise<string>; child: ReturnType<typeof spawn> } {
  const child = spawn('runuser', ['-u', OTHER_USER, '--', process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { done: new Promise((r) => child.on('exit', () => r(out.trim()))), child };
}

/** One real quote, so fds the daemon opens lazily on its first request are in the baseline. */
async function warmUp(socket: string): Promise<void> {
  const c = new GoodClient(socket, path.join(base, 'state'));
  c.start();
  await until(() => c.tried >= 3, 10_000);
  await c.stop();
}

/** `serve` to completion (it must refuse): exit code and stderr. */
function serveOnce(runner: ReturnType<typeof daemonRunner>, args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [...cliCommand(runner), 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr };
}

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s into the file`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('this file needs root: it runs a client and an attacker as the real user "nobody"');
  const runner = daemonRunner();
  const stateDir = await simState(base);
  const common = ['--provider', 'sim', '--state-dir', stateDir, '--ops-listen', 'off'];

  // 1. A foreign AESM service at the path (a host aesmd stand-in: any listener without our record).
  {
    const dir = path.join(base, 'foreign');
    mkdirSync(dir, { mode: 0o755 });
    const socket = path.join(dir, 'aesm.socket');
    let foreignServed = 0;
    const foreign = net.createServer((c) => {
      foreignServed++;
      c.end();
    });
    await new Promise<void>((r) => foreign.listen(socket, r));
    const ino = lstatSync(socket).ino;
    const problems: string[] = [];
    const good = new GoodClient(socket, stateDir);
    let tried = 0;
    let rejected = 0;
    for (let i = 0; i < 3; i++) {
      tried++;
      const r = serveOnce(runner, [...common, '--socket', socket]);
      if (r.code === 1 && r.stderr.includes('--take-over') && r.stderr.includes('not a verifiable sgx-quote-helper')) rejected++;
      else problems.push(`serve over a foreign listener: exit ${r.code}, stderr ${r.stderr.trim().slice(0, 200)}`);
    }
    if (lstatSync(socket).ino !== ino) problems.push('the foreign socket was replaced');
    const before = foreignServed;
    await new Promise<void>((resolve) => net.connect(socket).on('close', () => resolve()).on('error', () => resolve()));
    if (!(await until(() => foreignServed >= before + 1, 2000))) problems.push('the foreign service is no longer reachable');
    // --take-over: replaces it on purpose, and serves real quotes.
    tried++;
    const d = spawnDaemon(runner, [...common, '--socket', socket, '--take-over']);
    await d.serving;
    await warmUp(socket);
    const baseline = fdCount(d.pid);
    const rss = rssSampler(d.pid);
    good.start();
    await new Promise((r) => setTimeout(r, 2000));
    await good.stop();
    if (good.failures > 0 || good.tried < 30) problems.push(`after --take-over the good client had ${good.failures} failures of ${good.tried}`);
    const detail = await checkDaemon(d, baseline, problems, rss.stop());
    if ((await stop(d)).code !== 0) problems.push('daemon did not exit 0 on SIGTERM');
    foreign.close();
    if (!report('foreign listener at the path', { tried, rejected, served: good.tried - good.failures, good, problems, detail: `refused ${rejected} of 3 plain starts; --take-over replaced it; ${detail}; ${elapsed()}` })) allOk = false;
  }

  // 2. Another user's socket renamed over ours (the directory made writable after we started).
  {
    const dir = path.join(base, 'hijack');
    mkdirSync(dir, { mode: 0o755 });
    const socket = path.join(dir, 'aesm.socket');
    const problems: string[] = [];
    const d = spawnDaemon(runner, [...common, '--socket', socket]);
    await d.serving;
    await warmUp(socket);
    const baseline = fdCount(d.pid);
    const rss = rssSampler(d.pid);
    const good = new GoodClient(socket, stateDir);
    good.start();
    await new Promise((r) => setTimeout(r, 1000));
    const failuresBefore = good.failures;
    chmodSync(dir, 0o777);
    // The attacker: listens on its own socket, renames it over ours, counts what it receives.
    const attacker = asOtherUser(
      `const net=require('net'),fs=require('fs');const [dir]=process.argv.slice(1);let got=0;` +
        `const s=net.createServer(c=>{got++;c.on('error',()=>{});c.end();});` +
        `s.listen(dir+'/evil.sock',()=>{fs.renameSync(dir+'/evil.sock',dir+'/aesm.socket');setTimeout(()=>{console.log(JSON.stringify({uid:process.getuid(),got}));process.exit(0)},3000)});`,
      [dir],
    );
    const out = await attacker.done;
    chmodSync(dir, 0o755);
    const republished = await until(() => {
      try {
        return lstatSync(socket).uid === 0;
      } catch {
        return false;
      }
    }, 5000);
    await new Promise((r) => setTimeout(r, 1000));
    const windowFailures = good.failures - failuresBefore;
    const afterWindow = good.failures;
    await new Promise((r) => setTimeout(r, 1500));
    await good.stop();
    let attack: { uid?: number; got?: number } = {};
    try {
      attack = JSON.parse(out) as typeof attack;
    } catch {
      problems.push(`attacker did not run: ${out.slice(0, 200)}`);
    }
    if (attack.uid === 0 || attack.uid === undefined) problems.push('attacker did not run as another user');
    if (d.lines.some((l) => l.msg === 'draining' || l.msg === 'a new instance took over the socket; draining and exiting')) problems.push('the daemon drained for another user\'s socket');
    if (!d.lines.some((l) => l.msg === 'the socket was replaced by a socket of another user; not draining, re-publishing ours')) problems.push('the replacement was not reported');
    if (!republished) problems.push('our socket was not re-published');
    if (good.failures > afterWindow) problems.push(`${good.failures - afterWindow} good-client failures after our socket was back`);
    const detail = await checkDaemon(d, baseline, problems, rss.stop());
    if (problems.length > 0) for (const l of d.lines.filter((x) => x.msg !== 'aesm request').slice(-15)) console.log(`  daemon log: ${l.level} ${l.msg}`);
    if ((await stop(d)).code !== 0) problems.push('daemon did not exit 0 on SIGTERM');
    if (!report("another user's socket renamed over ours", {
      tried: 1,
      rejected: problems.length === 0 ? 1 : 0,
      served: good.tried - good.failures,
      good,
      problems,
      detail: `not drained, re-published; the attacker (uid ${attack.uid}) received ${attack.got} connections; ${windowFailures} good-client failures while the path was the attacker's (expected: clients reached it); ${detail}; ${elapsed()}`,
    })) allOk = false;
  }

  // 3. Unsafe directory modes are refused; sticky shared directories and umask 077 are fine.
  {
    const problems: string[] = [];
    let tried = 0;
    let rejected = 0;
    let served = 0;
    for (const mode of [0o777, 0o775, 0o757]) {
      const dir = path.join(base, `mode-${mode.toString(8)}`);
      mkdirSync(dir);
      chmodSync(dir, mode);
      tried++;
      const r = serveOnce(runner, [...common, '--socket', path.join(dir, 'aesm.socket')]);
      if (r.code === 1 && r.stderr.includes('chmod go-w')) rejected++;
      else problems.push(`socket dir mode ${mode.toString(8)}: exit ${r.code}, ${r.stderr.trim().slice(0, 200)}`);
    }
    // A sticky world-writable directory (like /tmp) and umask 077 with directories to create.
    const sticky = path.join(base, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const good = new GoodClient(path.join(sticky, 'aesm.socket'), stateDir);
    for (const [socket, umask] of [
      [path.join(sticky, 'aesm.socket'), '022'],
      [path.join(base, 'umask/var/run/aesmd/aesm.socket'), '077'],
    ] as const) {
      tried++;
      const [cmd, ...cmdArgs] = [process.execPath, ...cliCommand(runner), 'serve', ...common, '--socket', socket];
      const child = spawn('sh', ['-c', `umask ${umask}; exec "$@"`, 'sh', cmd, ...cmdArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      const up = await until(() => {
        try {
          return lstatSync(socket).isSocket();
        } catch {
          return false;
        }
      }, 20_000);
      if (!up) problems.push(`no socket at ${socket} under umask ${umask}`);
      for (let dirPath = path.dirname(socket); dirPath.startsWith(path.join(base, 'umask')) && dirPath !== path.join(base, 'umask'); dirPath = path.dirname(dirPath)) {
        const m = lstatSync(dirPath).mode & 0o7777;
        if (m !== 0o755) problems.push(`${dirPath} created with mode ${m.toString(8)} under umask ${umask}`);
      }
      // A client of another uid gets an answer through it.
      const client = asOtherUser(
        `const net=require('net');const s=net.connect(process.argv[1]);const c=[];` +
          `s.on('connect',()=>s.write(Buffer.from('${NUM_REQUEST.toString('hex')}','hex')));` +
          `s.on('data',d=>c.push(d));s.on('error',e=>{console.log('ERR '+e.code)});s.on('close',()=>console.log(Buffer.concat(c).toString('hex')));`,
        [socket],
      );
      const answer = await client.done;
      let num: number | undefined;
      try {
        const bytes = Buffer.from(answer, 'hex');
        if (bytes.length === 4 + bytes.readUInt32LE(0)) num = (decodeResponse(bytes.subarray(4), 'getSupportedAttKeyIdNum') as { attKeyIdNum?: number }).attKeyIdNum;
      } catch {
        /* reported below */
      }
      if (num === 1) served++;
      else problems.push(`uid ${OTHER_USER} via ${socket} (umask ${umask}): ${answer.slice(0, 80)}`);
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
    if (!report('unsafe directory modes and umasks', { tried, rejected, served, good, problems, detail: `refused 0777, 0775, 0757; served another uid in a sticky 1777 dir and under umask 077 (dirs 0755); ${elapsed()}` })) allOk = false;
  }
}

main().then(
  () => {
    rmSync(base, { recursive: true, force: true });
    process.exit(allOk ? 0 : 1);
  },
  (e) => {
    console.log(`socket ownership reliability: ${(e as Error).stack}`);
    rmSync(base, { recursive: true, force: true });
    process.exit(1);
  },
);
