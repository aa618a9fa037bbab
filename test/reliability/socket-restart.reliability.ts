// Restarts under load: zero-downtime handovers between our own instances (no good-client request
// may fail), and kill -9 followed by a restart (requests in flight or sent while nothing listens
// fail, by nature; the new instance must replace the stale socket and serve everyone again). A
// load generator (separate process) keeps valid half-closed requests flowing the whole time.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { GoodClient, daemonRunner, fdCount, report, runLoad, simState, spawnDaemon, stop, tempDir, until, type DaemonProcess } from './lib/socket-harness.js';

const dir = tempDir('sqh-rst-');
const socket = path.join(dir, 'aesm.socket');
let allOk = true;

async function main(): Promise<void> {
  const runner = daemonRunner();
  const stateDir = await simState(dir);
  const args = ['--provider', 'sim', '--state-dir', stateDir, '--socket', socket, '--ops-listen', 'off', '--drain-timeout', '5s'];
  let current: DaemonProcess = spawnDaemon(runner, args);
  await current.serving;

  // 1. Handovers: each new instance takes the socket from the running one.
  {
    const problems: string[] = [];
    const good = new GoodClient(socket, stateDir, 2);
    good.start();
    const load = runLoad('halfclose', { socket, count: 1_000_000, seconds: 15, concurrency: 4 });
    load.done.catch(() => undefined); // killed at the end of the scenario
    const restarts = 4;
    for (let i = 0; i < restarts; i++) {
      await new Promise((r) => setTimeout(r, 600));
      const next = spawnDaemon(runner, args);
      await next.serving;
      const exit = await current.exited;
      if (exit.code !== 0) problems.push(`replaced instance exited ${exit.code ?? exit.signal}`);
      if (!current.lines.some((l) => l.msg === 'a new instance took over the socket; draining and exiting')) problems.push('replaced instance did not report the handover');
      current = next;
    }
    await new Promise((r) => setTimeout(r, 500));
    await good.stop();
    load.kill();
    if (good.failures > 0) problems.push(`${good.failures} good-client failures during handovers (none allowed)`);
    if (!report('handover under load', { tried: restarts, rejected: 0, served: good.tried - good.failures, good, problems, detail: `${restarts} handovers, each drained and exited 0` })) allOk = false;
  }

  // 2. kill -9 and restart: the stale socket is replaced and everyone is served again.
  {
    const problems: string[] = [];
    const good = new GoodClient(socket, stateDir, 2);
    good.start();
    const load = runLoad('halfclose', { socket, count: 1_000_000, seconds: 15, concurrency: 4 });
    load.done.catch(() => undefined); // killed at the end of the scenario
    const kills = 2;
    let gapFailures = 0;
    const recoveryMs: number[] = [];
    for (let i = 0; i < kills; i++) {
      await new Promise((r) => setTimeout(r, 800));
      const before = good.failures;
      current.child.kill('SIGKILL');
      await current.exited;
      const t0 = performance.now();
      const next = spawnDaemon(runner, args);
      const line = await next.serving;
      if (line.msg !== 'replaced a stale AESM socket') problems.push(`restart after kill -9 said "${line.msg}"`);
      current = next;
      // Served again: a full quote sequence succeeds.
      const served = await until(async () => {
        const c = new GoodClient(socket, stateDir);
        c.start();
        await until(() => c.tried >= 3, 5000);
        await c.stop();
        return c.failures === 0;
      }, 10_000);
      recoveryMs.push(performance.now() - t0);
      if (!served) problems.push('not served again after a kill -9 restart');
      await new Promise((r) => setTimeout(r, 300));
      gapFailures += good.failures - before;
    }
    const settled = good.failures;
    await new Promise((r) => setTimeout(r, 1000));
    const lateFailures = good.failures - settled;
    await good.stop();
    load.kill();
    if (lateFailures > 0) problems.push(`${lateFailures} good-client failures after the last restart had settled`);
    const baseline = fdCount(current.pid);
    if (current.child.exitCode !== null) problems.push('daemon died');
    const max = Math.max(...recoveryMs);
    if (!report('kill -9 and restart under load', {
      tried: kills,
      rejected: 0,
      served: good.tried - good.failures,
      good,
      problems,
      detail: `${kills} kills; ${gapFailures} good-client failures while no instance was listening (expected); restart to serving at most ${max.toFixed(0)} ms; ${baseline} fds`,
    })) allOk = false;
  }

  const exit = await stop(current);
  if (exit.code !== 0) {
    console.log(`last daemon exited ${exit.code ?? exit.signal} on SIGTERM`);
    allOk = false;
  }
}

main().then(
  () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(allOk ? 0 : 1);
  },
  (e) => {
    console.log(`restart reliability: ${(e as Error).stack}`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  },
);
