import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
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
 * True when a SQLite failure means the file itself is damaged (corrupt pages, not a database, truncated,
 * table gone) rather than busy or a bad argument: the cure is a new file, not a retry.
 */
export function isCacheFileDamaged(err: unknown): boolean {
  const e = (err instanceof PcsError ? err.cause : err) as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return /^SQLITE_(CORRUPT|NOTADB|IOERR)/.test(code) || /no such table|malformed|not a database|no such column/i.test(message);
}

function createSchema(db: Database.Database): void {
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

function openDb(path: string): Database.Database {
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
    if (version < 1) createSchema(db);
    // A dropped table (or one missing a column) reads as a damaged file too.
    db.prepare('SELECT source, kind, item_key, url, body, content_type, issuer_chain_header, fetched_at, next_update, last_error, last_error_at, simulated FROM collateral_items LIMIT 0').all();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** The file starts like a SQLite database: ours to repair (anything else may be a wrong --cache path). */
function looksLikeSqlite(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Move a damaged cache file (and its WAL and shared-memory files) aside; returns the new name. */
function moveAside(path: string, at: Date): string {
  const aside = `${path}.corrupt-${at.toISOString().replace(/[:.]/g, '-')}`;
  if (existsSync(path)) renameSync(path, aside);
  for (const ext of ['-wal', '-shm']) rmSync(`${path}${ext}`, { force: true });
  return aside;
}

/**
 * SQLite store of PCS answers. WAL mode so a `collateral refresh` can write while a server or verifier
 * reads the same file. A cache is only a copy: a damaged file is moved aside and recreated empty
 * (`open` and `rebuild`), and callers refetch what it held.
 */
export class CollateralCache {
  private db: Database.Database;
  readonly path: string;
  /** Where a damaged file was moved when `open` or `rebuild` recreated the cache (the latest time). */
  movedAside?: string;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  static open(path: string = defaultCachePath()): CollateralCache {
    return wrap(path, 'opening', () => {
      try {
        return new CollateralCache(path, openDb(path));
      } catch (err) {
        // Repair only what is recognisably a damaged SQLite cache; a file of another kind is a wrong path.
        if (path === ':memory:' || err instanceof PcsError || !isCacheFileDamaged(err) || !looksLikeSqlite(path)) throw err;
        const aside = moveAside(path, new Date());
        const cache = new CollateralCache(path, openDb(path));
        cache.movedAside = aside;
        return cache;
      }
    });
  }

  /** SQLite's own quick integrity check of the file (a garbage row may be a symptom of damaged pages). */
  isIntact(): boolean {
    try {
      const rows = this.db.pragma('quick_check') as { quick_check: string }[];
      return rows.length === 1 && rows[0].quick_check === 'ok';
    } catch {
      return false;
    }
  }

  /** Replace a damaged file by a new empty cache in place (the old one kept beside it for inspection). */
  rebuild(): string | undefined {
    return wrap(this.path, 'rebuilding', () => {
      try {
        this.db.close();
      } catch {
        // a damaged handle may refuse to close cleanly; the file is replaced either way
      }
      if (this.path === ':memory:') {
        this.db = openDb(this.path);
        return undefined;
      }
      this.movedAside = moveAside(this.path, new Date());
      this.db = openDb(this.path);
      return this.movedAside;
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
