import { X509Certificate, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Collateral, CollateralSource } from '../pcs/types.js';
import { TlsFileWatcher, loadTlsMaterial } from '../k8s/tls-files.js';
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from '../verify/index.js';
import { VERSION } from '../version.js';
import { applyServerLimits, fastifyLimitOptions, nodeServerOptions, resolveServerLimits, type HttpServerLimits } from '../http-limits.js';
import { ATTESTATION_TYPES, Attester, type AttestationType } from './attester.js';
import { CLAIMS_SUPPORTED } from './claims.js';
import { AttestError } from './errors.js';
import { KeyRing, KeyStoreError, ensureStateKeys, jwkSet, type KeySource } from './keys.js';
import { AttestMetrics } from './metrics.js';
import type { AttestPolicy } from './policy.js';
import type { JwsAlgorithm } from './jws.js';

/** api-version values of MAA's published API (the 2026 preview's content is unknown, so it is not listed). */
export const API_VERSIONS = ['2018-09-01-preview', '2020-10-01', '2022-08-01', '2022-09-01-preview', '2025-06-01'] as const;
/** TdxVm exists from 2025-06-01 on. */
export const TDX_API_VERSIONS = ['2025-06-01'] as const;

/** The service's connection and request limits: the same set as every HTTP server of ours (src/http-limits.ts). */
export type AttestServiceLimits = HttpServerLimits;

/** Defaults of `attest serve` (every one a flag of the same name as on `collateral serve` and `webhook serve`). */
export const ATTEST_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 512,
  // A v3 quote is ~5 kB, a TDX quote ~8 kB, base64 adds a third; runtime data is capped at 64 KiB.
  bodyLimitBytes: 1024 * 1024,
};

export interface AttestServiceOptions {
  listen: { host: string; port: number };
  /** HTTPS certificate and key files (reloaded when they change); absent = plain HTTP (loopback only) */
  tls?: { certPath: string; keyPath: string; reloadIntervalMs?: number };
  /** the issuer; default the URL it listens on (https://HOST:PORT) */
  publicUrl?: string;
  keys: KeySource;
  /** for keys generated in the state directory */
  keyAlgorithm?: JwsAlgorithm;
  keyReloadIntervalMs?: number;
  policy: AttestPolicy;
  collateral?: Collateral;
  source?: CollateralSource;
  trustedRoots?: (string | Buffer)[];
  tokenLifetimeSeconds?: number;
  /** Connection and request limits; unset ones take ATTEST_SERVER_LIMITS. */
  limits?: Partial<HttpServerLimits>;
  logger?: Logger;
  defaultMetrics?: boolean;
  now?: () => Date;
  /** see AttesterOptions.verifyAt */
  verifyAt?: Date;
}

export interface AttestService {
  /** the issuer (base URL, no trailing slash) */
  readonly url: string;
  readonly port: number;
  readonly metrics: AttestMetrics;
  readonly keys: KeyRing;
  readonly simulatedRootsTrusted: boolean;
  /** re-read keys and TLS files now (also done on timers) */
  reload(): void;
  close(): Promise<void>;
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');

function rootFingerprint(root: string | Buffer): string {
  return new X509Certificate(root).fingerprint256;
}

function maaError(reply: FastifyReply, e: AttestError): FastifyReply {
  return reply.code(e.status).header('x-ms-error-code', e.code).send(e.body);
}

/** Map the framework's own errors (limits, content types, bad JSON) to MAA's error shape. */
function frameworkError(err: FastifyError): AttestError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AttestError(413, 'RequestTooLarge', err.message);
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AttestError(415, 'UnsupportedMediaType', 'send the request as Content-Type: application/json');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new AttestError(400, 'InvalidParameter', err.message);
  if ((err.statusCode ?? 500) < 500) return new AttestError(err.statusCode ?? 400, 'InvalidParameter', err.message);
  return new AttestError(500, 'InternalError', 'internal error');
}

function checkApiVersion(v: unknown, allowed: readonly string[], required: boolean): void {
  if (v === undefined) {
    if (required) throw new AttestError(400, 'MissingApiVersionParameter', `the api-version query parameter is required (one of ${allowed.join(', ')})`);
    return;
  }
  if (typeof v !== 'string' || !allowed.includes(v)) {
    throw new AttestError(400, 'UnsupportedApiVersion', `api-version ${JSON.stringify(v)} is not supported here; use one of ${allowed.join(', ')}`);
  }
}

/** Start the MAA-compatible attestation service. */
export async function startAttestService(o: AttestServiceOptions): Promise<AttestService> {
  const log = o.logger ?? pino({ name: 'sgx-quote-helper-attest' });
  const limits = resolveServerLimits(ATTEST_SERVER_LIMITS, o.limits);
  const metrics = new AttestMetrics({ defaultMetrics: o.defaultMetrics });
  const lifetime = o.tokenLifetimeSeconds ?? 8 * 3600;
  if (!o.tls && !isLoopback(o.listen.host)) {
    throw new AttestError(400, 'InvalidParameter', `plain HTTP is for loopback development only; ${o.listen.host} is not a loopback address (give TLS files)`);
  }
  const intelFp = INTEL_SGX_ROOT_CA_SHA256;
  const roots = o.trustedRoots ?? [INTEL_SGX_ROOT_CA_PEM];
  const simulatedRoots = roots.map(rootFingerprint).filter((fp) => fp !== intelFp);
  const simulatedRootsTrusted = simulatedRoots.length > 0;
  metrics.simulatedRootsTrusted.set(simulatedRootsTrusted ? 1 : 0);

  const tlsInitial = o.tls ? loadTlsMaterial(o.tls.certPath, o.tls.keyPath) : undefined;
  const app = Fastify({
    ...(tlsInitial
      ? { https: { cert: tlsInitial.cert, key: tlsInitial.key, minVersion: 'TLSv1.2' as const, ...nodeServerOptions(limits) } }
      : { http: nodeServerOptions(limits) }),
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyLimitOptions(limits),
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: () => randomUUID(),
  }) as unknown as FastifyInstance;
  const server = app.server as Server;
  applyServerLimits(server, limits);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-ms-request-id', req.id);
    reply.header('x-ms-maa-service-version', `sgx-quote-helper/${VERSION}`);
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const e = err instanceof AttestError ? err : frameworkError(err);
    if (e.status >= 500) log.error({ err: err.message }, 'request failed');
    return maaError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => maaError(reply, new AttestError(404, 'NotFound', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)));

  let attester: Attester | undefined;
  let keys: KeyRing | undefined;
  let issuer = '';
  let closing = false;

  app.post<{ Params: { type: string }; Querystring: Record<string, unknown> }>('/attest/:type', async (req, reply) => {
    const type = req.params.type as AttestationType;
    if (!ATTESTATION_TYPES.includes(type)) {
      throw new AttestError(404, 'NotFound', `unknown attestation type ${JSON.stringify(req.params.type)}; this service attests ${ATTESTATION_TYPES.join(', ')}`);
    }
    const end = metrics.attestSeconds.startTimer({ type });
    try {
      checkApiVersion(req.query['api-version'], type === 'TdxVm' ? TDX_API_VERSIONS : API_VERSIONS, true);
      if (!attester) throw new AttestError(503, 'ServiceUnavailable', 'the service is starting');
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw new AttestError(400, 'InvalidParameter', 'the request body is not JSON');
      }
      const a = await attester.attest(type, body);
      metrics.attestations.inc({ type, result: 'token' });
      log.info({ reqId: req.id, type, status: a.result.status, simulated: a.result.simulated, mrenclave: a.claims['x-ms-sgx-mrenclave'], mrtd: a.claims.tdx_mrtd }, 'token issued');
      return reply.send({ token: a.token });
    } catch (e) {
      const code = e instanceof AttestError ? e.code : 'InternalError';
      metrics.attestations.inc({ type, result: code });
      if (e instanceof AttestError) log.info({ reqId: req.id, type, code }, `attestation refused: ${e.message}`);
      throw e;
    } finally {
      end();
    }
  });

  app.get<{ Querystring: Record<string, unknown> }>('/certs', async (req, reply) => {
    checkApiVersion(req.query['api-version'], API_VERSIONS, false);
    const published = keys?.published(o.now?.() ?? new Date()) ?? [];
    metrics.keysPublished.set(published.length);
    // application/json, not application/jwk+json: Microsoft's client cannot read the latter.
    return reply.type('application/json; charset=utf-8').send({
      ...jwkSet(published),
      // RFC 7517 allows extra members; clients read `keys` only. Says whether SIMULATED tokens can come from here.
      'x-sqh-simulated-roots-trusted': simulatedRootsTrusted,
    });
  });

  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    const base = issuer;
    return reply.send({
      response_types_supported: ['token', 'none'],
      id_token_signing_alg_values_supported: [...new Set((keys?.published(o.now?.() ?? new Date()) ?? []).map((k) => k.alg))],
      revocation_endpoint: `${base}/revoke`,
      issuer: base,
      jwks_uri: `${base}/certs`,
      claims_supported: CLAIMS_SUPPORTED,
      'x-sqh-simulated-roots-trusted': simulatedRootsTrusted,
      ...(simulatedRootsTrusted ? { 'x-sqh-simulated-root-sha256': simulatedRoots } : {}),
    });
  });

  const ready = async () => !closing && !!keys?.active && !!attester && (await attester.collateralReady());
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (await ready()) return { status: 'ready' };
    const why = closing ? 'shutting down' : !keys?.active ? 'no signing key' : attester?.collateralFailing ? 'the collateral source is failing' : 'starting';
    return reply.code(503).send({ status: 'not ready', reason: why });
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await app.listen({ host: o.listen.host, port: o.listen.port });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  issuer = (o.publicUrl ?? `${tlsInitial ? 'https' : 'http'}://${host}:${addr.port}`).replace(/\/+$/, '');

  const timers: NodeJS.Timeout[] = [];
  try {
    if (o.keys.kind === 'state') await ensureStateKeys({ stateDir: o.keys.stateDir, issuer, ...(o.keyAlgorithm ? { alg: o.keyAlgorithm } : {}) });
    keys = new KeyRing(o.keys, lifetime);
    keys.reload();
  } catch (e) {
    await app.close();
    throw e;
  }
  attester = new Attester({
    issuer, keys, policy: o.policy, tokenLifetimeSeconds: lifetime,
    ...(o.collateral ? { collateral: o.collateral } : {}),
    ...(o.source ? { source: o.source } : {}),
    ...(o.trustedRoots ? { trustedRoots: o.trustedRoots } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.verifyAt ? { verifyAt: o.verifyAt } : {}),
  });

  const ring = keys;
  let lastKeyError = '';
  const reloadKeys = () => {
    try {
      if (ring.reload()) log.info({ active: ring.active?.kid, published: ring.published().map((k) => k.kid) }, 'signing keys reloaded');
      lastKeyError = '';
    } catch (e) {
      if (!(e instanceof KeyStoreError)) throw e;
      // Report a given broken state once, not on every tick.
      if (e.message !== lastKeyError) log.warn(`signing keys not reloaded, keeping the current ones: ${e.message}`);
      lastKeyError = e.message;
    }
  };
  timers.push(setInterval(reloadKeys, o.keyReloadIntervalMs ?? 10_000));
  const watcher = o.tls && tlsInitial
    ? new TlsFileWatcher({
      certPath: o.tls.certPath,
      keyPath: o.tls.keyPath,
      intervalMs: o.tls.reloadIntervalMs,
      onReload: (m) => {
        (server as unknown as { setSecureContext(c: object): void }).setSecureContext({ cert: m.cert, key: m.key, minVersion: 'TLSv1.2' });
        log.info({ fingerprint: m.fingerprint, notAfter: m.notAfter.toISOString() }, 'serving certificate reloaded');
      },
      onError: (err) => log.warn({ code: err.code }, `serving certificate not reloaded, keeping the current one: ${err.message}`),
    }, tlsInitial)
    : undefined;
  watcher?.start();
  for (const t of timers) t.unref();

  if (simulatedRootsTrusted) {
    log.warn({ simulatedRoots },
      'SIMULATED roots are trusted: quotes chained to them are verified and their tokens carry "x-sqh-simulated": true and "x-sqh-platform": "SIMULATED"; never trust such a service for production secrets');
  }
  log.info({
    url: issuer, issuer, tls: !!tlsInitial, signingKey: keys.active?.kid, alg: keys.active?.alg, policy: o.policy.source,
    policyHash: attester.policyHash, simulatedRootsTrusted, tokenLifetimeSeconds: lifetime,
    ...(o.verifyAt ? { verifyAt: o.verifyAt.toISOString() } : {}),
  }, 'attestation service listening');
  if (!tlsInitial) log.warn('plain HTTP: for loopback development only; tokens and runtime data travel unencrypted');

  return {
    url: issuer,
    port: addr.port,
    metrics,
    keys,
    simulatedRootsTrusted,
    reload: () => {
      reloadKeys();
      watcher?.check();
    },
    close: async () => {
      closing = true;
      for (const t of timers) clearInterval(t);
      watcher?.stop();
      await app.close();
    },
  };
}
