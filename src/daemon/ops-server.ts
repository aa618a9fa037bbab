/**
 * Ops HTTP server (fastify): /healthz (process alive), /readyz (the provider can quote now),
 * /metrics (Prometheus text). It never touches the provider queue, so a slow provider cannot stall it,
 * and /metrics never waits for a health check at all.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ProviderHealth, QuoteProvider } from '../providers/provider.js';
import type { OpsListen } from './config.js';
import { applyServerLimits, fastifyLimitOptions, nodeServerOptions, resolveServerLimits, type HttpServerLimits } from '../http-limits.js';
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

export function buildOpsServer(opts: OpsServerOptions): FastifyInstance {
  const timeout = opts.healthTimeoutMs ?? 2000;
  const limits = resolveServerLimits(OPS_SERVER_LIMITS, opts.limits);
  const app = Fastify({ logger: false, ...fastifyLimitOptions(limits), http: nodeServerOptions(limits) });
  applyServerLimits(app.server, limits);
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

  // service and pid let `doctor` tell whether this process is the one that published the socket
  // (its identity record names the pid): two instances answering for one node show up that way.
  app.get('/healthz', async () => ({ status: 'ok', draining: opts.isDraining(), service: 'sgx-quote-helper', pid: process.pid }));

  app.get('/readyz', async (_req, reply) => {
    if (opts.isDraining()) return reply.code(503).send({ ready: false, reason: 'draining: this instance is shutting down or was replaced' });
    const h = await health.check();
    return reply.code(h.ready ? 200 : 503).send({
      ready: h.ready,
      provider: opts.provider.name,
      simulated: opts.provider.simulated,
      ...(h.reason ? { reason: h.reason } : {}),
      ...(h.fmspc ? { fmspc: h.fmspc } : {}),
      ...(h.tcbStatus ? { tcbStatus: h.tcbStatus } : {}),
      ...(h.warnings?.length ? { warnings: h.warnings } : {}),
    });
  });

  app.get('/metrics', async (_req, reply) => {
    // Never waits for the provider: a scrape must not take as long as a hung upstream.
    health.latest(15_000);
    const text = await opts.metrics.registry.metrics();
    return reply.header('content-type', opts.metrics.registry.contentType).send(text);
  });
  return app;
}

export interface OpsHandle {
  /** Resolves to the listening app and address, or undefined if it never could listen. */
  ready: Promise<{ app: FastifyInstance; address: string } | undefined>;
  close(): Promise<void>;
}

/**
 * Listen; if the address is busy (the instance we are replacing still holds it), keep retrying in
 * the background until `retryForMs` passes, so the AESM socket handover is never held up by it.
 * Throws at once for any other listen error (bad host, permission).
 */
export async function startOps(build: () => FastifyInstance, at: OpsListen, logger: Logger, retryForMs: number): Promise<OpsHandle> {
  let current: FastifyInstance | undefined;
  let closed = false;
  const attempt = async (): Promise<{ app: FastifyInstance; address: string }> => {
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
  let first: { app: FastifyInstance; address: string } | undefined;
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
