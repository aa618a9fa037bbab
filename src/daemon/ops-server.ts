/**
 * Ops HTTP server (node:http): /healthz (process alive), /readyz (the provider can quote now),
 * /metrics (Prometheus text). It never touches the provider queue, so a slow provider cannot stall it,
 * and /metrics never waits for a health check at all.
 *
 * Plain node:http, not fastify: three fixed GET routes need no router, and fastify with one route
 * kept 6-7 MB more resident in the daemon (docs/benchmarks.md "Memory"), which runs on every node.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ProviderHealth, QuoteProvider } from '../providers/provider.js';
import type { OpsListen } from './config.js';
import { applyServerLimits, nodeServerOptions, resolveServerLimits, type HttpServerLimits } from '../http-limits.js';
import { http } from '../node-http.js';
import { DaemonError } from './errors.js';
import type { DaemonMetrics } from './metrics.js';

/**
 * The ops port answers three small GETs to a kubelet and a Prometheus scraper; it may also be reachable
 * from the pod network (`--ops-listen 0.0.0.0:9464`), so a slow or greedy client is cut like anywhere
 * else: short deadlines, a few connections, no request body worth the name.
 */
export const OPS_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 64,
  bodyLimitBytes: 1024,
};

export interface OpsServerOptions {
  provider: QuoteProvider;
  metrics: DaemonMetrics;
  logger: Logger;
  version: string;
  /** True while draining (after SIGTERM or a handover): /readyz answers 503. */
  isDraining: () => boolean;
  /** Upper bound for provider.health() (default 2 s). */
  healthTimeoutMs?: number;
  /** HTTP limits (default OPS_SERVER_LIMITS). */
  limits?: Partial<HttpServerLimits>;
}

export async function providerHealth(provider: QuoteProvider, timeoutMs: number): Promise<ProviderHealth> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      provider.health(),
      new Promise<ProviderHealth>((resolve) => {
        timer = setTimeout(() => resolve({ ready: false, reason: `provider health check did not answer within ${timeoutMs} ms` }), timeoutMs);
      }),
    ]);
  } catch (e) {
    return { ready: false, reason: `provider health check failed: ${(e as Error).message}` };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * The provider's health, asked at most once at a time: concurrent /readyz requests share one check,
 * and /metrics only ever reads the last answer (starting a refresh in the background when it is old).
 */
export class HealthCache {
  private last: ProviderHealth = { ready: false, reason: 'not checked yet' };
  private lastAt = -Infinity;
  private inFlight: Promise<ProviderHealth> | undefined;

  constructor(
    private readonly provider: QuoteProvider,
    private readonly timeoutMs: number,
    private readonly onUpdate: (h: ProviderHealth) => void,
  ) {}

  /** A fresh answer (waits for the check, at most `timeoutMs`). */
  check(): Promise<ProviderHealth> {
    this.inFlight ??= providerHealth(this.provider, this.timeoutMs).then((h) => {
      this.last = h;
      this.lastAt = performance.now();
      this.inFlight = undefined;
      this.onUpdate(h);
      return h;
    });
    return this.inFlight;
  }

  /** The last answer, never waiting; refreshes in the background when older than `maxAgeMs`. */
  latest(maxAgeMs: number): ProviderHealth {
    if (performance.now() - this.lastAt > maxAgeMs) void this.check();
    return this.last;
  }
}

/** The ops server, built but not yet listening. */
export interface OpsServer {
  readonly server: Server;
  /** Listen; resolves to the address as a URL (`http://127.0.0.1:9464`). */
  listen(at: { host: string; port: number }): Promise<string>;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

export function buildOpsServer(opts: OpsServerOptions): OpsServer {
  const timeout = opts.healthTimeoutMs ?? 2000;
  const limits = resolveServerLimits(OPS_SERVER_LIMITS, opts.limits);
  const updateInfo = (h: ProviderHealth) =>
    opts.metrics.setInfo({
      version: opts.version,
      provider: opts.provider.name,
      simulated: String(opts.provider.simulated),
      fmspc: h.fmspc ?? '',
      tcb_status: h.tcbStatus ?? '',
    });
  updateInfo({ ready: false });
  const health = new HealthCache(opts.provider, timeout, updateInfo);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && !head) {
      sendJson(res, 404, { message: `Route ${req.method}:${path} not found`, error: 'Not Found', statusCode: 404 }, false);
      return;
    }
    switch (path) {
      case '/healthz':
        // service and pid let `doctor` tell whether this process is the one that published the socket
        // (its identity record names the pid): two instances answering for one node show up that way.
        sendJson(res, 200, { status: 'ok', draining: opts.isDraining(), service: 'sgx-quote-helper', pid: process.pid }, head);
        return;
      case '/readyz': {
        if (opts.isDraining()) {
          sendJson(res, 503, { ready: false, reason: 'draining: this instance is shutting down or was replaced' }, head);
          return;
        }
        const h = await health.check();
        sendJson(res, h.ready ? 200 : 503, {
          ready: h.ready,
          provider: opts.provider.name,
          simulated: opts.provider.simulated,
          ...(h.reason ? { reason: h.reason } : {}),
          ...(h.fmspc ? { fmspc: h.fmspc } : {}),
          ...(h.tcbStatus ? { tcbStatus: h.tcbStatus } : {}),
          ...(h.warnings?.length ? { warnings: h.warnings } : {}),
        }, head);
        return;
      }
      case '/metrics': {
        // Never waits for the provider: a scrape must not take as long as a hung upstream.
        health.latest(15_000);
        const text = await opts.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(head ? undefined : text);
        return;
      }
      default:
        sendJson(res, 404, { message: `Route ${req.method}:${path} not found`, error: 'Not Found', statusCode: 404 }, head);
    }
  };

  const server = http.createServer({ ...nodeServerOptions(limits) }, (req, res) => {
    // No route takes a body: one above the cap is refused before it is read, a smaller one is
    // read and dropped (the request deadline still cuts a body dripped in).
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.bodyLimitBytes) {
      res.shouldKeepAlive = false;
      sendJson(res, 413, { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is too large' }, false);
      req.destroy();
      return;
    }
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.bodyLimitBytes) req.destroy();
    });
    req.on('end', () => {
      route(req, res).catch((e) => {
        opts.logger.error({ err: (e as Error).message, url: req.url }, 'ops request failed');
        if (!res.headersSent) sendJson(res, 500, { statusCode: 500, error: 'Internal Server Error', message: 'ops request failed' }, false);
        else res.destroy();
      });
    });
    req.on('error', () => res.destroy());
  });
  applyServerLimits(server, limits);
  // No traffic at all on a socket for this long: closed (fastify's connectionTimeout did the same).
  server.timeout = limits.idleTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.on('clientError', (_e, socket) => socket.destroy());

  return {
    server,
    listen: (at) =>
      new Promise<string>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        server.once('error', onError);
        server.listen(at.port, at.host, () => {
          server.off('error', onError);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          server.closeAllConnections();
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface OpsHandle {
  /** Resolves to the listening app and address, or undefined if it never could listen. */
  ready: Promise<{ app: OpsServer; address: string } | undefined>;
  close(): Promise<void>;
}

/**
 * Listen; if the address is busy (the instance we are replacing still holds it), keep retrying in
 * the background until `retryForMs` passes, so the AESM socket handover is never held up by it.
 * Throws at once for any other listen error (bad host, permission).
 */
export async function startOps(build: () => OpsServer, at: OpsListen, logger: Logger, retryForMs: number): Promise<OpsHandle> {
  let current: OpsServer | undefined;
  let closed = false;
  const attempt = async (): Promise<{ app: OpsServer; address: string }> => {
    const app = build();
    current = app;
    try {
      const address = await app.listen({ host: at.host, port: at.port });
      return { app, address };
    } catch (e) {
      await app.close().catch(() => undefined);
      throw e;
    }
  };
  let first: { app: OpsServer; address: string } | undefined;
  try {
    first = await attempt();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new DaemonError('OPS_LISTEN_FAILED', `ops server cannot listen on ${at.host}:${at.port}: ${(e as Error).message}`);
    }
  }
  const close = async () => {
    closed = true;
    await current?.close().catch(() => undefined);
  };
  if (first) return { ready: Promise.resolve(first), close };
  logger.warn({ host: at.host, port: at.port }, 'ops address in use (previous instance still draining?); retrying in the background');
  const deadline = Date.now() + retryForMs;
  const ready = (async () => {
    while (!closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (closed) break;
      try {
        const r = await attempt();
        if (closed) {
          await r.app.close();
          return undefined;
        }
        logger.info({ address: r.address }, 'ops server listening');
        return r;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    if (!closed) logger.error({ host: at.host, port: at.port }, 'ops server could not listen; /healthz, /readyz and /metrics are unavailable');
    return undefined;
  })();
  return { ready, close };
}
