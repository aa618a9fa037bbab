/**
 * `npm run build && npm run bench [-- --quick] [--daemon-only] [--clients N] [--log-level L] [--cpu-prof DIR] [--out FILE]`
 *
 * Measures the hot paths against a baseline taken in the same run, so the ratios mean something on
 * any machine (absolute numbers drift between machines; see docs/benchmarks.md):
 *   1. daemon (bench/daemon.ts): GetQuoteEx (real sim quote work) vs GetSupportedAttKeyIDNum (no
 *      provider work), both over a real Unix socket with a new connection per request, 8 concurrent
 *      clients, daemon in its own process; and the daemon's RSS. Ratios quoteVsCanned,
 *      quoteCpuEfficiency, quoteEventLoopCpu, daemonRssMb.
 *   2. verifier (bench/verifier.ts): node:crypto ECDSA-P256 sign/verify, our warm and cold verification of a
 *      real SGX v3 and TDX v4 quote, @phala/dcap-qvl 0.3.9 on the same quotes and collateral;
 *   3. parser: parseQuote vs @phala/dcap-qvl's Quote.parse (same module).
 *   4. attestation service: whole attestations (parse, bind, verify with warm collateral, claims,
 *      sign the token) per second, RS256 and ES256, beside the verifier's own rate and the raw
 *      JWS signing rate of the same keys, all in this run.
 * Prints a table and writes JSON (default bench/results/bench-<time>.json).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collateralFromDcapQvlJson } from '../src/pcs/index.js';
import { createVerifier } from '../src/verify/index.js';
import { Attester, KeyRing, base64url, defaultPolicy, ensureStateKeys, signJws, type JwsAlgorithm } from '../src/attest/index.js';
import { Progress } from './progress.js';
import { benchDaemon as runDaemonBench, median } from './daemon.js';
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
/** Daemon canned/quote round pairs (each pair gives one ratio; the median is reported). */
const daemonRounds = quick ? 6 : 10;
// Progress steps: two for the daemon part, three for the verifier part, one per attestation round.
const progress = new Progress(args['daemon-only'] ? 2 : 5 + rounds);

// ---------------------------------------------------------------------------------------------
// 1. Daemon: quote work vs canned reply, one connection per request, and the daemon's RSS (bench/daemon.ts).

async function benchDaemon(): Promise<void> {
  // More, shorter rounds than the other parts: each canned/quote pair gives one ratio, and the median
  // of many pairs is what survives a shared machine's bursts.
  const r = await runDaemonBench({ repoRoot, seconds, rounds: daemonRounds, clients, logLevel: args['log-level'] ?? 'warn', cpuProfDir: args['cpu-prof'], tick: (s) => progress.tick(s) });
  rows.push(...r.rows);
  Object.assign(ratios, r.ratios);
  daemonDetail = r.detail;
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
for (const [k, v] of Object.entries(ratios)) console.log(`${k.padEnd(width)}  ${(Math.abs(v) < 0.1 ? v.toFixed(4) : v.toFixed(2)).padStart(10)}`);

const out = args.out ?? path.join(repoRoot, 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ quick, node: process.version, cpus: os.cpus().length, clients, logLevel: args['log-level'], rows, ratios, daemon: daemonDetail }, null, 2)}\n`);
console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
