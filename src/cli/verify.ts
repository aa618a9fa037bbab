import { Option, type Command } from 'commander';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { CollateralCache, createBundleSource, createPcsClient, createPcsCollateralSource, PcsError } from '../pcs/index.js';
import type { Collateral, CollateralSource } from '../pcs/types.js';
import {
  INTEL_SGX_ROOT_CA_PEM,
  VerifierConfigError,
  createVerifier,
  type Policy,
  type VerificationResult,
  type VerificationStatus,
} from '../verify/index.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { decodeInput } from './inspect.js';
import { X509Certificate } from 'node:crypto';
import { parseQuote, pckCertChainPem } from '../sgx/index.js';
import { SIMULATED_SERIAL_PREFIX } from '../providers/sim/index.js';

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
    .addOption(new Option('--no-progress', 'never show a progress bar'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  sgx-quote-helper verify quote.bin --collateral-bundle collateral.json\n' +
        '  sgx-quote-helper verify quotes/ --collateral-url https://api.trustedservices.intel.com --json\n' +
        '  sgx-quote-helper verify sim.quote --collateral-bundle sim.json --trust-root sim-root.pem   # reported SIMULATED\n' +
        '\nExit codes: 0 every quote verified and the policy accepted it, 1 a quote was rejected, 2 bad input or usage.',
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

function parseAge(v: string, flag = '--max-collateral-age'): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new CliError(`${flag} ${JSON.stringify(v)}: use seconds or a number with s, m, h or d (e.g. 30d)`, EXIT_BAD_INPUT);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

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
  return p;
}

async function trustRoots(files: string[] | undefined): Promise<(string | Buffer)[] | undefined> {
  if (!files) return undefined;
  const roots: (string | Buffer)[] = [];
  for (const f of files) {
    if (f.toLowerCase() === 'intel') {
      roots.push(INTEL_SGX_ROOT_CA_PEM);
      continue;
    }
    try {
      roots.push(await readFile(f));
    } catch (e) {
      throw new CliError(`--trust-root ${f}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXIT_BAD_INPUT);
    }
  }
  return roots;
}

async function collateralOptions(o: VerifyCliOptions): Promise<{ collateral?: Collateral; source?: CollateralSource; close?: () => void }> {
  if (o.collateralBundle && o.collateralUrl) throw new CliError('give either --collateral-bundle or --collateral-url, not both', EXIT_BAD_INPUT);
  if (o.collateralBundle) {
    try {
      const bundle = await createBundleSource(o.collateralBundle);
      // One set: hand it over as is, so a mismatch is reported by the check that fails (e.g. TCB_INFO_MISMATCH).
      return bundle.sets.length === 1 ? { collateral: bundle.sets[0] } : { source: bundle };
    } catch (e) {
      if (e instanceof PcsError) throw new CliError(e.message, EXIT_BAD_INPUT);
      throw e;
    }
  }
  if (o.collateralUrl) {
    let client;
    try {
      client = createPcsClient({ baseUrl: o.collateralUrl });
    } catch (e) {
      throw new CliError(`--collateral-url ${o.collateralUrl}: ${(e as Error).message}`, EXIT_BAD_INPUT);
    }
    const cachePath = o.cache ?? process.env.SQH_COLLATERAL_CACHE;
    const maxAgeSeconds = o.cacheMaxAge === undefined ? undefined : parseAge(o.cacheMaxAge, '--cache-max-age');
    if (maxAgeSeconds !== undefined && !cachePath) {
      throw new CliError('--cache-max-age needs a cache: give --cache FILE (or set SQH_COLLATERAL_CACHE)', EXIT_BAD_INPUT);
    }
    let cache: CollateralCache | undefined;
    if (cachePath) {
      try {
        cache = CollateralCache.open(cachePath);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT_BAD_INPUT);
      }
    }
    const source = createPcsCollateralSource({ client, ...(cache ? { cache } : {}), ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}) });
    return { source, ...(cache ? { close: () => cache?.close() } : {}) };
  }
  if (o.cache) throw new CliError('--cache needs --collateral-url', EXIT_BAD_INPUT);
  throw new CliError('no collateral: give --collateral-bundle FILE or --collateral-url URL', EXIT_BAD_INPUT);
}

/** Expand directory arguments (their quote files, sorted, not recursive). */
async function quoteFiles(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch (e) {
      throw new CliError(`cannot read ${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, EXIT_BAD_INPUT);
    }
    if (!st.isDirectory()) {
      out.push(input);
      continue;
    }
    const entries = (await readdir(input, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && !NOT_QUOTES.test(e.name))
      .map((e) => join(input, e.name))
      .sort();
    if (entries.length === 0) throw new CliError(`${input}: directory holds no quote files`, EXIT_BAD_INPUT);
    out.push(...entries);
  }
  return out;
}

async function runVerify(inputs: string[], o: VerifyCliOptions): Promise<number> {
  const policy = policyFromOptions(o);
  const now = o.at ? parseTime(o.at) : undefined;
  const roots = await trustRoots(o.trustRoot);
  const files = await quoteFiles(inputs);
  const quotes: Buffer[] = [];
  for (const f of files) {
    let raw: Buffer;
    try {
      raw = await readFile(f);
    } catch (e) {
      throw new CliError(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT_BAD_INPUT);
    }
    quotes.push(decodeInput(raw, f).bytes);
  }
  const coll = await collateralOptions(o);
  let verifier;
  try {
    verifier = createVerifier({ ...coll, ...(roots ? { trustedRoots: roots } : {}), ...(now ? { now } : {}), policy });
  } catch (e) {
    if (e instanceof VerifierConfigError) throw new CliError(`--trust-root: ${e.message}`, EXIT_BAD_INPUT);
    throw e;
  }
  const showBar = o.progress !== false && process.stderr.isTTY === true && files.length >= 10;
  const bar = showBar ? new cliProgress.SingleBar({ stream: process.stderr, format: 'verifying [{bar}] {value}/{total} quotes' }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(files.length, 0);
  const results: Array<VerificationResult & { file: string; hint?: string }> = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const result = await verifier.verify(quotes[i]);
      const hint = result.reason === 'PCK_CHAIN_UNTRUSTED' && chainsToSimulatedRoot(quotes[i]) ? SIMULATED_ROOT_HINT : undefined;
      results.push({ file: files[i], ...result, ...(hint ? { hint } : {}) });
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
  return results.every((r) => r.accepted) ? 0 : EXIT_FAILURE;
}

const SIMULATED_ROOT_HINT =
  'this quote chains to a SIMULATED root (sgx-quote-helper sim); to check it anyway, pass that root explicitly: --trust-root <file from `sim root`>';

/** True when the quote's PCK chain ends in a root our simulator issued (its serial starts with "SIMULATED"). */
function chainsToSimulatedRoot(quote: Buffer): boolean {
  try {
    const chain = pckCertChainPem(parseQuote(quote));
    const root = chain?.at(-1);
    return root !== undefined && new X509Certificate(root).serialNumber.toLowerCase().startsWith(SIMULATED_SERIAL_PREFIX);
  } catch {
    return false; // unparseable quotes already carry their own reason
  }
}

function renderText(r: VerificationResult & { file: string; hint?: string }): string {
  const lines: string[] = [];
  const code = `0x${r.qvResult.toString(16).toUpperCase().padStart(4, '0')} ${r.qvResultName}`;
  const sim = r.simulated ? 'SIMULATED (non-Intel trust root) ' : '';
  const verdict = r.accepted ? 'ACCEPTED' : 'REJECTED';
  lines.push(`${r.file}: ${verdict} — ${sim}${r.status} (${code})`);
  if (!r.ok) lines.push(`  failed check: ${r.reason}: ${r.message}`);
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
  if (r.collateralStale) lines.push('  collateral source served stale collateral (past nextUpdate)');
  for (const v of r.policyViolations) if (v.code !== 'VERIFICATION_FAILED') lines.push(`  policy: ${v.code}: ${v.message}`);
  return `${lines.join('\n')}\n`;
}
