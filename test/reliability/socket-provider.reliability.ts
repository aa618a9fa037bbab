// Provider faults behind the node socket: a front daemon with `--provider upstream` in front of a
// faulty upstream (test/reliability/load/fault-upstream.ts, a separate process standing in for a
// misbehaving host aesmd) that relays to a real sim daemon, errors, closes, answers garbage, is slow,
// or accepts and never answers. The good client must always get a well-formed answer (an AESM error
// code is a clear answer; no answer is a failure), and be fully served again once the upstream is.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { REPO } from '../daemon/process-harness.js';
import { GoodClient, checkDaemon, daemonRunner, fdCount, report, rssSampler, scrape, simState, spawnDaemon, stop, tempDir, until, type DaemonProcess } from './lib/socket-harness.js';

const dir = tempDir('sqh-prov-');
const backendSock = path.join(dir, 'backend.sock');
const upstreamSock = path.join(dir, 'up.sock');
const frontSock = path.join(dir, 'front.sock');
let allOk = true;

async function startUpstream(mode: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/reliability/load/fault-upstream.ts'), upstreamSock, backendSock, mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (c) => reject(new Error(`fault upstream ${mode} exited ${c}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

async function timedScrape(ops: string, route: string): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const r = await scrape(ops, route);
  return { ms: performance.now() - t0, status: r.status };
}

async function phase(name: string, front: DaemonProcess, ops: string, stateDir: string, mode: string, seconds: number, expectErrors: boolean): Promise<void> {
  const up = await startUpstream(mode);
  const baseline = fdCount(front.pid);
  const rss = rssSampler(front.pid);
  const good = new GoodClient(frontSock, stateDir, 5, true);
  const problems: string[] = [];
  good.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const metrics = await timedScrape(ops, '/metrics');
  await good.stop();
  await kill(up);
  if (good.failures > 0) problems.push(`${good.failures} requests got no well-formed answer`);
  if (!expectErrors && good.errorAnswers > 0) problems.push(`${good.errorAnswers} error answers with a healthy upstream`);
  if (expectErrors && good.errorAnswers === 0) problems.push('the fault produced no error answers (did it happen?)');
  if (good.tried < 3) problems.push(`good client made only ${good.tried} requests`);
  if (metrics.status !== 200 || metrics.ms > 1000) problems.push(`/metrics took ${metrics.ms.toFixed(0)} ms (status ${metrics.status})`);
  const detail = await checkDaemon(front, baseline, problems, rss.stop());
  const ok = report(name, { tried: good.tried, rejected: good.errorAnswers, served: good.tried - good.errorAnswers - good.failures, good, problems, detail: `/metrics ${metrics.ms.toFixed(0)} ms; ${detail}` });
  if (!ok) allOk = false;
}

async function main(): Promise<void> {
  const runner = daemonRunner();
  const stateDir = await simState(dir);
  const backend = spawnDaemon(runner, ['--provider', 'sim', '--state-dir', stateDir, '--socket', backendSock, '--ops-listen', 'off']);
  await backend.serving;
  const frontArgs = ['--provider', 'upstream', '--upstream', upstreamSock, '--socket', frontSock, '--ops-listen', '127.0.0.1:0', '--provider-timeout', '1s', '--log-level', 'warn'];
  let front: DaemonProcess | undefined;
  try {
    // A hung upstream from the start: the socket is still published at once and /metrics answers.
    {
      const up = await startUpstream('hang');
      const t0 = performance.now();
      front = spawnDaemon(runner, [...frontArgs, '--log-level', 'info']);
      await front.serving;
      const startupMs = performance.now() - t0;
      const ops = await front.opsAddress;
      const metrics = await timedScrape(ops, '/metrics');
      const ready = await timedScrape(ops, '/readyz');
      const good = new GoodClient(frontSock, stateDir, 5, true);
      const problems: string[] = [];
      good.start();
      await new Promise((r) => setTimeout(r, 2000));
      await good.stop();
      await kill(up);
      if (startupMs > 5000) problems.push(`socket published ${startupMs.toFixed(0)} ms after spawn with a hung upstream`);
      if (metrics.ms > 1000) problems.push(`/metrics took ${metrics.ms.toFixed(0)} ms with a hung upstream`);
      if (ready.status !== 503 || ready.ms > 3000) problems.push(`/readyz: ${ready.status} after ${ready.ms.toFixed(0)} ms`);
      if (good.failures > 0) problems.push(`${good.failures} requests got no well-formed answer`);
      if (!report('upstream hung at start-up', {
        tried: good.tried,
        rejected: good.errorAnswers,
        served: good.tried - good.errorAnswers - good.failures,
        good,
        problems,
        detail: `spawn to serving ${startupMs.toFixed(0)} ms, /metrics ${metrics.ms.toFixed(0)} ms, /readyz ${ready.status} in ${ready.ms.toFixed(0)} ms`,
      })) allOk = false;
    }
    const ops = await front.opsAddress;
    await phase('upstream healthy', front, ops, stateDir, 'pass', 2, false);
    await phase('upstream errors (closes without a reply)', front, ops, stateDir, 'close', 2, true);
    await phase('upstream answers garbage', front, ops, stateDir, 'garbage', 2, true);
    await phase('upstream slower than --provider-timeout', front, ops, stateDir, 'slow', 3, true);
    await phase('upstream accepts and never answers', front, ops, stateDir, 'hang', 3, true);
    // Hung calls time out in the upstream transport (9 s); after that the good client is served fully again.
    const recovery = await startUpstream('pass');
    await until(async () => {
      const c = new GoodClient(frontSock, stateDir);
      c.start();
      await until(() => c.tried >= 3, 3000);
      await c.stop();
      return c.failures === 0;
    }, 15_000);
    await kill(recovery);
    await phase('upstream healthy again', front, ops, stateDir, 'pass', 3, false);
  } finally {
    if (front && (await stop(front)).code !== 0) {
      console.log('front daemon did not exit 0 on SIGTERM');
      allOk = false;
    }
    await stop(backend);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(allOk ? 0 : 1),
  (e) => {
    console.log(`provider-fault reliability: ${(e as Error).stack}`);
    process.exit(1);
  },
);
