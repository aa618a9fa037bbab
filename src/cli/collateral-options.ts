/**
 * The collateral and trust-root flags that `verify` and `attest serve` share: `--collateral-bundle`,
 * `--collateral-url` (+ `--cache`), `--trust-root FILE|intel`. One reading of them, one set of messages.
 */
import { readFile } from 'node:fs/promises';
import { CollateralCache, PcsError, createBundleSource, createPcsClient, createPcsCollateralSource } from '../pcs/index.js';
import type { Collateral, CollateralSource } from '../pcs/types.js';
import { INTEL_SGX_ROOT_CA_PEM } from '../verify/index.js';
import { CliError, EXIT_BAD_INPUT } from './cli-error.js';

/** `--trust-root` values: PEM/DER files, or `intel` for Intel's production root. Undefined: the verifier's default (Intel only). */
export async function readTrustRoots(files: string[] | undefined): Promise<(string | Buffer)[] | undefined> {
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

export interface CollateralFlags {
  collateralBundle?: string;
  collateralUrl?: string;
  cache?: string;
}

export interface CollateralChoice {
  collateral?: Collateral;
  source?: CollateralSource;
  close?: () => void;
}

/**
 * Where collateral comes from: a bundle file, or a PCS-compatible service (Intel PCS, a PCCS, Azure
 * THIM, `collateral serve`) with an optional SQLite cache (`--cache`, or SQH_COLLATERAL_CACHE).
 * `missing` is the message when neither is given.
 */
export async function collateralFromFlags(o: CollateralFlags, opts: { missing: string; maxAgeSeconds?: number }): Promise<CollateralChoice> {
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
      throw new CliError(`--collateral-url: ${(e as Error).message}`, EXIT_BAD_INPUT);
    }
    const cachePath = o.cache ?? process.env.SQH_COLLATERAL_CACHE;
    if (opts.maxAgeSeconds !== undefined && !cachePath) {
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
    const maxAge = opts.maxAgeSeconds !== undefined ? { maxAgeSeconds: opts.maxAgeSeconds } : {};
    const source = createPcsCollateralSource({ client, ...(cache ? { cache } : {}), ...maxAge });
    return { source, ...(cache ? { close: () => cache?.close() } : {}) };
  }
  if (o.cache) throw new CliError('--cache needs --collateral-url', EXIT_BAD_INPUT);
  throw new CliError(opts.missing, EXIT_BAD_INPUT);
}
