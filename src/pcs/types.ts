import type { Collateral } from '../providers/collateral.js';

/** One collateral set as a verifier needs it; defined once at the providers layer (see that file for why). */
export type { Collateral };

/** A collateral set as delivered by a source: `stale` when served past its nextUpdate (stale-while-revalidate). */
export type SourcedCollateral = Collateral & { fetchedAt?: Date; stale?: boolean };

/** What a verifier asks a collateral source for: the platform's FMSPC (12 hex), PCK CA type, and TEE. */
export interface CollateralQuery {
  fmspc: string;
  ca: 'processor' | 'platform';
  tee: 'SGX' | 'TDX';
}

/** Anything that can hand out collateral for a platform: PCS/PCCS client, SQLite cache, bundle file. */
export interface CollateralSource {
  get(q: CollateralQuery): Promise<SourcedCollateral>;
}
