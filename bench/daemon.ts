/**
 * The daemon part of `npm run bench`: GetQuoteEx (real sim quote work) vs GetSupportedAttKeyIDNum (no
 * provider work), both over a real Unix socket with a new connection per request, N concurrent
 * clients, the daemon in its own process started from dist/ as production runs it. Alongside, the
 * daemon's RSS: idle after start-up, and its peak over the whole measurement (sampled from /proc).
 *
 * Ratios (camelCase keys of the results JSON; each the median of the ratios of adjacent canned/quote rounds):
 *   quoteVsCanned       quote req/s ÷ canned req/s (throughput)
 *   quoteCpuEfficiency  canned daemon CPU µs per request ÷ quote daemon CPU µs per request
 *   quoteEventLoopCpu   the same for the daemon's main thread only (what one event loop sustains)
 *   daemonRssMb         the daemon's peak RSS during the measurement, MB
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeResponse, encodeFrame, encodeRequest, FrameDecoder } from '../src/aesm/index.js';
import { SimPlatform } from '../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../src/sgx/index.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../src/daemon/node-flags.js';

export interface DaemonBenchOptions {
  repoRoot: string;
  /** Measurement time per request kind, split into `rounds` alternating canned/quote rounds. */
  seconds: number;
  rounds: number;
  clients: number;
  /** The daemon's --log-level (warn: no per-request line; info: one JSON line per request). */
  logLevel: string;
  /** Node flags for the daemon (default DAEMON_NODE_FLAGS, what production uses; [] for V8's defaults). */
  nodeFlags?: readonly string[];
  /** Write a V8 CPU profile of the daemon process into this directory (node --cpu-prof). */
  cpuProfDir?: string;
  /** Called after each measured kind (progress bar). */
  tick?: (step: string) => void;
}

export interface DaemonBenchRow {
  name: string;
  rate: number;
  unit: string;
  note?: string;
}

export interface DaemonBenchResult {
  rows: DaemonBenchRow[];
  ratios: Record<string, number>;
  detail: unknown;
}

/**
 * One request on a new connection. The load generator only counts reply bytes against the length
 * prefix (no frame copy): it shares the machine with the daemon, so its own cost per request should
 * be as small and as equal between request kinds as possible.
 */
function requestOnce(socketPath: string, frame: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let got = 0;
    let want = -1;
    let head: Buffer | undefined;
    sock.once('error', reject);
    sock.on('data', (chunk: Buffer) => {
      if (want < 0) {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        if (head.length < 4) return;
        want = 4 + head.readUInt32LE(0);
        got = head.length;
      } else {
        got += chunk.length;
      }
      if (got >= want) {
        sock.destroy();
        resolve(want - 4);
      }
    });
    sock.once('connect', () => sock.write(frame));
    sock.once('end', () => reject(new Error('daemon closed without a reply')));
  });
}

/** A whole reply body (setup requests whose content matters). */
function requestBody(socketPath: string, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder({ maxLength: 1 << 20 });
    const sock = net.createConnection(socketPath);
    sock.once('error', reject);
    sock.on('data', (chunk) => {
      const frames = decoder.push(chunk);
      if (frames.length > 0) {
        sock.destroy();
        resolve(frames[0]!);
      }
    });
    sock.once('connect', () => sock.write(frame));
    sock.once('end', () => reject(new Error('daemon closed without a reply')));
  });
}

/**
 * CPU seconds (user + system) used so far, from /proc (Linux): the whole process, or with `mainThread`
 * only its main thread (the event loop; its thread id is the pid).
 */
function cpuSeconds(pid: number, mainThread = false): number {
  const file = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  const fields = readFileSync(file, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command name: state is field 3, utime field 14, stime field 15 (man 5 proc); clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The daemon's resident set size now, MB (VmRSS from /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

interface LoadResult {
  rate: number;
  errors: number;
  /** Daemon process CPU (all threads, user + system) per completed request. */
  daemonCpuUs: number;
  /** Of that, the daemon's main thread (event loop): with one event loop, it bounds throughput. */
  eventLoopCpuUs: number;
  /** This (load generator) process's CPU per completed request. */
  clientCpuUs: number;
}

async function load(socketPath: string, frame: Buffer, durationS: number, daemonPid: number, clients: number): Promise<LoadResult> {
  const cpuBefore = cpuSeconds(daemonPid);
  const loopBefore = cpuSeconds(daemonPid, true);
  const clientBefore = process.cpuUsage();
  const deadline = performance.now() + durationS * 1000;
  let done = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await requestOnce(socketPath, frame);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, worker));
  const rate = done / ((performance.now() - start) / 1000);
  const client = process.cpuUsage(clientBefore);
  const n = Math.max(done, 1);
  return {
    rate,
    errors,
    daemonCpuUs: ((cpuSeconds(daemonPid) - cpuBefore) / n) * 1e6,
    eventLoopCpuUs: ((cpuSeconds(daemonPid, true) - loopBefore) / n) * 1e6,
    clientCpuUs: (client.user + client.system) / n,
  };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Medians over rounds; canned and quote alternate so a burst of outside load hits both alike. */
function summarise(results: LoadResult[]): LoadResult {
  return {
    rate: median(results.map((r) => r.rate)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    daemonCpuUs: median(results.map((r) => r.daemonCpuUs)),
    eventLoopCpuUs: median(results.map((r) => r.eventLoopCpuUs)),
    clientCpuUs: median(results.map((r) => r.clientCpuUs)),
  };
}

function waitForSocket(socketPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.createConnection(socketPath);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        if (Date.now() > deadline) reject(new Error(`daemon did not listen on ${socketPath}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** The daemon runs from dist/: refuse a missing build and warn about one older than src/. */
function checkBuild(repoRoot: string): void {
  const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) {
    console.error('bench: dist/cli/main.js is missing; run `npm run build` first (the daemon is benchmarked as its own process).');
    process.exit(2);
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (newest(path.join(repoRoot, 'src')) > statSync(main).mtimeMs) {
    console.error('bench: warning: src/ is newer than dist/; run `npm run build` to benchmark the current code.');
  }
}

export async function benchDaemon(opts: DaemonBenchOptions): Promise<DaemonBenchResult> {
  const { repoRoot, seconds, rounds, clients, nodeFlags = DAEMON_NODE_FLAGS } = opts;
  checkBuild(repoRoot);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sqh-bench-'));
  const stateDir = path.join(dir, 'state');
  const socketPath = path.join(dir, 'aesm.socket');
  let daemon: ChildProcess | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    const platform = await SimPlatform.init({ stateDir, tcbProfile: 'UpToDate' });
    daemon = spawn(
      process.execPath,
      [
        // The V8 heap settings production starts the daemon with (Dockerfile, Helm chart, npm start).
        ...nodeFlags,
        ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.cpuProfDir)] : []),
        path.join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--provider', 'sim', '--state-dir', stateDir, '--init',
        '--socket', socketPath, '--ops-listen', 'off', '--log-level', opts.logLevel,
      ],
      // stdout (the JSON log) goes to /dev/null: the daemon still formats and writes every line.
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...DAEMON_ENV } },
    );
    await waitForSocket(socketPath, 15_000);
    const pid = daemon.pid!;
    await new Promise((r) => setTimeout(r, 500));
    const idleRssMb = rssMb(pid);
    let peakRssMb = idleRssMb;
    rssTimer = setInterval(() => {
      try {
        peakRssMb = Math.max(peakRssMb, rssMb(pid));
      } catch {
        /* exited: the requests fail and say so */
      }
    }, 100);

    // The sequence a DCAP app runs: init the key, then quote a report targeted at the QE.
    const init = await requestBody(socketPath, encodeFrame(encodeRequest({ kind: 'initQuoteEx', attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID, bPubKeyId: true, bufSize: 32n })));
    if (init.length === 0) throw new Error('InitQuoteEx failed');
    const report = platform.ereport({
      targetInfo: platform.qeTargetInfo(),
      mrEnclave: Buffer.alloc(32, 0xaa),
      mrSigner: Buffer.alloc(32, 0xbb),
      isvProdId: 1,
      isvSvn: 1,
      attributes: { flags: 0x05n, xfrm: 0xe7n },
      reportData: Buffer.alloc(64, 0x42),
    });
    // buf_size = the exact quote size, as Intel's DCAP library asks (GetQuoteSizeEx first).
    const sizeReply = decodeResponse(
      await requestBody(socketPath, encodeFrame(encodeRequest({ kind: 'getQuoteSizeEx', attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID }))),
      'getQuoteSizeEx',
    );
    if (sizeReply.kind !== 'getQuoteSizeEx' || sizeReply.errorCode !== 0 || !sizeReply.quoteSize) throw new Error('GetQuoteSizeEx failed');
    const quoteFrame = encodeFrame(encodeRequest({ kind: 'getQuoteEx', report, attKeyId: DEFAULT_ECDSA_P256_ATT_KEY_ID, bufSize: sizeReply.quoteSize }));
    const cannedFrame = encodeFrame(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }));

    // The reply must be a real quote, or the numbers mean nothing.
    const probe = decodeResponse(await requestBody(socketPath, quoteFrame), 'getQuoteEx');
    if (probe.kind !== 'getQuoteEx' || probe.errorCode !== 0 || !probe.quote?.length) throw new Error(`GetQuoteEx failed: ${JSON.stringify({ errorCode: probe.errorCode })}`);

    await load(socketPath, cannedFrame, 0.3, pid, clients); // warm-up (JIT)
    await load(socketPath, quoteFrame, 0.3, pid, clients);
    const cannedRuns: LoadResult[] = [];
    const quoteRuns: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      cannedRuns.push(await load(socketPath, cannedFrame, seconds / rounds, pid, clients));
      quoteRuns.push(await load(socketPath, quoteFrame, seconds / rounds, pid, clients));
    }
    clearInterval(rssTimer);
    peakRssMb = Math.max(peakRssMb, rssMb(pid));
    const canned = summarise(cannedRuns);
    opts.tick?.('daemon canned');
    const quote = summarise(quoteRuns);
    opts.tick?.('daemon quote');
    const cpuNote = (r: LoadResult) =>
      `${r.errors} errors; CPU per request: daemon ${r.daemonCpuUs.toFixed(0)} µs (event loop ${r.eventLoopCpuUs.toFixed(0)}), load generator ${r.clientCpuUs.toFixed(0)} µs`;
    const rows: DaemonBenchRow[] = [
      { name: `daemon GetSupportedAttKeyIDNum (${clients} clients)`, rate: canned.rate, unit: 'req/s', note: cpuNote(canned) },
      { name: `daemon GetQuoteEx, sim quote (${clients} clients)`, rate: quote.rate, unit: 'req/s', note: cpuNote(quote) },
      { name: 'daemon RSS, peak during the load', rate: peakRssMb, unit: 'MB', note: `idle after start-up ${idleRssMb.toFixed(1)} MB` },
    ];
    // Each ratio is the median of the per-round ratios: a canned round and the quote round right after
    // it ran under the same outside load, so their ratio is steadier than a ratio of medians.
    const pairRatio = (f: (canned: LoadResult, quote: LoadResult) => number) => median(cannedRuns.map((c, i) => f(c, quoteRuns[i]!)));
    const ratios = {
      quoteVsCanned: pairRatio((c, q) => q.rate / c.rate),
      // The load generator shares the machine's cores; the daemon's own CPU per request isolates its cost.
      quoteCpuEfficiency: pairRatio((c, q) => c.daemonCpuUs / q.daemonCpuUs),
      // What one event loop can sustain: throughput tracks this while the loop is the bottleneck.
      quoteEventLoopCpu: pairRatio((c, q) => c.eventLoopCpuUs / q.eventLoopCpuUs),
      daemonRssMb: peakRssMb,
    };
    return { rows, ratios, detail: { rounds, nodeFlags, idleRssMb, peakRssMb, canned, quote, cannedRuns, quoteRuns } };
  } finally {
    if (rssTimer) clearInterval(rssTimer);
    daemon?.kill('SIGTERM');
    await new Promise((r) => (daemon && daemon.exitCode === null ? daemon.once('exit', r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}
