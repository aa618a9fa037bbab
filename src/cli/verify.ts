import { Option, type Command } from 'commander';
import { constants as fsConstants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import {
  VerifierConfigError,
  createVerifier,
  type Policy,
  type VerificationResult,
  type VerificationStatus,
} from '../verify/index.js';
import { collateralFromFlags, readTrustRoots, type CollateralChoice } from './collateral-options.js';
import { CliError, EXIT_BAD_INPUT, EXIT_COLLATERAL, EXIT_FAILURE } from './cli-error.js';
import { parseSecondsFlag } from './durations.js';
import { chainsToSimulatedRoot, decodeInput } from './inspect.js';
import { parseQuote } from '../sgx/index.js';

interface VerifyCliOptions {
  json?: boolean;
  collateralBundle?: string;
  collateralUrl?: string;
  cache?: string;
  trustRoot?: string[];
  at?: string;
  acceptStatus?: string;
  acceptAdvisory?: string;
  mrenclave?: string[];
  mrsigner?: string[];
  mrtd?: string[];
  isvProdId?: string;
  minIsvSvn?: string;
  allowDebug?: boolean;
  allowExpiredCollateral?: boolean;
  maxCollateralAge?: string;
  allowTrailingData?: boolean;
  cacheMaxAge?: string;
  progress?: boolean;
}

const STATUSES: VerificationStatus[] = [
  'UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate',
  'OutOfDateConfigurationNeeded', 'TDRelaunchAdvised', 'TDRelaunchAdvisedConfigurationNeeded', 'Revoked',
  'TcbLevelNotSupported', 'InvalidSignature', 'Invalid',
];

/** Files in a directory argument that are collateral or keys, not quotes. */
const NOT_QUOTES = /\.(json|pem|der|crl|txt|md|key|sqlite)$/i;

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('verify')
    .description('Verify SGX/TDX quotes (v3, v4, v5) against collateral, Intel QVL order; exit 0 only when the policy accepts every quote')
    .argument('<quote...>', 'quote files (binary, hex or base64) or directories of them')
    .option('--json', 'print JSON: one object per quote (an array for several)')
    .option('--collateral-bundle <file>', 'collateral from a file: dcap-qvl QuoteCollateralV3 JSON, our bundle, or a JSON array of them')
    .option('--collateral-url <url>', 'collateral from a PCS v4-shaped service (Intel PCS, a PCCS, Azure THIM, `collateral serve`)')
    .option('--cache <file>', 'with --collateral-url: go through this SQLite collateral cache (default: $SQH_COLLATERAL_CACHE if set)')
    .option('--cache-max-age <age>', 'with --cache: refetch a cached item once it is this old, even before its nextUpdate (seconds, or e.g. 12h)')
    .option('--trust-root <file>', "trusted root certificate (PEM or DER), repeatable; replaces Intel's root — use the word 'intel' to keep it", collect)
    .option('--at <time>', 'verify as of this ISO 8601 time (default: now)')
    .option('--accept-status <list>', `comma-separated statuses the policy accepts (default: UpToDate,SWHardeningNeeded,ConfigurationNeeded,ConfigurationAndSWHardeningNeeded)`)
    .option('--accept-advisory <list>', 'comma-separated advisory IDs the policy accepts (default: any)')
    .option('--mrenclave <hex>', 'expected MRENCLAVE (repeatable: any of them)', collect)
    .option('--mrsigner <hex>', 'expected MRSIGNER (repeatable)', collect)
    .option('--mrtd <hex>', 'expected TD measurement MRTD (repeatable)', collect)
    .option('--isv-prod-id <n>', 'expected ISV product id')
    .option('--min-isv-svn <n>', 'minimum ISV SVN')
    .option('--allow-debug', 'accept DEBUG enclaves / debuggable TDs')
    .option('--allow-expired-collateral', 'accept collateral past its nextUpdate/notAfter (reported either way)')
    .option('--max-collateral-age <age>', 'reject collateral issued longer ago than this (seconds, or e.g. 12h, 30d)')
    .option('--allow-trailing-data', 'accept non-zero bytes after the quote (reported either way; zero padding is always accepted)')
    .addOption(new Option('--no-progress', 'never show a progress bar'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  sgx-quote-helper verify quote.bin --collateral-bundle collateral.json\n' +
        '  sgx-quote-helper verify quotes/ --collateral-url https://api.trustedservices.intel.com --json\n' +
        '  sgx-quote-helper verify sim.quote --collateral-bundle sim.json --trust-root sim-root.pem   # reported SIMULATED\n' +
        '\nExit codes: 0 every quote verified and the policy accepted it, 1 a quote was rejected, 2 bad input or usage,\n' +
        '  3 collateral could not be fetched (service unreachable, timed out or without this platform\'s collateral).',
    )
    .action(async (inputs: string[], o: VerifyCliOptions) => {
      const code = await runVerify(inputs, o);
      if (code !== 0) process.exitCode = code;
    });
}

function parseTime(v: string): Date {
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) {
    throw new CliError(`--at ${JSON.stringify(v)} is not an ISO 8601 time (e.g. 2025-06-19T12:00:00Z)`, EXIT_BAD_INPUT);
  }
  return d;
}

const parseAge = (v: string, flag = '--max-collateral-age') => parseSecondsFlag(v, flag, { example: '30d' });

function parseUint(v: string, flag: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) > max) throw new CliError(`${flag} ${JSON.stringify(v)} must be an integer 0..${max}`, EXIT_BAD_INPUT);
  return Number(v);
}

function parseHexList(list: string[] | undefined, bytes: number, flag: string): string[] | undefined {
  if (!list) return undefined;
  return list.map((h) => {
    const s = h.replace(/^0x/i, '');
    if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) throw new CliError(`${flag} ${JSON.stringify(h)} must be ${bytes * 2} hex digits`, EXIT_BAD_INPUT);
    return s.toLowerCase();
  });
}

export function policyFromOptions(o: VerifyCliOptions): Policy {
  const p: Policy = {};
  if (o.acceptStatus) {
    const list = o.acceptStatus.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of list) {
      if (!STATUSES.includes(s as VerificationStatus)) throw new CliError(`--accept-status: unknown status ${JSON.stringify(s)} (one of ${STATUSES.join(', ')})`, EXIT_BAD_INPUT);
    }
    p.acceptedStatuses = list as VerificationStatus[];
  }
  if (o.acceptAdvisory !== undefined) p.acceptedAdvisoryIds = o.acceptAdvisory.split(',').map((s) => s.trim()).filter(Boolean);
  const mre = parseHexList(o.mrenclave, 32, '--mrenclave');
  if (mre) p.mrEnclave = mre;
  const mrs = parseHexList(o.mrsigner, 32, '--mrsigner');
  if (mrs) p.mrSigner = mrs;
  const mrtd = parseHexList(o.mrtd, 48, '--mrtd');
  if (mrtd) p.mrTd = mrtd;
  if (o.isvProdId !== undefined) p.isvProdId = parseUint(o.isvProdId, '--isv-prod-id', 0xffff);
  if (o.minIsvSvn !== undefined) p.minIsvSvn = parseUint(o.minIsvSvn, '--min-isv-svn', 0xffff);
  if (o.allowDebug) p.allowDebug = true;
  if (o.allowExpiredCollateral) p.allowExpiredCollateral = true;
  if (o.maxCollateralAge !== undefined) p.maxCollateralAgeSeconds = parseAge(o.maxCollateralAge);
  // A second quote or random bytes glued to a quote are suspicious; the CLI rejects them unless told otherwise.
  p.rejectNonZeroTrailingData = !o.allowTrailingData;
  return p;
}

function collateralOptions(o: VerifyCliOptions): Promise<CollateralChoice> {
  const maxAgeSeconds = o.cacheMaxAge === undefined ? undefined : parseAge(o.cacheMaxAge, '--cache-max-age');
  return collateralFromFlags(o, { missing: 'no collateral: give --collateral-bundle FILE or --collateral-url URL', ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}) });
}

/** Largest quote file read (binary, hex or base64): real quotes with their PCK chain are ~5–10 KB. */
export const MAX_QUOTE_INPUT_BYTES = 1024 * 1024;

/** One input of the run: a file path (or `-` for stdin), or why it could not even be listed. */
interface Input {
  file: string;
  error?: string;
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const NOT_REGULAR = 'give a quote file, a directory of them, or - for stdin';

/** Expand directory arguments (their quote files, sorted, not recursive). Problems stay with their input. */
async function quoteInputs(inputs: string[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push({ file: '-' });
      continue;
    }
    let st;
    try {
      st = await stat(input);
    } catch (e) {
      out.push({ file: input, error: `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}` });
      continue;
    }
    if (st.isFile()) {
      out.push({ file: input });
      continue;
    }
    if (!st.isDirectory()) {
      out.push({ file: input, error: `${kindOf(st)}, not read: ${NOT_REGULAR}` });
      continue;
    }
    const entries = (await readdir(input, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && !NOT_QUOTES.test(e.name))
      .map((e) => join(input, e.name))
      .sort();
    if (entries.length === 0) out.push({ file: input, error: 'directory holds no quote files' });
    out.push(...entries.map((file) => ({ file })));
  }
  return out;
}

const tooBig = `larger than ${MAX_QUOTE_INPUT_BYTES} bytes: not a quote`;

/** stdin, at most MAX_QUOTE_INPUT_BYTES. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin) {
    n += (chunk as Buffer).length;
    if (n > MAX_QUOTE_INPUT_BYTES) {
      process.stdin.destroy();
      throw new Error(tooBig);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A regular file, at most MAX_QUOTE_INPUT_BYTES. Opened non-blocking and checked again on the open
 * descriptor, so a path swapped for a FIFO or device after listing is refused instead of blocking.
 */
async function readQuoteFile(file: string): Promise<Buffer> {
  const fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${kindOf(st)}, not read: ${NOT_REGULAR}`);
    if (st.size > MAX_QUOTE_INPUT_BYTES) throw new Error(tooBig);
    const buf = Buffer.alloc(MAX_QUOTE_INPUT_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_QUOTE_INPUT_BYTES) throw new Error(tooBig);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** The quote bytes of one input, or a one-line reason it has none. */
async function loadQuote(input: Input): Promise<{ bytes: Buffer } | { error: string }> {
  if (input.error) return { error: input.error };
  const label = input.file === '-' ? 'stdin' : input.file;
  let raw: Buffer;
  try {
    raw = input.file === '-' ? await readStdin() : await readQuoteFile(input.file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code ? `cannot read (${code}): ${(e as Error).message}` : (e as Error).message };
  }
  try {
    return { bytes: decodeInput(raw, label).bytes };
  } catch (e) {
    if (e instanceof CliError) return { error: e.message.startsWith(`${label}: `) ? e.message.slice(label.length + 2) : e.message };
    throw e;
  }
}

type FileResult = VerificationResult & { file: string; hint?: string; inputError?: string };

async function runVerify(inputs: string[], o: VerifyCliOptions): Promise<number> {
  const policy = policyFromOptions(o);
  const now = o.at ? parseTime(o.at) : undefined;
  const roots = await readTrustRoots(o.trustRoot);
  const files = await quoteInputs(inputs);
  if (files.filter((f) => f.file === '-').length > 1) throw new CliError('stdin (-) can be given only once', EXIT_BAD_INPUT);
  const coll = await collateralOptions(o);
  let verifier;
  try {
    verifier = createVerifier({ ...coll, ...(roots ? { trustedRoots: roots } : {}), ...(now ? { now } : {}), policy });
  } catch (e) {
    coll.close?.();
    if (e instanceof VerifierConfigError) throw new CliError(`--trust-root: ${e.message}`, EXIT_BAD_INPUT);
    throw e;
  }
  const showBar = o.progress !== false && process.stderr.isTTY === true && files.length >= 10;
  const bar = showBar ? new cliProgress.SingleBar({ stream: process.stderr, format: 'verifying [{bar}] {value}/{total} quotes' }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(files.length, 0);
  const results: FileResult[] = [];
  try {
    // One result per input: an unreadable or undecodable input is reported and the others still run.
    for (const input of files) {
      const loaded = await loadQuote(input);
      if ('error' in loaded) {
        const failed = await verifier.verify(Buffer.alloc(0));
        results.push({ file: input.file, ...failed, message: loaded.error, inputError: loaded.error });
      } else {
        const result = await verifier.verify(loaded.bytes);
        const hint = result.reason === 'PCK_CHAIN_UNTRUSTED' && quoteChainsToSimulatedRoot(loaded.bytes) ? SIMULATED_ROOT_HINT : undefined;
        results.push({ file: input.file, ...result, ...(hint ? { hint } : {}) });
      }
      bar?.increment();
    }
  } finally {
    bar?.stop();
    coll.close?.();
  }
  if (o.json) {
    const view = results.map((r) => ({ ...r, qvResultHex: `0x${r.qvResult.toString(16).toUpperCase().padStart(4, '0')}` }));
    process.stdout.write(`${JSON.stringify(view.length === 1 ? view[0] : view, null, 2)}\n`);
  } else {
    process.stdout.write(results.map(renderText).join('\n'));
  }
  if (results.some((r) => r.reason === 'QUOTE_FORMAT')) return EXIT_BAD_INPUT;
  if (results.some((r) => r.reason === 'COLLATERAL_UNAVAILABLE')) return EXIT_COLLATERAL;
  return results.every((r) => r.accepted) ? 0 : EXIT_FAILURE;
}

const SIMULATED_ROOT_HINT =
  'this quote chains to a SIMULATED root (sgx-quote-helper sim); to check it anyway, pass that root explicitly: --trust-root <file from `sim root`>';

/** True when the quote's PCK chain ends in a root our simulator issued (see inspect). */
function quoteChainsToSimulatedRoot(quote: Buffer): boolean {
  try {
    return chainsToSimulatedRoot(parseQuote(quote));
  } catch {
    return false; // unparseable quotes already carry their own reason
  }
}

function renderText(r: FileResult): string {
  const lines: string[] = [];
  if (r.inputError) return `${r.file}: REJECTED — not verified: ${r.inputError}\n`;
  const code = `0x${r.qvResult.toString(16).toUpperCase().padStart(4, '0')} ${r.qvResultName}`;
  const sim = r.simulated ? 'SIMULATED (non-Intel trust root) ' : '';
  if (r.reason === 'COLLATERAL_UNAVAILABLE') {
    // Nothing was judged: say so instead of calling the quote invalid.
    lines.push(`${r.file}: NOT VERIFIED — collateral fetch failed`, `  ${r.message}`);
    return `${lines.join('\n')}\n`;
  }
  const verdict = r.accepted ? 'ACCEPTED' : 'REJECTED';
  lines.push(`${r.file}: ${verdict} — ${sim}${r.status} (${code})`);
  if (!r.ok) lines.push(`  failed check: ${r.reason}: ${r.message}`);
  // Why the policy said no comes first, before the details it is about.
  for (const v of r.policyViolations) if (v.code !== 'VERIFICATION_FAILED') lines.push(`  rejected by policy: ${v.code}: ${v.message}`);
  if (r.hint) lines.push(`  hint: ${r.hint}`);
  if (r.advisoryIds.length) lines.push(`  advisories: ${r.advisoryIds.join(', ')}`);
  const platform = [
    r.quoteVersion ? `quote v${r.quoteVersion} ${r.teeType}` : undefined,
    r.fmspc ? `FMSPC ${r.fmspc}${r.caType ? ` (${r.caType} CA)` : ''}` : undefined,
    r.tcbDate ? `TCB date ${r.tcbDate.slice(0, 10)}` : undefined,
    r.platformStatus ? `platform ${r.platformStatus}` : undefined,
    r.qeStatus ? `QE ${r.qeStatus}` : undefined,
    r.tdxModuleStatus ? `TDX module ${r.tdxModuleStatus}` : undefined,
  ].filter(Boolean);
  if (platform.length) lines.push(`  ${platform.join(', ')}`);
  if (r.enclave) {
    const e = r.enclave;
    lines.push(`  MRENCLAVE ${e.mrEnclave}`, `  MRSIGNER  ${e.mrSigner}`);
    lines.push(`  ISV prod id ${e.isvProdId}, ISV SVN ${e.isvSvn}, attributes ${e.attributes}, DEBUG ${e.debug ? 'yes' : 'no'}`);
    lines.push(`  report data ${e.reportData}`);
  }
  if (r.td) {
    lines.push(`  MRTD ${r.td.mrTd}`, `  TD attributes ${r.td.tdAttributes}, DEBUG ${r.td.debug ? 'yes' : 'no'}`);
    lines.push(`  report data ${r.td.reportData}`);
  }
  if (r.collateralExpired) {
    for (const x of r.expiredCollateral) {
      lines.push(`  collateral expired: ${x.item} (${x.reason}, valid ${x.notBefore?.slice(0, 19) ?? '…'} → ${x.notAfter?.slice(0, 19) ?? '…'})`);
    }
  }
  if (r.trailingDataLength) {
    lines.push(`  trailing data: ${r.trailingDataLength} bytes after the quote (${r.trailingDataAllZero ? 'all zero' : 'NOT all zero'})`);
  }
  if (r.collateralStale) lines.push('  collateral source served stale collateral (past nextUpdate)');
  return `${lines.join('\n')}\n`;
}
