import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CollateralCache,
  createCollateralServer,
  createPcsClient,
  createUpstreamBackend,
  PcsError,
  type CacheFault,
} from '../../src/pcs/index.js';
import { startBadUpstream, type BadUpstream } from './helpers/bad-upstream.js';
import { goTdx } from './helpers/testdata.js';

// The upstream is a misbehaving PCS of our own on loopback (helpers/bad-upstream.ts); the client,
// proxy and SQLite cache under test are the real ones.

let up: BadUpstream;
let other: BadUpstream;
let dir: string;
const TCB = `/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`;
const NOW = () => new Date('2023-06-20T00:00:00Z');

beforeAll(async () => {
  up = await startBadUpstream();
  other = await startBadUpstream();
});
afterAll(async () => {
  await up.close();
  await other.close();
});
beforeEach(() => {
  up.mode = 'ok';
  up.requests.length = 0;
  other.requests.length = 0;
  up.bytesPushed = 0;
  dir = mkdtempSync(join(tmpdir(), 'sqh-hostile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<PcsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PcsError) return e;
    throw e;
  }
  throw new Error('expected a PcsError');
}

describe('upstream client: bounded bodies', () => {
  it('a body without end is aborted at the wire cap and the connection closed', async () => {
    up.mode = 'huge';
    const c = createPcsClient({ baseUrl: up.url, maxBodyBytes: 256 * 1024 });
    const e = await failure(c.getTcbInfo('TDX', goTdx.fmspc));
    expect(e.code).toBe('BAD_RESPONSE');
    expect(e.message).toMatch(/larger than 262144 bytes on the wire; aborted/);
    await new Promise((r) => setTimeout(r, 100));
    expect(up.openConnections()).toBe(0);
    expect(up.bytesPushed).toBeLessThan(16 * 1024 * 1024); // socket buffers, not the endless body
  });

  it('a declared Content-Length over the cap is refused before reading', async () => {
    up.mode = 'declared-huge';
    const e = await failure(createPcsClient({ baseUrl: up.url }).getTcbInfo('TDX', goTdx.fmspc));
    expect(e.message).toMatch(/larger than 8388608 bytes on the wire \(Content-Length\)/);
  });

  it('a gzip bomb passes the wire cap and is aborted at the decoded cap', async () => {
    up.mode = 'gzip-bomb';
    const c = createPcsClient({ baseUrl: up.url, maxBodyBytes: 1024 * 1024, maxDecodedBodyBytes: 2 * 1024 * 1024 });
    const e = await failure(c.getTcbInfo('TDX', goTdx.fmspc));
    expect(e.code).toBe('BAD_RESPONSE');
    expect(e.message).toMatch(/larger than 2097152 bytes after gzip decoding; aborted/);
  });

  it('a connection dropped mid-body is a network failure, not a truncated answer', async () => {
    up.mode = 'cut';
    const e = await failure(createPcsClient({ baseUrl: up.url }).getTcbInfo('TDX', goTdx.fmspc));
    expect(e.code).toBe('NETWORK');
    expect(e.message).toMatch(/connection lost while reading the answer/);
  });

  it('an upstream that never answers, or drips its body, hits the request deadline', async () => {
    for (const mode of ['no-headers', 'slow-body'] as const) {
      up.mode = mode;
      const e = await failure(createPcsClient({ baseUrl: up.url, timeoutMs: 600 }).getTcbInfo('TDX', goTdx.fmspc));
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toMatch(/within 600 ms/);
    }
  });
});

describe('upstream client: credentials stay with the configured origin', () => {
  it('a redirect to another origin is not followed: that origin sees nothing, not the key', async () => {
    up.mode = 'redirect-cross';
    up.redirectTo = other.url;
    const c = createPcsClient({ baseUrl: up.url, apiKey: 'secret-key-1', extraQuery: { code: 'secret-query-1' } });
    const e = await failure(c.getTcbInfo('TDX', goTdx.fmspc));
    expect(e.code).toBe('BAD_RESPONSE');
    expect(e.message).toContain(`redirected to another origin (${other.url}); not followed`);
    expect(e.message).not.toContain('secret-query-1');
    expect(other.requests).toHaveLength(0);
    expect(up.requests[0].headers['ocp-apim-subscription-key']).toBe('secret-key-1');
  });

  it('a same-origin redirect is followed with the key', async () => {
    up.mode = 'redirect-same';
    const c = createPcsClient({ baseUrl: up.url, apiKey: 'secret-key-2', now: NOW });
    const r = await c.getTcbInfo('TDX', goTdx.fmspc);
    expect(r.body.length).toBeGreaterThan(100);
    expect(up.requests.map((q) => q.headers['ocp-apim-subscription-key'])).toEqual(['secret-key-2', 'secret-key-2']);
  });

  it('a root CA CRL URL on another origin gets neither the key nor the extra headers', async () => {
    const c = createPcsClient({ baseUrl: up.url, apiKey: 'secret-key-3', headers: { metadata: 'true' }, rootCaCrlUrl: `${other.url}/sgx/certification/v4/rootcacrl` });
    await c.getRootCaCrl();
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0].headers['ocp-apim-subscription-key']).toBeUndefined();
    expect(other.requests[0].headers.metadata).toBeUndefined();
  });
});

describe('caching proxy over a hostile upstream', () => {
  let cache: CollateralCache;
  let proxy: FastifyInstance;
  let proxyUrl: string;
  let faults: CacheFault[];

  beforeEach(async () => {
    faults = [];
    cache = CollateralCache.open(join(dir, 'proxy.sqlite'));
    const client = createPcsClient({ baseUrl: up.url, now: NOW, extraQuery: { code: 'secret-query-2' }, maxBodyBytes: 256 * 1024 });
    proxy = createCollateralServer({ backend: createUpstreamBackend({ client, cache, now: NOW, onCacheFault: (f) => faults.push(f) }) });
    await proxy.listen({ host: '127.0.0.1', port: 0 });
    proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await proxy.close();
    cache.close();
  });

  const health = async () => (await (await fetch(`${proxyUrl}/healthz`)).json()) as { cacheFaults: number };

  it('Error-Message never shows the upstream query; a huge body is a 502, not a memory spike', async () => {
    for (const mode of ['garbage', 'huge'] as const) {
      up.mode = mode;
      const r = await fetch(`${proxyUrl}${TCB}`);
      expect(r.status).toBe(502);
      const msg = r.headers.get('Error-Message') ?? '';
      expect(msg).toContain(`${up.url}/tdx/certification/v4/tcb`);
      expect(msg).not.toContain('secret-query-2');
      expect(msg).not.toContain('?');
    }
  });

  it('a garbage cached row is refetched and answered, counted as a cache fault', async () => {
    expect((await fetch(`${proxyUrl}${TCB}`)).status).toBe(200);
    const db = new Database(cache.path);
    db.prepare("UPDATE collateral_items SET body = ? WHERE kind = 'tcbInfo'").run(Buffer.from('not json at all'));
    db.close();
    const r = await fetch(`${proxyUrl}${TCB}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('SQH-Cache')).toBe('miss');
    expect(await r.text()).toBe(goTdx.tcbInfoResponse());
    expect(faults.map((f) => f.op)).toEqual(['decode']);
    expect((await health()).cacheFaults).toBe(1);
    // the refetched copy replaced the garbage: the next answer is a hit
    expect((await fetch(`${proxyUrl}${TCB}`)).headers.get('SQH-Cache')).toBe('hit');
  });

  it('a dropped table, corrupt pages or a truncated file while running: answered, file rebuilt in place', async () => {
    // Damage lands in the main file: first move what the WAL holds there, as SQLite does on its own.
    const checkpoint = () => {
      const db = new Database(cache.path);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    };
    const damage = [
      () => {
        const db = new Database(cache.path);
        db.exec('DROP TABLE collateral_items');
        db.close();
      },
      () => {
        const fd = openSync(cache.path, 'r+');
        const size = statSync(cache.path).size;
        for (let off = 100; off < size; off += 512) writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, off);
        closeSync(fd);
      },
      () => truncateSync(cache.path, 1000),
    ];
    for (const [i, hurt] of damage.entries()) {
      expect((await fetch(`${proxyUrl}${TCB}`)).status).toBe(200);
      checkpoint();
      const before = faults.length;
      hurt();
      const r = await fetch(`${proxyUrl}${TCB}`);
      expect(r.status, `damage ${i}`).toBe(200);
      expect(await r.text()).toBe(goTdx.tcbInfoResponse());
      const again = await fetch(`${proxyUrl}${TCB}`);
      expect(again.status).toBe(200);
      expect(again.headers.get('SQH-Cache'), `damage ${i}: cache works again`).toBe('hit');
      expect(faults.length, `damage ${i} noticed`).toBeGreaterThan(before);
      expect(faults.at(-1)?.movedAside, `damage ${i}: file moved aside`).toMatch(/proxy\.sqlite\.corrupt-/);
    }
    expect((await health()).cacheFaults).toBe(faults.length);
    const aside = readdirSync(dir).filter((f) => f.startsWith('proxy.sqlite.corrupt-'));
    expect(aside.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(cache.path)).toBe(true);
  });
});

describe('cache file opened damaged', () => {
  it('a damaged SQLite file is moved aside and recreated; a file that is not SQLite is refused', () => {
    const path = join(dir, 'c.sqlite');
    const c = CollateralCache.open(path);
    c.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 100); // the header's tail and the schema page
    closeSync(fd);
    const again = CollateralCache.open(path);
    expect(again.movedAside).toMatch(/c\.sqlite\.corrupt-/);
    expect(existsSync(again.movedAside!)).toBe(true);
    expect(again.list()).toEqual([]);
    again.close();
    const notSqlite = join(dir, 'bundle.json');
    writeFileSync(notSqlite, '{"tcb_info": "this is somebody else\'s file"}');
    expect(() => CollateralCache.open(notSqlite)).toThrow(PcsError);
    expect(readFileSync(notSqlite, 'utf8')).toContain('somebody else');
  });
});
