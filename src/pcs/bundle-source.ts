import { readFile } from 'node:fs/promises';
import { CollateralFormatError, parseCollateralBundle } from './bundle.js';
import { crlValidity } from './crl.js';
import { PcsError } from './errors.js';
import type { Collateral, CollateralQuery, CollateralSource, SourcedCollateral } from './types.js';

function fmspcOf(c: Collateral): string | undefined {
  try {
    const f = (JSON.parse(c.tcbInfoBody) as { fmspc?: unknown }).fmspc;
    return typeof f === 'string' ? f.toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}

function caOf(c: Collateral): 'processor' | 'platform' | undefined {
  try {
    const issuer = crlValidity(c.pckCrl).issuer;
    if (/PCK Processor CA/.test(issuer)) return 'processor';
    if (/PCK Platform CA/.test(issuer)) return 'platform';
  } catch {
    // an unparsable CRL is the verifier's to report; here it just does not narrow the choice
  }
  return undefined;
}

/**
 * Collateral from a local file: one bundle (dcap-qvl QuoteCollateralV3 JSON or our own format) or a JSON
 * array of them. `get` returns the set whose TCB info matches the asked FMSPC and TEE (and whose PCK CRL
 * is from the asked CA, when that can be told), so a wrong bundle fails early with a clear NOT_FOUND.
 */
export async function createBundleSource(path: string): Promise<CollateralSource & { readonly sets: Collateral[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PcsError('BAD_BUNDLE', `cannot read collateral bundle ${path}: ${(err as Error).message}`, { cause: err });
  }
  let sets: Collateral[];
  try {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('[')) {
      const arr = JSON.parse(trimmed) as unknown[];
      sets = arr.map((o) => parseCollateralBundle(JSON.stringify(o)));
    } else {
      sets = [parseCollateralBundle(text)];
    }
  } catch (err) {
    const detail = err instanceof CollateralFormatError || err instanceof SyntaxError ? err.message : String(err);
    throw new PcsError('BAD_BUNDLE', `collateral bundle ${path}: ${detail}`, { cause: err });
  }
  if (sets.length === 0) throw new PcsError('BAD_BUNDLE', `collateral bundle ${path} holds no collateral set`);
  return {
    sets,
    async get(q: CollateralQuery): Promise<SourcedCollateral> {
      const want = q.fmspc.toUpperCase();
      const match = sets.find((c) => c.teeType === q.tee && fmspcOf(c) === want && (caOf(c) ?? q.ca) === q.ca);
      if (!match) {
        const have = sets.map((c) => `${c.teeType} FMSPC ${fmspcOf(c) ?? '?'} ${caOf(c) ?? '?'} CA`).join(', ');
        throw new PcsError('NOT_FOUND', `collateral bundle ${path} has no set for ${q.tee} FMSPC ${want} ${q.ca} CA (it has: ${have})`);
      }
      return { ...match };
    },
  };
}
