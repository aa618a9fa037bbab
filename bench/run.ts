/**
 * `npm run build && npm run bench [-- --quick] [--daemon-only] [--clients N] [--log-level L] [--cpu-prof DIR] [--out FILE]`
 *
 * Measures the hot paths against a baseline taken in the same run, so the ratios mean something on
 * any machine (absolute numbers drift between machines; see docs/benchmarks.md):
 *   1. daemon: GetQuoteEx (real sim quote work) vs GetSupportedAttKeyIDNum (no provider work), both
 *      over a real Unix socket with a new connection per request, 8 concurrent clients, daemon in its
 *      own process. Design goal: quote/canned >= 0.7.
 *   2. verifier (bench/verifier.ts): node:crypto ECDSA-P256 sign/verify, our warm and cold verification of a
 *      real SGX v3 and TDX v4 quote, @phala/dcap-qvl 0.3.9 on the same quotes and collateral;
 *   3. parser: parseQuote vs @phala/dcap-qvl's Quote.parse (same module).
 *   4. attestation service: whole attestations (parse, bind, verify with warm collateral, claims,
 *      sign the token) per second, RS256 and ES256, beside the verifier's own rate and the raw
 *      JWS signing rate of the same keys, all in this run.
 * Prints a table and writes JSON (default bench/results/bench-<time>.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeResponse, encodeFrame, encodeRequest, FrameDecoder } from '../src/aesm/index.js';
import { SimPlatform } from '../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../src/sgx/index.js';
import { collateralFromDcapQvlJson } from '../src/pcs/index.js';
import { createVerifier } from '../src/verify/index.js';
import { Attester, KeyRing, base64url, defaultPolicy, ensureStateKeys, signJws, type JwsAlgorithm } from '../src/attest/index.js';
import { Progress } from './progress.js';
import { benchVerifier, rateOf } from './verifier.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    clients: { type: 'string', default: '8' },
    // Write a V8 CPU profile of the daemon process into this directory (node --cpu-prof).
    'cpu-prof': { type: 'string' },
    // Run only the daemon part (for profiling and quick before/after comparisons).
    'daemon-only': { type: 'boolean', default: false },
    // The daemon's --log-level (warn: no per-request line; info: one JSON line per request).
    'log-level': { type: 'string', default: 'warn' },
  },
});
const quick = args.quick ?? false;
/** Daemon measurement time per request kind (split into rounds). */
const seconds = quick ? 3 : 10;
const verifySeconds = quick ? 1.5 : 5;
/** Alternating canned/quote rounds per daemon measurement (each gets seconds / rounds). */
const rounds = quick ? 3 : 5;
const clients = Number(args.clients);
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const testdata = path.resolve(repoRoot, 'test', 'fixtures', 'testdata');

interface Row {
  name: string;
  rate: number;
  unit: string;
  note?: string;
}
const rows: Row[] = [];
const ratios: Record<string, number> = {};
let daemonDetail: unknown;
const progress = new Progress(args['daemon-only'] ? 2 : 5 + rounds);

// ---------------------------------------------------------------------------------------------
// 1. Daemon: quote work vs canned reply, one connection per request.

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

async function load(socketPath: string, frame: Buffer, durationS: number, daemonPid: number): Promise<LoadResult> {
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

const median = (xs: number[]) => {
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
function checkBuild(): void {
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

async function benchDaemon(): Promise<void> {
  checkBuild();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sqh-bench-'));
  const stateDir = path.join(dir, 'state');
  const socketPath = path.join(dir, 'aesm.socket');
  let daemon: ChildProcess | undefined;
  try {
    const platform = await SimPlatform.init({ stateDir, tcbProfile: 'UpToDate' });
    daemon = spawn(
      process.execPath,
      [...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof'])] : []),
        path.join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--provider', 'sim', '--state-dir', stateDir, '--init',
        '--socket', socketPath, '--ops-listen', 'off', '--log-level', args['log-level'] ?? 'warn'],
      // stdout (the JSON log) goes to /dev/null: the daemon still formats and writes every line.
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await waitForSocket(socketPath, 15_000);

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

    const pid = daemon.pid!;
    await load(socketPath, cannedFrame, 0.3, pid); // warm-up (JIT)
    await load(socketPath, quoteFrame, 0.3, pid);
    const cannedRuns: LoadResult[] = [];
    const quoteRuns: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      cannedRuns.push(await load(socketPath, cannedFrame, seconds / rounds, pid));
      quoteRuns.push(await load(socketPath, quoteFrame, seconds / rounds, pid));
    }
    const canned = summarise(cannedRuns);
    progress.tick('daemon canned');
    const quote = summarise(quoteRuns);
    progress.tick('daemon quote');
    const cpuNote = (r: LoadResult) =>
      `${r.errors} errors; CPU per request: daemon ${r.daemonCpuUs.toFixed(0)} µs (event loop ${r.eventLoopCpuUs.toFixed(0)}), load generator ${r.clientCpuUs.toFixed(0)} µs`;
    rows.push({ name: `daemon GetSupportedAttKeyIDNum (${clients} clients)`, rate: canned.rate, unit: 'req/s', note: cpuNote(canned) });
    rows.push({ name: `daemon GetQuoteEx, sim quote (${clients} clients)`, rate: quote.rate, unit: 'req/s', note: cpuNote(quote) });
    ratios['daemon quote / canned (throughput)'] = quote.rate / canned.rate;
    // The load generator shares the machine's cores; the daemon's own CPU per request isolates its cost.
    ratios['daemon quote / canned (daemon CPU efficiency)'] = canned.daemonCpuUs / quote.daemonCpuUs;
    // What one event loop can sustain: throughput tracks this while the loop is the bottleneck.
    ratios['daemon quote / canned (event-loop CPU)'] = canned.eventLoopCpuUs / quote.eventLoopCpuUs;
    daemonDetail = { rounds, canned, quote, cannedRuns, quoteRuns };
  } finally {
    daemon?.kill('SIGTERM');
    await new Promise((r) => (daemon ? daemon.once('exit', r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. Verifier (warm, cold) and parser against @phala/dcap-qvl and the ECDSA floor: bench/verifier.ts.

// ---------------------------------------------------------------------------------------------
// 4. Attestation service: the Attester (what POST /attest/SgxEnclave runs, without HTTP) on the same
// real quote and warm collateral as the verifier rows, and the raw signing cost of its keys.

async function benchAttest(): Promise<void> {
  const quote = readFileSync(path.join(testdata, 'dcap-qvl', 'sgx_quote'));
  const collateral = collateralFromDcapQvlJson(JSON.parse(readFileSync(path.join(testdata, 'dcap-qvl', 'sgx_quote_collateral.json'), 'utf8')));
  const verifyAt = new Date('2025-06-19T11:56:00Z');
  const issuer = 'https://attest.bench.invalid';
  const body = { quote: base64url(quote) };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sqh-bench-attest-'));
  const payload = { iss: issuer, 'x-ms-sgx-mrenclave': '00'.repeat(32), 'x-ms-sgx-mrsigner': '11'.repeat(32), exp: 0, iat: 0, nbf: 0 };
  try {
    // Every case is a thunk; they run in alternating rounds and the medians are reported, so a burst
    // of outside load (this machine is shared) hits all of them alike and the ratios stay meaningful.
    const verifier = createVerifier({ collateral, now: verifyAt });
    const cases: Record<string, () => unknown> = { verify: () => verifier.verify(quote) };
    const status: Record<string, string> = {};
    for (const alg of ['RS256', 'ES256'] as JwsAlgorithm[]) {
      const stateDir = path.join(dir, alg);
      await ensureStateKeys({ stateDir, issuer, alg });
      const keys = new KeyRing({ kind: 'state', stateDir }, 3600);
      keys.reload();
      const key = keys.active!;
      const attester = new Attester({ issuer, keys, policy: defaultPolicy(), collateral, verifyAt });
      const probe = await attester.attest('SgxEnclave', body); // a real token, or the numbers mean nothing
      const header = JSON.parse(Buffer.from(probe.token.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: string };
      if (probe.token.split('.').length !== 3 || header.alg !== alg) throw new Error(`attester returned no ${alg} token`);
      status[alg] = probe.result.status;
      cases[`attest ${alg}`] = () => attester.attest('SgxEnclave', body);
      cases[`sign ${alg}`] = () => signJws({ alg, kid: key.kid, typ: 'JWT' }, payload, key.privateKey!);
    }
    const runs: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let i = 0; i < rounds; i++) {
      for (const [k, fn] of Object.entries(cases)) runs[k]!.push(await rateOf(fn, verifySeconds / rounds));
      progress.tick(`attest round ${i + 1}`);
    }
    const rate = (k: string) => median(runs[k]!);
    rows.push({ name: 'attest: verifier alone, same quote + collateral', rate: rate('verify'), unit: 'quotes/s' });
    for (const alg of ['RS256', 'ES256']) {
      rows.push({ name: `attest SGX quote → ${alg} token, warm collateral`, rate: rate(`attest ${alg}`), unit: 'attestations/s', note: status[alg] });
      rows.push({ name: `raw ${alg} JWS signing (same key, small payload)`, rate: rate(`sign ${alg}`), unit: 'tokens/s' });
      ratios[`attest ${alg} / verifier alone`] = rate(`attest ${alg}`) / rate('verify');
      ratios[`attest ${alg} / raw ${alg} signing`] = rate(`attest ${alg}`) / rate(`sign ${alg}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

await benchDaemon();
if (!args['daemon-only']) {
  await benchVerifier({ quick, rounds, testdata, rows, ratios, progress });
  await benchAttest();
}
progress.done();

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`\nsgx-quote-helper benchmarks (${quick ? 'quick' : 'full'}; node ${process.version}; ${os.cpus().length} cpus)\n`);
for (const r of rows) console.log(`${r.name.padEnd(width)}  ${fmt(r.rate).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
console.log('');
for (const [k, v] of Object.entries(ratios)) console.log(`${k.padEnd(width)}  ${v.toFixed(2).padStart(10)}`);

const out = args.out ?? path.join(repoRoot, 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ quick, node: process.version, cpus: os.cpus().length, clients, logLevel: args['log-level'], rows, ratios, daemon: daemonDetail }, null, 2)}\n`);
console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
