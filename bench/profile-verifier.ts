/**
 * `npm run build && node --import tsx --cpu-prof --cpu-prof-dir DIR bench/profile-verifier.ts [--tee SGX|TDX] [--mode warm|warm-no-memo|cold] [--seconds N]`
 *
 * Runs one verifier case of bench/verifier.ts in a loop (the built package in dist/, the same real quote
 * and collateral), for `node --cpu-prof`; summarise the main thread's profile (thread 0; tsx's loader
 * thread writes a second one) with `npx tsx bench/profile-summary.ts DIR/CPU.*.0.*.cpuprofile`.
 * Prints the CPU time per call. Modes: `warm` (one verifier, QE report signature memoised after the first
 * call), `warm-no-memo` (memoizeQeReportSignatures: false: two ECDSA verifies per call), `cold`
 * (createVerifier + first verification every call). docs/benchmarks.md "Profiling".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as PcsApi from '../src/pcs/index.js';
import type * as VerifyApi from '../src/verify/index.js';

const { values: args } = parseArgs({
  options: { tee: { type: 'string', default: 'SGX' }, mode: { type: 'string', default: 'warm' }, seconds: { type: 'string', default: '4' } },
});
const INPUTS: Record<string, { quote: string; collateral: string; at: string }> = {
  SGX: { quote: 'sgx_quote', collateral: 'sgx_quote_collateral.json', at: '2025-06-19T11:56:00Z' },
  TDX: { quote: 'tdx_quote', collateral: 'tdx_quote_collateral.json', at: '2025-06-19T12:00:00Z' },
};
const input = INPUTS[(args.tee ?? 'SGX').toUpperCase()];
const mode = args.mode ?? 'warm';
if (!input || !['warm', 'warm-no-memo', 'cold'].includes(mode)) {
  console.error('usage: bench/profile-verifier.ts [--tee SGX|TDX] [--mode warm|warm-no-memo|cold] [--seconds N]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = async <T>(m: string) => (await import(pathToFileURL(path.join(root, 'dist', m, 'index.js')).href)) as T;
const { collateralFromDcapQvlJson } = await built<typeof PcsApi>('pcs');
const { createVerifier } = await built<typeof VerifyApi>('verify');
const data = path.join(root, 'test', 'fixtures', 'testdata', 'dcap-qvl');
const quote = readFileSync(path.join(data, input.quote));
const collateral = collateralFromDcapQvlJson(JSON.parse(readFileSync(path.join(data, input.collateral), 'utf8')));
const now = new Date(input.at);
const warm = createVerifier({ collateral, now, memoizeQeReportSignatures: mode !== 'warm-no-memo' });
const first = await warm.verify(quote);
if (!first.ok) throw new Error(`verification failed: ${first.reason} ${first.message}`);
const once = mode === 'cold' ? () => createVerifier({ collateral, now }).verify(quote) : () => warm.verify(quote);

const end = performance.now() + Number(args.seconds) * 1000;
const cpu0 = process.cpuUsage();
let n = 0;
while (performance.now() < end) {
  for (let i = 0; i < 10; i++) await once();
  n += 10;
}
const cpu = process.cpuUsage(cpu0);
console.log(`${args.tee} ${mode}: ${n} verifications, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU each`);
