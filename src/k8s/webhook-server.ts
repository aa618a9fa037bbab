import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { applyServerLimits, fastifyLimitOptions, nodeServerOptions, resolveServerLimits, type HttpServerLimits } from '../http-limits.js';
import { createJsonLogger } from '../log/index.js';
import { reviewAdmission } from './admission-review.js';
import { AdmissionReviewError } from './errors.js';
import type { ListenAddress } from './listen-address.js';
import { TlsFileWatcher, loadTlsMaterial, type TlsMaterial } from './tls-files.js';
import { WebhookMetrics } from './webhook-metrics.js';

export interface WebhookServerOptions {
  certPath: string;
  keyPath: string;
  /** HTTPS: POST /mutate, GET /healthz, GET /metrics */
  listen: ListenAddress;
  /** Optional plain-HTTP ops listener (GET /healthz, /readyz, /metrics) for kubelet probes and
   * Prometheus, which then need no TLS trust. */
  opsListen?: ListenAddress;
  tlsReloadIntervalMs?: number;
  logger?: Logger;
  /** Registers process metrics too (CLI use; tests keep them off). */
  defaultMetrics?: boolean;
  /** Connection and request limits of both listeners; unset ones take WEBHOOK_SERVER_LIMITS. */
  limits?: Partial<HttpServerLimits>;
}

export interface WebhookServer {
  /** https://host:port of the admission endpoint's server */
  readonly url: string;
  readonly port: number;
  readonly opsUrl: string | undefined;
  readonly metrics: WebhookMetrics;
  readonly tls: TlsMaterial;
  /** Re-read the certificate and key now (also done on a timer); true when a new pair was applied. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

/**
 * Defaults (docs/kubernetes.md). Pods with many containers and large env blocks stay far below the body
 * cap; the API server caps objects at ~3 MiB. The API server opens few connections, so 64 is generous
 * and bounds what slow senders can hold: 64 × 4 MiB, each for at most the 15 s request timeout.
 */
export const WEBHOOK_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 64,
  bodyLimitBytes: 4 * 1024 * 1024,
};

/** The ops listener only answers GETs from kubelet and Prometheus. */
const OPS_BODY_LIMIT = 16 * 1024;

function urlOf(scheme: string, server: { address(): AddressInfo | string | null }): { url: string; port: number } {
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { url: `${scheme}://${host}:${addr.port}`, port: addr.port };
}

// Structural type: both servers (HTTPS and plain) get the same routes whatever their generics.
type RouteHost = Pick<FastifyInstance, 'get'>;

function addOpsRoutes(app: RouteHost, metrics: WebhookMetrics, isReady: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!isReady()) return reply.code(503).send({ status: 'not ready' });
    return { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** Start the mutating admission webhook over HTTPS (and the optional ops listener). */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.logger ?? createJsonLogger('info', { component: 'webhook' });
  const metrics = new WebhookMetrics({ defaultMetrics: opts.defaultMetrics });
  const initial = loadTlsMaterial(opts.certPath, opts.keyPath);
  metrics.certExpiry.set(initial.notAfter.getTime() / 1000);
  let closing = false;

  const limits = resolveServerLimits(WEBHOOK_SERVER_LIMITS, opts.limits);
  const app = Fastify<HttpsServer>({
    https: { cert: initial.cert, key: initial.key, minVersion: 'TLSv1.2', ...nodeServerOptions(limits) },
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyLimitOptions(limits),
  });
  applyServerLimits(app.server, limits);
  // Parse the body ourselves so a malformed review gets our error shape and a counted reason.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const watcher = new TlsFileWatcher(
    {
      certPath: opts.certPath,
      keyPath: opts.keyPath,
      intervalMs: opts.tlsReloadIntervalMs,
      onReload: (m) => {
        app.server.setSecureContext({ cert: m.cert, key: m.key, minVersion: 'TLSv1.2' });
        metrics.tlsReloads.inc({ result: 'ok' });
        metrics.certExpiry.set(m.notAfter.getTime() / 1000);
        log.info({ fingerprint: m.fingerprint, notAfter: m.notAfter.toISOString() }, 'serving certificate reloaded');
      },
      onError: (err) => {
        metrics.tlsReloads.inc({ result: 'error' });
        log.warn({ code: err.code }, `serving certificate not reloaded, keeping the current one: ${err.message}`);
      },
    },
    initial,
  );

  app.post('/mutate', async (req, reply) => {
    const end = metrics.reviewSeconds.startTimer();
    try {
      const result = reviewAdmission(req.body);
      metrics.reviews.inc({ outcome: result.outcome });
      const r = result.request;
      const pod = (r.object as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
      log.info(
        {
          uid: r.uid,
          namespace: r.namespace,
          pod: r.name || pod?.name || (pod?.generateName ? `${pod.generateName}*` : undefined),
          outcome: result.outcome,
          dryRun: r.dryRun === true,
        },
        result.detail,
      );
      return reply.send(result.review);
    } catch (err) {
      if (!(err instanceof AdmissionReviewError)) throw err;
      metrics.badRequests.inc({ code: err.code });
      log.warn({ code: err.code }, `rejected a malformed AdmissionReview: ${err.message}`);
      return reply.code(400).send({ error: err.code, message: err.message });
    } finally {
      end();
    }
  });
  addOpsRoutes(app as unknown as RouteHost, metrics, () => !closing);

  const opsLimits = { ...limits, bodyLimitBytes: Math.min(limits.bodyLimitBytes, OPS_BODY_LIMIT) };
  const ops = opts.opsListen
    ? Fastify({
        loggerInstance: log,
        logController: new LogController({ disableRequestLogging: true }),
        ...fastifyLimitOptions(opsLimits),
        http: nodeServerOptions(opsLimits),
      })
    : undefined;
  if (ops) applyServerLimits(ops.server, opsLimits);
  if (ops) addOpsRoutes(ops as unknown as RouteHost, metrics, () => !closing);
  try {
    await app.listen({ host: opts.listen.host, port: opts.listen.port });
    if (ops && opts.opsListen) await ops.listen({ host: opts.opsListen.host, port: opts.opsListen.port });
  } catch (err) {
    await app.close();
    await ops?.close();
    throw err;
  }
  watcher.start();

  const main = urlOf('https', app.server);
  const opsUrl = ops ? urlOf('http', ops.server).url : undefined;
  log.info({ url: main.url, opsUrl, fingerprint: initial.fingerprint }, 'admission webhook listening');
  return {
    url: main.url,
    port: main.port,
    opsUrl,
    metrics,
    get tls() {
      return watcher.material;
    },
    reloadTls: () => watcher.check(),
    close: async () => {
      closing = true;
      watcher.stop();
      await Promise.all([app.close(), ops?.close()]);
    },
  };
}
