// Shared parts of the node-socket reliability scenarios: a real daemon process (tsc build, the
// real sim provider), a well-behaved client requesting real quotes the way Intel's library does,
// load generators as separate processes, and the checks every scenario applies (daemon alive,
// fds back to baseline, RSS under its bound, every rejected frame in /metrics).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeFrame, encodeRequest, decodeResponse, type AesmRequest, type AesmResponse } from '../../../src/aesm/index.js';
import { createSimProvider, SimPlatform } from '../../../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../../../src/sgx/index.js';
import { metricValue, rawExchange, scrape, tempDir } from '../../daemon/helpers.js';
import { REPO, buildDist, spawnDaemon, stop, type DaemonProcess, type Runner } from '../../daemon/process-harness.js';

export { metricValue, rawExchange, scrape, tempDir, stop, spawnDaemon, type DaemonProcess };
export const KEY = DEFAULT_ECDSA_P256_ATT_KEY_ID;

/**
 * The RSS bound every scenario enforces on the daemon, started with the V8 heap settings production
 * uses (src/daemon/node-flags.ts; docs/operations.md "Memory"): idle it is about 73 MB with the sim
 * provider on Node 20, under these scenarios 86-91 MB (2026-12-02; earlier runs 78-103 MB, the highest
 * in unread large replies: 400 × 64 KiB replies held for peers that never read). The issue-16 goal is
 * 100 MB; the bound is 120 MB so a regression (the 140-190 MB of V8's default heap) fails while that
 * spread does not. On Node 24 the same scenarios peak at 102-120 MB (docs/benchmarks.md "Memory").
 */
export const RSS_BOUND_MB = 120;

/** The tsc build of the CLI, rebuilt only when a source file is newer than the last build. */
export function daemonRunner(): Runner {
  const stamp = path.join(REPO, 'node_modules/.cache/sqh-daemon-test/reliability-stamp');
  const newest = newestMtime(path.join(REPO, 'src'));
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < newest) {
    const mainJs = buildDist();
    writeFileSync(stamp, mainJs);
    return { kind: 'dist', mainJs };
  }
  return { kind: 'dist', mainJs: readFileSync(stamp, 'utf8') };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** A state dir with a simulated platform, shared by the daemon (sim provider) and the good client. */
export async function simState(dir: string): Promise<string> {
  const stateDir = path.join(dir, 'state');
  const p = await createSimProvider({ stateDir });
  await p.close();
  return stateDir;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function fdList(pid: number): string {
  return readdirSync(`/proc/${pid}/fd`)
    .map((f) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${f}`);
      } catch {
        return '?';
      }
    })
    .join(' ');
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

export async function call<K extends Exclude<AesmRequest['kind'], 'legacy'>>(socket: string, req: AesmRequest & { kind: K }, timeoutMs = 15_000): Promise<Extract<AesmResponse, { kind: K }>> {
  const r = await rawExchange(socket, encodeFrame(encodeRequest(req, { timeoutMs: 15000 })), { timeoutMs });
  if (!r.body) throw new Error(r.error ? `connection error ${r.error}` : 'closed without a reply');
  if (r.bytes.length !== 4 + r.body.length) throw new Error('trailing bytes after the response frame');
  return decodeResponse(r.body, req.kind) as Extract<AesmResponse, { kind: K }>;
}

class AnsweredError extends Error {
  constructor(readonly code: number) {
    super(`errorCode ${code}`);
  }
}

/**
 * The well-behaved client: Intel's quote sequence (InitQuoteEx with pub key id, an EREPORT for the
 * QE, GetQuoteSizeEx, GetQuoteEx with the exact size), one connection per call, back to back.
 * A failure is a request without a well-formed errorCode-0 answer.
 */
export class GoodClient {
  tried = 0;
  failures = 0;
  /** Well-formed answers with errorCode != 0 (counted as failures unless `acceptErrors`). */
  errorAnswers = 0;
  readonly failureReasons = new Map<string, number>();
  private readonly latencies: number[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly socket: string,
    private readonly stateDir: string,
    private readonly gapMs = 5,
    /** Provider-fault scenarios: a clear error answer is the right outcome, only no answer is a failure. */
    private readonly acceptErrors = false,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  reset(): void {
    this.tried = 0;
    this.failures = 0;
    this.errorAnswers = 0;
    this.latencies.length = 0;
    this.failureReasons.clear();
  }

  p99Ms(): number {
    if (this.latencies.length === 0) return 0;
    const s = [...this.latencies].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
  }

  private async timed<T>(fn: () => Promise<T>): Promise<T | undefined> {
    this.tried++;
    const t0 = performance.now();
    try {
      const r = await fn();
      this.latencies.push(performance.now() - t0);
      return r;
    } catch (e) {
      if (e instanceof AnsweredError) {
        this.latencies.push(performance.now() - t0);
        return undefined;
      }
      this.failures++;
      const why = (e as Error).message;
      this.failureReasons.set(why, (this.failureReasons.get(why) ?? 0) + 1);
      return undefined;
    }
  }

  private async run(): Promise<void> {
    const platform = await SimPlatform.load(this.stateDir);
    const ok = <R extends { errorCode: number }>(r: R): R => {
      if (r.errorCode !== 0) {
        this.errorAnswers++;
        if (this.acceptErrors) throw new AnsweredError(r.errorCode);
        throw new Error(`errorCode ${r.errorCode}`);
      }
      return r;
    };
    while (this.running) {
      const init = await this.timed(async () => ok(await call(this.socket, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n })));
      if (init?.targetInfo) {
        const report = platform.ereport({
          mrEnclave: Buffer.alloc(32, 0xa1),
          mrSigner: Buffer.alloc(32, 0xb2),
          isvProdId: 1,
          isvSvn: 1,
          attributes: { flags: 0x05n, xfrm: 0xe7n },
          targetInfo: init.targetInfo,
          reportData: Buffer.alloc(64, 0x01),
        });
        const size = await this.timed(async () => ok(await call(this.socket, { kind: 'getQuoteSizeEx', attKeyId: KEY })).quoteSize ?? 0);
        if (size) {
          await this.timed(async () => {
            const q = ok(await call(this.socket, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: size }));
            if (q.quote?.length !== size) throw new Error(`quote of ${q.quote?.length} bytes, expected ${size}`);
          });
        }
      }
      await new Promise((r) => setTimeout(r, this.gapMs));
    }
  }
}

/** Run a load generator (test/reliability/load/socket-load.ts) as its own process; resolves with its JSON result. */
export function runLoad<T = Record<string, number>>(mode: string, params: Record<string, unknown>): { done: Promise<T>; kill: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/reliability/load/socket-load.ts'), mode, JSON.stringify(params)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<T>((resolve, reject) => {
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`load generator ${mode} exited ${code}: ${last}`));
      else {
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`load generator ${mode} printed no result: ${last}`));
        }
      }
    });
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

/** Sum of every sample of a counter (all label sets). */
export function metricSum(text: string, name: string, exclude: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(exclude).some(([k, v]) => labels[k] === v)) continue;
    sum += Number(m[3]);
  }
  return sum;
}

export interface ScenarioResult {
  tried: number;
  rejected: number;
  served: number;
  good: GoodClient;
  problems: string[];
  detail?: string;
}

/** Prints the scenario's one line; returns whether it passed. */
export function report(name: string, r: ScenarioResult): boolean {
  const ok = r.problems.length === 0;
  const extra = [`good-client requests ${r.good.tried}, p99 ${r.good.p99Ms().toFixed(1)} ms`, ...(r.detail ? [r.detail] : [])].join('; ');
  console.log(
    `${name}: tried ${r.tried}, rejected ${r.rejected}, served ${r.served}, good-client failures ${r.good.failures}, ` +
      (ok ? `daemon ok (${extra})` : `daemon FAILED: ${r.problems.join('; ')} (${extra})`),
  );
  if (r.good.failures > 0) for (const [why, n] of r.good.failureReasons) console.log(`  good-client failure x${n}: ${why}`);
  return ok;
}

/** Checks shared by every scenario: daemon alive, fds back to baseline, RSS bound, metrics agree. */
export async function checkDaemon(d: DaemonProcess, baselineFds: number, problems: string[], peakRss: number): Promise<string> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) {
    problems.push(`daemon exited (${d.child.exitCode ?? d.child.signalCode})`);
    return '';
  }
  const back = await until(() => fdCount(d.pid) <= baselineFds, 15_000);
  const fds = fdCount(d.pid);
  if (!back) problems.push(`daemon fds ${fds} did not return to baseline ${baselineFds}: ${fdList(d.pid)}`);
  if (peakRss > RSS_BOUND_MB) problems.push(`daemon RSS peaked at ${peakRss.toFixed(0)} MB, above the ${RSS_BOUND_MB} MB bound`);
  return `fds ${baselineFds}->${fds}, peak RSS ${peakRss.toFixed(0)} MB (bound ${RSS_BOUND_MB})`;
}

/** Samples the daemon's RSS every 100 ms until stopped; returns the peak. */
export function rssSampler(pid: number): { stop: () => number } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      /* exited: checkDaemon reports it */
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(t);
      return peak;
    },
  };
}

/** Good-client failure budget of abuse scenarios: at most 0.1 %. */
export function abuseBudgetExceeded(good: GoodClient): boolean {
  return good.failures > good.tried * 0.001;
}
