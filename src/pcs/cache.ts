import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { PcsError } from './errors.js';

/** The four collateral items a verifier needs, each cached on its own clock (its own nextUpdate). */
export type CacheItemKind = 'tcbInfo' | 'qeIdentity' | 'pckCrl' | 'rootCaCrl';

/** One cached PCS answer, stored as the wire carried it so it can be replayed or re-parsed. */
export interface CacheRow {
  /** Normalised base URL of the service it came from: collateral of different services never mixes. */
  source: string;
  kind: CacheItemKind;
  /** `SGX:00906ED50000` (tcbInfo), `SGX`/`TDX` (qeIdentity), `processor`/`platform` (pckCrl), `root`. */
  key: string;
  url: string;
  body: Buffer;
  contentType?: string;
  issuerChainHeader?: string;
  fetchedAt: Date;
  nextUpdate?: Date;
  /** The upstream labelled it simulated (SQH-Simulated): a proxy must keep saying so. */
  simulated?: boolean;
  /** Last upstream failure while this row was due for refresh (cleared by a successful fetch). */
  lastError?: string;
  lastErrorAt?: Date;
}

/** Bump when the table layout changes; older files are migrated in `open`. */
export const CACHE_SCHEMA_VERSION = 1;

/** `--cache` default: $SQH_COLLATERAL_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/sgx-quote-helper/collateral.sqlite. */
export function defaultCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SQH_COLLATERAL_CACHE) return env.SQH_COLLATERAL_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'sgx-quote-helper', 'collateral.sqlite');
}

interface RawRow {
  source: string;
  kind: string;
  item_key: string;
  url: string;
  body: Buffer;
  content_type: string | null;
  issuer_chain_header: string | null;
  fetched_at: number;
  next_update: number | null;
  last_error: string | null;
  last_error_at: number | null;
  simulated: number;
}

function fromRaw(r: RawRow): CacheRow {
  return {
    source: r.source,
    kind: r.kind as CacheItemKind,
    key: r.item_key,
    url: r.url,
    body: r.body,
    contentType: r.content_type ?? undefined,
    issuerChainHeader: r.issuer_chain_header ?? undefined,
    fetchedAt: new Date(r.fetched_at),
    nextUpdate: r.next_update === null ? undefined : new Date(r.next_update),
    lastError: r.last_error ?? undefined,
    lastErrorAt: r.last_error_at === null ? undefined : new Date(r.last_error_at),
    ...(r.simulated ? { simulated: true } : {}),
  };
}

function wrap<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PcsError) throw err;
    throw new PcsError('CACHE', `collateral cache ${path}: ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * SQLite store of PCS answers. WAL mode so a `collateral refresh` can write while a server or verifier
 * reads the same file.
 */
export class CollateralCache {
  private readonly db: Database.Database;
  readonly path: string;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  static open(path: string = defaultCachePath()): CollateralCache {
    return wrap(path, 'opening', () => {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path);
      try {
        db.pragma('busy_timeout = 5000');
        if (path !== ':memory:') db.pragma('journal_mode = WAL');
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > CACHE_SCHEMA_VERSION) {
          throw new PcsError(
            'CACHE',
            `collateral cache ${path} has schema version ${version}, this build understands up to ${CACHE_SCHEMA_VERSION}: use a newer sgx-quote-helper or another --cache file`,
          );
        }
        if (version < 1) {
          db.exec(`
            CREATE TABLE IF NOT EXISTS collateral_items (
              source TEXT NOT NULL,
              kind TEXT NOT NULL,
              item_key TEXT NOT NULL,
              url TEXT NOT NULL,
              body BLOB NOT NULL,
              content_type TEXT,
              issuer_chain_header TEXT,
              fetched_at INTEGER NOT NULL,
              next_update INTEGER,
              last_error TEXT,
              last_error_at INTEGER,
              simulated INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (source, kind, item_key)
            );
            PRAGMA user_version = 1;
          `);
        }
        return new CollateralCache(path, db);
      } catch (err) {
        db.close();
        throw err;
      }
    });
  }

  get(source: string, kind: CacheItemKind, key: string): CacheRow | undefined {
    return wrap(this.path, 'reading', () => {
      const r = this.db
        .prepare('SELECT * FROM collateral_items WHERE source = ? AND kind = ? AND item_key = ?')
        .get(source, kind, key) as RawRow | undefined;
      return r ? fromRaw(r) : undefined;
    });
  }

  put(row: Omit<CacheRow, 'lastError' | 'lastErrorAt'>): void {
    wrap(this.path, 'writing', () => {
      this.db
        .prepare(
          `INSERT INTO collateral_items (source, kind, item_key, url, body, content_type, issuer_chain_header, fetched_at, next_update, last_error, last_error_at, simulated)
           VALUES (@source, @kind, @key, @url, @body, @contentType, @issuerChainHeader, @fetchedAt, @nextUpdate, NULL, NULL, @simulated)
           ON CONFLICT (source, kind, item_key) DO UPDATE SET url = excluded.url, body = excluded.body,
             content_type = excluded.content_type, issuer_chain_header = excluded.issuer_chain_header,
             fetched_at = excluded.fetched_at, next_update = excluded.next_update, last_error = NULL, last_error_at = NULL,
             simulated = excluded.simulated`,
        )
        .run({
          source: row.source,
          kind: row.kind,
          key: row.key,
          url: row.url,
          body: row.body,
          contentType: row.contentType ?? null,
          issuerChainHeader: row.issuerChainHeader ?? null,
          fetchedAt: row.fetchedAt.getTime(),
          nextUpdate: row.nextUpdate ? row.nextUpdate.getTime() : null,
          simulated: row.simulated ? 1 : 0,
        });
    });
  }

  noteError(source: string, kind: CacheItemKind, key: string, message: string, at: Date): void {
    wrap(this.path, 'writing', () => {
      this.db
        .prepare('UPDATE collateral_items SET last_error = ?, last_error_at = ? WHERE source = ? AND kind = ? AND item_key = ?')
        .run(message, at.getTime(), source, kind, key);
    });
  }

  /** Every row, optionally of one source, ordered for stable output. */
  list(source?: string): CacheRow[] {
    return wrap(this.path, 'listing', () => {
      const rows = (
        source === undefined
          ? this.db.prepare('SELECT * FROM collateral_items ORDER BY source, kind, item_key').all()
          : this.db.prepare('SELECT * FROM collateral_items WHERE source = ? ORDER BY kind, item_key').all(source)
      ) as RawRow[];
      return rows.map(fromRaw);
    });
  }

  close(): void {
    this.db.close();
  }
}
