import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { createJsonLogger, LOG_LEVELS, type LogLevel } from '../log/index.js';
import {
  COLLATERAL_SERVER_LIMITS,
  CollateralCache,
  collateralToBundleJson,
  collateralToDcapQvlJson,
  createCollateralServer,
  createPcsClient,
  createPcsCollateralSource,
  createSimBackend,
  createUpstreamBackend,
  defaultCachePath,
  normaliseBaseUrl,
  parseListen,
  PcsError,
  refreshCache,
  type CollateralBackend,
  type RefreshOutcome,
  type ReportedCollateral,
} from '../pcs/index.js';
import { resolveStateDir, SimPlatform, SimStateError } from '../providers/sim/index.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { addServerLimitOptions, secondsFlag, serverLimitsFrom, wholeNumber, type ServerLimitFlags } from './http-limit-flags.js';

const API_KEY_ENV = 'SQH_PCS_API_KEY';

/** PcsError → one CLI line: bad parameters are usage errors (2), everything else a failed operation (1). */
function cliError(e: unknown): unknown {
  if (e instanceof PcsError) return new CliError(e.message, e.code === 'BAD_REQUEST' ? EXIT_BAD_INPUT : EXIT_FAILURE);
  if (e instanceof SimStateError) return new CliError(e.message, EXIT_BAD_INPUT);
  return e;
}

function nonNegativeInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliError(`${flag} must be a whole number of seconds, got '${v}'`, EXIT_BAD_INPUT);
  return Number(v);
}

/** `--query k=v` / `--header 'k: v'` (repeatable): Azure THIM wants `api-version`, IMDS `metadata: true`. */
function collect(v: string, acc: string[] = []): string[] {
  return [...acc, v];
}

function pairs(flag: string, list: string[] | undefined, sep: string): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf(sep);
    if (i <= 0) throw new CliError(`${flag} must look like NAME${sep}VALUE, got '${item}'`, EXIT_BAD_INPUT);
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

interface HttpOptions {
  apiKey?: string;
  query?: string[];
  header?: string[];
  upstreamTimeout?: string;
  upstreamMaxBody?: string;
  upstreamMaxDecodedBody?: string;
}

function clientOptions(o: HttpOptions) {
  const timeoutMs = secondsFlag('--upstream-timeout', o.upstreamTimeout);
  const maxBodyBytes = wholeNumber('--upstream-max-body', o.upstreamMaxBody);
  const maxDecodedBodyBytes = wholeNumber('--upstream-max-decoded-body', o.upstreamMaxDecodedBody);
  return {
    apiKey: o.apiKey ?? process.env[API_KEY_ENV],
    extraQuery: pairs('--query', o.query, '='),
    headers: pairs('--header', o.header, ':'),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    ...(maxDecodedBodyBytes !== undefined ? { maxDecodedBodyBytes } : {}),
  };
}

/** Upstream-client flags of every command that talks to a PCS-shaped service. */
function addUpstreamLimitOptions(cmd: Command): Command {
  return cmd
    .option('--upstream-timeout <seconds>', 'per request to the service, connect to last body byte (default 30)')
    .option('--upstream-max-body <bytes>', 'largest answer body on the wire, compressed (default 8388608)')
    .option('--upstream-max-decoded-body <bytes>', 'largest answer body after gzip/deflate/br decoding (default 16777216)');
}

function openCache(path: string): CollateralCache {
  let cache: CollateralCache;
  try {
    cache = CollateralCache.open(path);
  } catch (e) {
    throw cliError(e);
  }
  if (cache.movedAside) process.stderr.write(`warning: collateral cache ${path} was damaged: moved to ${cache.movedAside}, a new empty cache created\n`);
  return cache;
}

/**
 * For commands that only read or update what is cached (list, refresh): a cache file that does not
 * exist is not created. Named with --cache, that is an error (most likely a wrong path); the default
 * path simply has nothing cached yet. Returns undefined in that second case.
 */
function openExistingCache(explicit: string | undefined): { cache: CollateralCache; path: string } | undefined {
  const path = explicit ?? defaultCachePath();
  if (!existsSync(path)) {
    if (explicit !== undefined) {
      throw new CliError(`no collateral cache at ${path} (--cache): check the path, or fill one with 'collateral fetch --cache ${path}'`, EXIT_BAD_INPUT);
    }
    process.stderr.write(`nothing cached yet: ${path} does not exist; fill it with 'collateral fetch --cache ${path}'\n`);
    return undefined;
  }
  return { cache: openCache(path), path };
}

interface ServeOptions extends HttpOptions, ServerLimitFlags {
  stateDir?: string;
  upstream?: string;
  listen: string;
  cache?: string;
  noCache?: boolean;
  apiKey?: string;
  maxStale?: string;
  maxAge?: string;
  logLevel: string;
}

async function serve(o: ServeOptions): Promise<void> {
  if (o.stateDir && o.upstream) throw new CliError('give --state-dir (serve a simulated platform) or --upstream (caching proxy), not both', EXIT_BAD_INPUT);
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) {
    throw new CliError(`--log-level: "${o.logLevel}" must be one of ${LOG_LEVELS.join(', ')}`, EXIT_BAD_INPUT);
  }
  let listen: { host: string; port: number };
  try {
    listen = parseListen(o.listen);
  } catch (e) {
    throw cliError(e);
  }
  const maxStaleSeconds = nonNegativeInt('--max-stale', o.maxStale);
  const limits = serverLimitsFrom(o);
  // stderr: stdout carries the "listening on" line scripts read.
  const logger = createJsonLogger(o.logLevel as LogLevel, { component: 'collateral', destination: pino.destination(2) });
  const maxAgeSeconds = nonNegativeInt('--max-age', o.maxAge);
  let backend: CollateralBackend;
  let banner: string;
  let cache: CollateralCache | undefined;
  if (o.upstream) {
    let baseUrl: string;
    try {
      baseUrl = normaliseBaseUrl(o.upstream);
    } catch (e) {
      throw cliError(e);
    }
    cache = o.noCache ? undefined : openCache(o.cache ?? defaultCachePath());
    backend = createUpstreamBackend({
      client: createPcsClient({ baseUrl, ...clientOptions(o) }),
      cache,
      maxStaleSeconds,
      // The cache is a copy: a fault is answered from the upstream; say so, with what was done about it.
      onCacheFault: (f) => logger.warn(f, `collateral cache ${f.op} fault for ${f.kind} ${f.key}, answered from the upstream${f.movedAside ? `; damaged file moved to ${f.movedAside} and recreated` : ''}`),
      maxAgeSeconds,
    });
    banner = `caching proxy for ${baseUrl} (${cache ? `cache ${cache.path}` : 'no cache'})`;
  } else {
    const stateDir = resolveStateDir(o.stateDir);
    let platform: SimPlatform;
    try {
      platform = await SimPlatform.load(stateDir);
    } catch (e) {
      throw cliError(e);
    }
    backend = await createSimBackend({ platform });
    const id = platform.identity();
    const rootSha = createHash('sha256').update(platform.rootCertDer).digest('hex');
    banner = `SIMULATED collateral for the platform in ${stateDir} (FMSPC ${id.fmspc}, ${id.caType} CA, profile ${id.tcbProfile}; simulated root sha256 ${rootSha})`;
  }
  const app = createCollateralServer({ backend, loggerInstance: logger, limits });
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (e) {
    cache?.close();
    throw new CliError(`cannot listen on ${o.listen}: ${(e as Error).message}`, EXIT_FAILURE);
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stdout.write(`collateral server listening on http://${host}:${addr.port}: ${banner}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await app.close();
  cache?.close();
}

interface FetchOptions extends HttpOptions {
  url: string;
  fmspc: string;
  ca?: string;
  tdx?: boolean;
  out: string;
  cache?: string;
  format: string;
  apiKey?: string;
  offline?: boolean;
}

function describeItems(c: ReportedCollateral): string {
  const parts = Object.entries(c.items).map(([k, s]) => `${k} ${s.servedFrom}${s.nextUpdate ? ` (next update ${s.nextUpdate.toISOString()})` : ''}`);
  return parts.join('; ');
}

async function fetchCmd(o: FetchOptions): Promise<void> {
  if (!/^[0-9a-fA-F]{12}$/.test(o.fmspc)) throw new CliError(`--fmspc must be 12 hex digits (6 bytes), got '${o.fmspc}'`, EXIT_BAD_INPUT);
  const ca = o.ca ?? (o.tdx ? 'platform' : 'processor');
  if (ca !== 'processor' && ca !== 'platform') throw new CliError(`--ca must be processor or platform, got '${ca}'`, EXIT_BAD_INPUT);
  if (o.format !== 'dcap-qvl' && o.format !== 'sqh') throw new CliError(`--format must be dcap-qvl or sqh, got '${o.format}'`, EXIT_BAD_INPUT);
  const cachePath = o.cache ?? process.env.SQH_COLLATERAL_CACHE;
  if (o.offline && !cachePath) throw new CliError('--offline needs a cache: give --cache FILE (or set SQH_COLLATERAL_CACHE)', EXIT_BAD_INPUT);
  const cache = cachePath ? openCache(cachePath) : undefined;
  try {
    const client = createPcsClient({ baseUrl: o.url, ...clientOptions(o) });
    const c = await createPcsCollateralSource({ client, cache, offline: o.offline }).get({ fmspc: o.fmspc, ca, tee: o.tdx ? 'TDX' : 'SGX' });
    const json: Record<string, unknown> = o.format === 'sqh' ? collateralToBundleJson(c) : collateralToDcapQvlJson(c);
    if (c.simulated) json.simulated = 'SIMULATED collateral from an sgx-quote-helper sim server: not signed by Intel';
    writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`wrote ${o.out}: ${c.teeType} FMSPC ${o.fmspc.toUpperCase()}, ${ca} CA, from ${c.source}${c.simulated ? ' [SIMULATED]' : ''}\n  ${describeItems(c)}\n`);
    for (const s of c.staleItems) {
      process.stderr.write(`warning: ${s.item} ${s.key} is STALE since ${s.since.toISOString()} (upstream: ${s.error})\n`);
    }
  } catch (e) {
    throw cliError(e);
  } finally {
    cache?.close();
  }
}

interface RefreshOptions extends HttpOptions {
  cache?: string;
  url?: string;
  json?: boolean;
  apiKey?: string;
}

async function refreshCmd(o: RefreshOptions): Promise<void> {
  const opened = openExistingCache(o.cache);
  if (!opened) return;
  const { cache, path } = opened;
  try {
    let source: string | undefined;
    if (o.url) {
      try {
        source = normaliseBaseUrl(o.url);
      } catch (e) {
        throw cliError(e);
      }
    }
    const http = clientOptions(o);
    const line = (r: RefreshOutcome) =>
      r.ok
        ? `ok      ${r.kind} ${r.key} from ${r.source}${r.nextUpdate ? `, next update ${r.nextUpdate.toISOString()}` : ''}\n`
        : `FAILED  ${r.kind} ${r.key} from ${r.source}: ${r.error} (old copy kept)\n`;
    const results = await refreshCache({
      cache,
      source,
      clientFor: (baseUrl) => createPcsClient({ baseUrl, ...http }),
      onItem: o.json ? undefined : (r) => process.stdout.write(line(r)),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    if (results.length === 0) {
      process.stderr.write(`nothing cached${source ? ` for ${source}` : ''} in ${path}; fill it with 'collateral fetch --cache ${path}' or 'collateral serve --upstream URL --cache ${path}'\n`);
    }
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0) throw new CliError(`${failed} of ${results.length} cached items could not be refreshed`, EXIT_FAILURE);
  } finally {
    cache.close();
  }
}

function listCmd(o: { cache?: string; json?: boolean }): void {
  const opened = openExistingCache(o.cache);
  if (!opened) {
    if (o.json) process.stdout.write('[]\n');
    return;
  }
  const { cache, path } = opened;
  try {
    const now = Date.now();
    const rows = cache.list().map((r) => ({
      source: r.source,
      kind: r.kind,
      key: r.key,
      fetchedAt: r.fetchedAt.toISOString(),
      nextUpdate: r.nextUpdate?.toISOString(),
      fresh: r.nextUpdate ? r.nextUpdate.getTime() > now : false,
      simulated: r.simulated === true,
      lastError: r.lastError,
    }));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    if (rows.length === 0) process.stdout.write(`${path}: empty\n`);
    for (const r of rows) {
      process.stdout.write(
        `${r.fresh ? 'fresh  ' : 'EXPIRED'} ${r.kind} ${r.key} from ${r.source}${r.simulated ? ' [SIMULATED]' : ''}, fetched ${r.fetchedAt}, next update ${r.nextUpdate ?? '-'}${r.lastError ? `, last error: ${r.lastError}` : ''}\n`,
      );
    }
  } finally {
    cache.close();
  }
}

export function register(program: Command): void {
  const col = program.command('collateral').description('Intel PCS v4 collateral: fetch, cache, refresh, and serve (simulated platform or caching proxy)');

  const serveCmd = col
    .command('serve')
    .description('serve PCS v4 endpoints from a simulated platform (SIMULATED) or as a caching proxy for an upstream PCS/PCCS')
    .option('--state-dir <dir>', 'simulated platform state dir (default: $SQH_STATE_DIR, then the sim default)')
    .option('--upstream <url>', 'caching proxy for this PCS/PCCS/THIM base URL instead of a simulated platform')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8081')
    .option('--cache <file>', 'SQLite cache for --upstream (default: $SQH_COLLATERAL_CACHE, then ~/.cache/sgx-quote-helper/collateral.sqlite)')
    .option('--no-cache', 'proxy without caching')
    .option('--max-stale <seconds>', 'serve an expired cached copy at most this long when the upstream fails (default: no limit)')
    .option('--max-age <seconds>', 'refetch a cached item once it is this old, even before its nextUpdate (default: at nextUpdate)')
    .option('--api-key <key>', `Intel PCS subscription key for the upstream (default: $${API_KEY_ENV})`)
    .option('--query <name=value>', 'extra query parameter on every upstream request, repeatable (Azure: api-version=…)', collect)
    .option('--header <name:value>', 'extra request header on every upstream request, repeatable (Azure IMDS: metadata:true)', collect)
    .option('--log-level <level>', 'request log level on stderr (trace, debug, info, warn, error)', 'info');
  addServerLimitOptions(addUpstreamLimitOptions(serveCmd), COLLATERAL_SERVER_LIMITS)
    .action(async (o: Omit<ServeOptions, 'cache' | 'noCache'> & { cache?: string | false }) => {
      // commander turns --no-cache into cache === false
      const noCache = o.cache === false;
      await serve({ ...o, cache: noCache ? undefined : (o.cache as string | undefined), noCache });
    });

  const fetchCmdDef = col
    .command('fetch')
    .description('fetch one collateral set (TCB info, QE identity, PCK CRL, root CA CRL) and write it as a bundle file')
    .requiredOption('--url <url>', 'PCS-shaped service: https://api.trustedservices.intel.com, a PCCS, Azure THIM, or our server')
    .requiredOption('--fmspc <hex>', 'platform FMSPC, 12 hex digits')
    .option('--ca <type>', 'PCK CA: processor or platform (default: processor, platform with --tdx)')
    .option('--tdx', 'TDX TCB info and TD QE identity instead of SGX')
    .requiredOption('--out <file>', 'bundle file to write')
    .option('--format <format>', 'dcap-qvl (QuoteCollateralV3 JSON) or sqh (our own bundle)', 'dcap-qvl')
    .option('--cache <file>', 'go through this SQLite cache (default: $SQH_COLLATERAL_CACHE if set, else no cache)')
    .option('--offline', 'only use the cache, never the network (expired items are reported stale)')
    .option('--api-key <key>', `Intel PCS subscription key (default: $${API_KEY_ENV})`)
    .option('--query <name=value>', 'extra query parameter on every request, repeatable (Azure: api-version=…)', collect)
    .option('--header <name:value>', 'extra request header on every request, repeatable (Azure IMDS: metadata:true)', collect);
  addUpstreamLimitOptions(fetchCmdDef).action((o: FetchOptions) => fetchCmd(o));

  const refreshCmdDef = col
    .command('refresh')
    .description('refetch every item in the collateral cache (or those of one --url), fresh or not')
    .option('--cache <file>', 'SQLite cache (default: $SQH_COLLATERAL_CACHE, then ~/.cache/sgx-quote-helper/collateral.sqlite)')
    .option('--url <url>', 'only the items cached from this service')
    .option('--api-key <key>', `Intel PCS subscription key (default: $${API_KEY_ENV})`)
    .option('--query <name=value>', 'extra query parameter on every request, repeatable (Azure: api-version=…)', collect)
    .option('--header <name:value>', 'extra request header on every request, repeatable (Azure IMDS: metadata:true)', collect)
    .option('--json', 'print the outcome as JSON');
  addUpstreamLimitOptions(refreshCmdDef).action((o: RefreshOptions) => refreshCmd(o));

  col
    .command('list')
    .description('show what the collateral cache holds and whether it is fresh')
    .option('--cache <file>', 'SQLite cache (default: $SQH_COLLATERAL_CACHE, then ~/.cache/sgx-quote-helper/collateral.sqlite)')
    .option('--json', 'print JSON')
    .action((o: { cache?: string; json?: boolean }) => listCmd(o));
}
