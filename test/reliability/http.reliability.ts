/**
 * Reliability scenarios for the HTTP services (issue 13): the collateral server as a caching proxy over
 * a hostile upstream of our own on loopback, and the admission webhook. Each scenario attacks a service
 * while a well-behaved client keeps using it, and prints one line per service:
 *
 *   scenario: tried N, rejected N, served N, good-client failures N, <service> ok
 *
 * "tried" counts the hostile attempts, "rejected" those the service refused or cut off, "served" those
 * it answered normally (for cache corruption and refreshes these are the good answers wanted). The run
 * exits non-zero when a scenario fails: a good-client failure, an attack that was served, RSS growth
 * beyond the bound, or a service that no longer answers. Every loop is bounded in count and time.
 *
 *   npx tsx test/reliability/http.reliability.ts
 */
import Database from 'better-sqlite3';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startWebhookServer, type WebhookServer } from '../../src/k8s/index.js';
import {
  CollateralCache,
  createCollateralServer,
  createPcsClient,
  createUpstreamBackend,
  refreshCache,
} from '../../src/pcs/index.js';
import { makeServingCert } from '../k8s/support/certs.js';
import { admissionReview, barePod } from '../k8s/fixtures/pods.js';
import { startBadUpstream, type BadMode } from '../pcs/helpers/bad-upstream.js';
import { goTdx } from '../pcs/helpers/testdata.js';
import { drip, openRaw, type RawConnection } from '../support/raw-http.js';

const RSS_GROWTH_LIMIT_MB = 600;
const NOW = () => new Date('2023-06-20T00:00:00Z'); // inside the replayed collateral's validity
const TCB = `/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`;
const ITEMS = [TCB, '/tdx/certification/v4/qe/identity', '/sgx/certification/v4/pckcrl?ca=platform', '/sgx/certification/v4/rootcacrl'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: Buffer;
}

/** One request on a keep-alive agent, bounded by `timeoutMs`; a network failure is status 0. */
function send(agent: HttpAgent | HttpsAgent, url: string, opts: { method?: string; body?: string | Buffer; ca?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const r = req(
      u,
      {
        method: opts.method ?? 'GET',
        agent: agent as HttpsAgent,
        ca: opts.ca,
        headers: opts.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {},
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
      },
    );
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    r.end(opts.body);
  });
}

/** A well-behaved client: one request every 100 ms on its own keep-alive connection, retried twice. */
class GoodClient {
  served = 0;
  failures = 0;
  private running = false;
  private loop?: Promise<void>;
  constructor(private readonly attempt: () => Promise<boolean>) {}
  start(): void {
    this.running = true;
    this.served = 0;
    this.failures = 0;
    this.loop = (async () => {
      while (this.running) {
        let ok = false;
        for (let i = 0; i < 3 && !ok; i++) {
          ok = await this.attempt();
          if (!ok) await sleep(300);
        }
        if (ok) this.served++;
        else this.failures++;
        await sleep(100);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

interface Line {
  scenario: string;
  service: string;
  tried: number;
  rejected: number;
  served: number;
  good: GoodClient;
  problems: string[];
}

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const baseRss = process.memoryUsage().rss;
let failed = false;

function report(l: Line): void {
  const growth = (peakRss - baseRss) / 2 ** 20;
  if (growth > RSS_GROWTH_LIMIT_MB) l.problems.push(`RSS grew ${growth.toFixed(0)} MB (limit ${RSS_GROWTH_LIMIT_MB} MB)`);
  if (l.good.failures > 0) l.problems.push('the well-behaved client was not served');
  if (l.good.served === 0) l.problems.push('the well-behaved client made no request');
  const verdict = l.problems.length ? `${l.service} FAILED: ${l.problems.join('; ')}` : `${l.service} ok`;
  if (l.problems.length) failed = true;
  process.stdout.write(
    `${l.scenario}: tried ${l.tried}, rejected ${l.rejected}, served ${l.served}, good-client failures ${l.good.failures}, ${verdict} (good requests ${l.good.served}, peak RSS +${growth.toFixed(0)} MB)\n`,
  );
}

/** Run `attack` with the good client going; stop the client afterwards, whatever happened. */
async function scenario(name: string, service: string, good: GoodClient, attack: (l: Line) => Promise<void>, deadlineMs = 15_000): Promise<void> {
  const l: Line = { scenario: name, service, tried: 0, rejected: 0, served: 0, good, problems: [] };
  good.start();
  await sleep(200);
  const timedOut = Symbol('timeout');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    attack(l).then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise((r) => (timer = setTimeout(() => r(timedOut), deadlineMs))),
  ]);
  clearTimeout(timer);
  if (outcome === timedOut) l.problems.push(`scenario did not finish within ${deadlineMs} ms`);
  else if (outcome !== undefined) l.problems.push(`attack threw: ${(outcome as Error).message}`);
  await sleep(200);
  await good.stop();
  report(l);
  peakRss = process.memoryUsage().rss;
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sqh-reliability-http-'));
  const up = await startBadUpstream('ok');

  // Collateral server in proxy mode, real SQLite cache, limits shortened so the scenarios are quick.
  const cachePath = join(dir, 'proxy.sqlite');
  const cache = CollateralCache.open(cachePath);
  const client = createPcsClient({ baseUrl: up.url, now: NOW, timeoutMs: 1500 });
  const backend = createUpstreamBackend({ client, cache, now: NOW, onCacheFault: () => undefined });
  const proxy = createCollateralServer({
    backend,
    limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 30_000, maxRequestsPerSocket: 0, maxConnections: 256 },
  });
  await proxy.listen({ host: '127.0.0.1', port: 0 });
  const proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;

  // Webhook over HTTPS with a test certificate.
  const cert = await makeServingCert();
  writeFileSync(join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
  const webhook: WebhookServer = await startWebhookServer({
    certPath: join(dir, 'tls.crt'),
    keyPath: join(dir, 'tls.key'),
    listen: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 30_000, maxRequestsPerSocket: 0 },
  });

  const goodProxyAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const goodHookAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: cert.certPem });
  const expectedTcb = goTdx.tcbInfoResponse();
  const proxyGood = () =>
    new GoodClient(async () => {
      const r = await send(goodProxyAgent, `${proxyUrl}${TCB}`);
      return r.status === 200 && r.body.toString() === expectedTcb;
    });
  const reviewBody = () => JSON.stringify(admissionReview(barePod()));
  const hookGood = () =>
    new GoodClient(async () => {
      const r = await send(goodHookAgent, `${webhook.url}/mutate`, { method: 'POST', body: reviewBody(), ca: cert.certPem });
      return r.status === 200 && r.body.includes('"allowed":true');
    });

  // Warm the cache: the good proxy client is served from it while the upstream misbehaves.
  for (const p of ITEMS) await send(goodProxyAgent, `${proxyUrl}${p}`);

  const closedByServer = async (conns: RawConnection[], waitMs: number) => {
    const t0 = Date.now();
    while (Date.now() - t0 < waitMs && conns.some((c) => !c.isClosed())) await sleep(100);
    return conns.filter((c) => c.isClosed()).length;
  };

  try {
    // 1. Slow clients: headers and bodies dripped a byte every 200 ms; all cut by the deadlines.
    await scenario('slow-clients', 'collateral-server', proxyGood(), async (l) => {
      const conns = await Promise.all(Array.from({ length: 150 }, () => openRaw(proxyUrl)));
      l.tried = conns.length;
      conns.forEach((c) => void drip(c, Buffer.from(`GET ${TCB} HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`), 200));
      l.rejected = await closedByServer(conns, 6000);
      l.served = conns.filter((c) => /HTTP\/1\.1 200/.test(c.received())).length;
      conns.forEach((c) => c.destroy());
      if (l.rejected !== l.tried) l.problems.push(`${l.tried - l.rejected} slow connections were never cut`);
    });
    await scenario('slow-clients', 'webhook', hookGood(), async (l) => {
      // 300 connections (the attack) against a cap of 64: the rest refused, the held ones cut.
      const settled = await Promise.allSettled(Array.from({ length: 300 }, () => openRaw(webhook.url, { ca: cert.certPem })));
      const conns = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      l.tried = settled.length;
      const body = Buffer.from(reviewBody());
      for (const c of conns) {
        c.send(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        void drip(c, body, 200);
      }
      l.rejected = (settled.length - conns.length) + (await closedByServer(conns, 6000));
      l.served = conns.filter((c) => /HTTP\/1\.1 200/.test(c.received())).length;
      conns.forEach((c) => c.destroy());
      if (l.rejected !== l.tried) l.problems.push(`${l.tried - l.rejected} slow connections were never cut`);
    });

    // 2. Huge and compressed bodies.
    await scenario('huge-bodies', 'webhook', hookGood(), async (l) => {
      // 100 connections each holding a 3.9 MiB body open (the issue: RSS 113 → 498 MB, indefinitely),
      // then 30 bodies over the 4 MiB cap.
      const big = Buffer.alloc(Math.floor(3.9 * 2 ** 20), 0x20);
      const settled = await Promise.allSettled(Array.from({ length: 100 }, () => openRaw(webhook.url, { ca: cert.certPem })));
      const conns = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      for (const c of conns) {
        c.send(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length + 10}\r\n\r\n`);
        c.send(big);
      }
      const held = await closedByServer(conns, 6000);
      const agent = new HttpsAgent({ keepAlive: false, ca: cert.certPem });
      const over = await Promise.all(Array.from({ length: 30 }, () => send(agent, `${webhook.url}/mutate`, { method: 'POST', body: Buffer.alloc(5 * 2 ** 20, 0x20), ca: cert.certPem })));
      l.tried = settled.length + over.length;
      l.rejected = settled.length - conns.length + held + over.filter((r) => r.status === 413 || r.status === 0).length;
      l.served = over.filter((r) => r.status === 200).length + conns.filter((c) => /HTTP\/1\.1 200/.test(c.received())).length;
      conns.forEach((c) => c.destroy());
      agent.destroy();
      if (l.rejected !== l.tried) l.problems.push(`${l.tried - l.rejected} huge bodies were accepted or kept`);
    });
    await scenario('huge-bodies', 'collateral-server', proxyGood(), async (l) => {
      // Uncached requests (a specific tcbEvaluationDataNumber) go to an upstream sending endless,
      // 300 MB-declared and gzip-bomb bodies; request bodies over the cap too.
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 10 });
      for (const mode of ['huge', 'declared-huge', 'gzip-bomb'] as BadMode[]) {
        up.mode = mode;
        const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => send(agent, `${proxyUrl}${TCB}&tcbEvaluationDataNumber=${i + 1}`)));
        l.tried += rs.length;
        l.rejected += rs.filter((r) => r.status === 502).length;
        l.served += rs.filter((r) => r.status === 200).length;
      }
      up.mode = 'ok';
      const posts = await Promise.all(Array.from({ length: 10 }, () => send(agent, `${proxyUrl}/healthz`, { method: 'POST', body: Buffer.alloc(2 ** 20, 0x20) })));
      l.tried += posts.length;
      l.rejected += posts.filter((r) => r.status === 413 || r.status === 0).length;
      l.served += posts.filter((r) => r.status === 200).length;
      agent.destroy();
      if (l.rejected !== l.tried) l.problems.push(`${l.tried - l.rejected} hostile answers were not refused`);
    });

    // 3. Malformed upstream answers: garbage, silence, drips, cross-origin redirects.
    await scenario('malformed-upstream', 'collateral-server', proxyGood(), async (l) => {
      const other = await startBadUpstream('ok');
      up.redirectTo = other.url;
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 20 });
      for (const mode of ['garbage', 'no-headers', 'slow-body', 'redirect-cross'] as BadMode[]) {
        up.mode = mode;
        const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => send(agent, `${proxyUrl}${TCB}&tcbEvaluationDataNumber=${100 + i}`)));
        l.tried += rs.length;
        l.rejected += rs.filter((r) => r.status === 502).length;
        l.served += rs.filter((r) => r.status === 200).length;
      }
      up.mode = 'ok';
      agent.destroy();
      if (other.requests.length > 0) l.problems.push(`the redirect target received ${other.requests.length} requests`);
      await other.close();
      if (l.rejected !== l.tried) l.problems.push(`${l.tried - l.rejected} malformed answers were not refused`);
    });

    // 4. Cache corruption while running: every item still answered, the file rebuilt in place.
    await scenario('cache-corruption', 'collateral-server', proxyGood(), async (l) => {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
      const damage = [
        () => {
          const db = new Database(cachePath);
          db.exec('DROP TABLE collateral_items');
          db.close();
        },
        () => {
          const db = new Database(cachePath);
          db.pragma('wal_checkpoint(TRUNCATE)');
          db.close();
          const fd = openSync(cachePath, 'r+');
          const size = statSync(cachePath).size;
          for (let off = 100; off < size; off += 512) writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, off);
          closeSync(fd);
        },
        () => truncateSync(cachePath, 1000),
        () => {
          const db = new Database(cachePath);
          db.prepare('UPDATE collateral_items SET body = ?').run(Buffer.from('garbage'));
          db.close();
        },
      ];
      for (let round = 0; round < 2; round++) {
        for (const hurt of damage) {
          for (const p of ITEMS) await send(agent, `${proxyUrl}${p}`); // make sure every item is cached
          hurt();
          const rs = await Promise.all(ITEMS.map((p) => send(agent, `${proxyUrl}${p}`)));
          l.tried += rs.length;
          l.served += rs.filter((r) => r.status === 200).length;
          l.rejected += rs.filter((r) => r.status !== 200).length;
        }
      }
      agent.destroy();
      const health = JSON.parse((await send(new HttpAgent(), `${proxyUrl}/healthz`)).body.toString()) as { cacheFaults?: number };
      if (!health.cacheFaults) l.problems.push('no cache fault was counted');
      if (l.served !== l.tried) l.problems.push(`${l.tried - l.served} items were not answered after cache damage`);
    });

    // 5. Concurrent refreshes: `collateral refresh` runs (own cache handles, as separate processes would)
    // while 100 concurrent clients ask the proxy for the same items.
    await scenario('concurrent-refreshes', 'collateral-server', proxyGood(), async (l) => {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 20 });
      for (let round = 0; round < 3; round++) {
        const handles = Array.from({ length: 3 }, () => CollateralCache.open(cachePath));
        const refreshes = handles.map((h) => refreshCache({ cache: h, clientFor: (b) => createPcsClient({ baseUrl: b, now: NOW }), now: NOW }));
        const asks = Array.from({ length: 100 }, (_, i) => send(agent, `${proxyUrl}${ITEMS[i % ITEMS.length]}`));
        const [outcomes, rs] = await Promise.all([Promise.all(refreshes), Promise.all(asks)]);
        handles.forEach((h) => h.close());
        const items = outcomes.flat();
        l.tried += items.length + rs.length;
        l.served += items.filter((o) => o.ok).length + rs.filter((r) => r.status === 200).length;
        l.rejected += items.filter((o) => !o.ok).length + rs.filter((r) => r.status !== 200).length;
      }
      agent.destroy();
      if (l.served !== l.tried) l.problems.push(`${l.tried - l.served} refreshes or answers failed`);
    });
  } finally {
    goodProxyAgent.destroy();
    goodHookAgent.destroy();
    await proxy.close();
    cache.close();
    await webhook.close();
    await up.close();
    clearInterval(rssTimer);
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`http reliability: ${failed ? 'FAILED' : 'all scenarios ok'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`http reliability: crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
