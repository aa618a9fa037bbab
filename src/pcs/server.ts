import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { applyServerLimits, fastifyLimitOptions, nodeServerOptions, resolveServerLimits, type HttpServerLimits } from '../http-limits.js';
import { PcsError } from './errors.js';
import { isHex } from './pcs-responses.js';
import type { PckCa, Tee } from './pcs-client.js';
import type { CollateralBackend, ServedItem, SignedItemQuery } from './server-backend.js';

/**
 * The collateral server: Intel PCS v4 endpoints (the paths, query parameters, headers and error answers
 * PCS and PCCS use) over a backend (a simulated platform, or a caching proxy for an upstream).
 *
 *   GET /{sgx,tdx}/certification/v4/tcb?fmspc=HEX12[&update=early|standard | &tcbEvaluationDataNumber=N]
 *   GET /{sgx,tdx}/certification/v4/qe/identity[?update=… | ?tcbEvaluationDataNumber=N]
 *   GET /sgx/certification/v4/pckcrl?ca=processor|platform[&encoding=pem|der]
 *   GET /sgx/certification/v4/pckcert?(encrypted_ppid=HEX768 | qeid=HEX)&cpusvn=HEX32&pcesvn=HEX4&pceid=HEX4
 *   GET /sgx/certification/v4/rootcacrl                       (PCCS: hex text of the DER root CA CRL)
 *   the same under /sgx/certification/v3 with the v3 header name SGX-TCB-Info-Issuer-Chain
 *   GET /healthz
 */

/** Marks every answer of a simulator-backed server; PCS clients ignore unknown headers. */
export const SIMULATED_HEADER = 'SQH-Simulated';
export const CACHE_HEADER = 'SQH-Cache';
export const STALE_SINCE_HEADER = 'SQH-Stale-Since';

/** Error-Code Intel's services use for malformed or missing request parameters. */
export const PCS_INVALID_REQUEST = 'InvalidRequestSyntax';

export interface CollateralServerOptions {
  backend: CollateralBackend;
  logger?: FastifyServerOptions['logger'];
  /** A ready pino logger (the CLI logs to stderr); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** Connection and request limits; unset ones take COLLATERAL_SERVER_LIMITS. */
  limits?: Partial<HttpServerLimits>;
}

/**
 * Defaults (docs/operations.md). Requests are GETs without a body; the idle timeout stays above the
 * upstream client's 30 s so a proxy waiting on a slow upstream does not lose its client.
 */
export const COLLATERAL_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 256,
  bodyLimitBytes: 16 * 1024,
};

class BadParam extends Error {}

/**
 * Header-safe one-line text (HTTP header values must be visible ASCII), with the query of any URL in it
 * cut off: upstream URLs can carry keys in their query, and Error-Message goes to every client.
 */
function headerText(s: string): string {
  return s
    .replace(/(https?:\/\/[^\s?#]*)[?#][^\s]*/g, '$1')
    .replace(/[^\x20-\x7e]/g, ' ')
    .slice(0, 500);
}

function stringParam(q: Record<string, unknown>, name: string, required: true): string;
function stringParam(q: Record<string, unknown>, name: string, required: false): string | undefined;
function stringParam(q: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = q[name];
  if (v === undefined) {
    if (required) throw new BadParam(`missing parameter ${name}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BadParam(`parameter ${name} given more than once`);
  return v;
}

function signedQuery(q: Record<string, unknown>): SignedItemQuery {
  const update = stringParam(q, 'update', false);
  const n = stringParam(q, 'tcbEvaluationDataNumber', false);
  if (update !== undefined && update !== 'early' && update !== 'standard') throw new BadParam('update must be early or standard');
  if (update !== undefined && n !== undefined) throw new BadParam('give update or tcbEvaluationDataNumber, not both');
  if (n !== undefined && !/^\d{1,9}$/.test(n)) throw new BadParam('tcbEvaluationDataNumber must be a non-negative integer');
  return { update: update as SignedItemQuery['update'], tcbEvaluationDataNumber: n === undefined ? undefined : Number(n) };
}

export function createCollateralServer(opts: CollateralServerOptions): FastifyInstance {
  const { backend } = opts;
  const limits = resolveServerLimits(COLLATERAL_SERVER_LIMITS, opts.limits);
  const base = { ...fastifyLimitOptions(limits), http: nodeServerOptions(limits) };
  const app = opts.loggerInstance ? Fastify({ ...base, loggerInstance: opts.loggerInstance }) : Fastify({ ...base, logger: opts.logger ?? false });
  applyServerLimits(app.server, limits);

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Request-ID', randomBytes(16).toString('hex'));
    if (backend.simulated) reply.header(SIMULATED_HEADER, 'true');
    return payload;
  });

  function badRequest(reply: FastifyReply, message: string) {
    return reply.code(400).header('Error-Code', PCS_INVALID_REQUEST).header('Error-Message', headerText(message)).send();
  }

  function sendItem(reply: FastifyReply, item: ServedItem, rename?: Record<string, string>) {
    reply.code(200).header('Content-Type', item.contentType);
    for (const [k, v] of Object.entries(item.headers)) reply.header(rename?.[k] ?? k, v);
    if (item.cache) reply.header(CACHE_HEADER, item.cache);
    if (item.simulated) reply.header(SIMULATED_HEADER, 'true');
    if (item.stale) {
      reply.header(STALE_SINCE_HEADER, item.stale.since.toISOString());
      reply.header('Warning', '110 - "Response is Stale"');
    }
    return reply.send(item.body);
  }

  function sendError(reply: FastifyReply, err: unknown) {
    if (err instanceof BadParam) return badRequest(reply, err.message);
    if (err instanceof PcsError) {
      if (err.code === 'BAD_REQUEST') return badRequest(reply, err.message);
      if (err.code === 'NOT_FOUND') return reply.code(404).send();
      if (err.code === 'HTTP_STATUS' && err.status !== undefined && err.status >= 400 && err.status < 600) {
        reply.code(err.status);
        if (err.errorCode) reply.header('Error-Code', headerText(err.errorCode));
        if (err.errorMessage) reply.header('Error-Message', headerText(err.errorMessage));
        if (err.retryAfterSeconds !== undefined) reply.header('Retry-After', String(err.retryAfterSeconds));
        return reply.send();
      }
      // The upstream could not be reached or answered garbage, and nothing usable is cached.
      return reply.code(502).header('Error-Message', headerText(err.message)).send();
    }
    reply.log.error({ err }, 'collateral server failure');
    return reply.code(500).header('Error-Message', 'internal error').send();
  }

  async function handle(reply: FastifyReply, fn: () => Promise<ServedItem>, rename?: Record<string, string>) {
    try {
      return sendItem(reply, await fn(), rename);
    } catch (err) {
      return sendError(reply, err);
    }
  }

  const prefixes: { tee: Tee; base: string; v3?: boolean }[] = [
    { tee: 'SGX', base: '/sgx/certification/v4' },
    { tee: 'TDX', base: '/tdx/certification/v4' },
    { tee: 'SGX', base: '/sgx/certification/v3', v3: true },
  ];
  for (const { tee, base, v3 } of prefixes) {
    app.get(`${base}/tcb`, (req, reply) =>
      handle(
        reply,
        async () => {
          const q = req.query as Record<string, unknown>;
          const fmspc = stringParam(q, 'fmspc', true);
          if (!isHex(fmspc, 12)) throw new BadParam('fmspc must be 12 hex digits');
          return backend.tcbInfo(tee, fmspc, signedQuery(q));
        },
        v3 ? { 'TCB-Info-Issuer-Chain': 'SGX-TCB-Info-Issuer-Chain' } : undefined,
      ),
    );
    app.get(`${base}/qe/identity`, (req, reply) => handle(reply, async () => backend.qeIdentity(tee, signedQuery(req.query as Record<string, unknown>))));
    if (tee !== 'SGX') continue;
    app.get(`${base}/pckcrl`, (req, reply) =>
      handle(reply, async () => {
        const q = req.query as Record<string, unknown>;
        const ca = stringParam(q, 'ca', true).toLowerCase();
        if (ca !== 'processor' && ca !== 'platform') throw new BadParam('ca must be processor or platform');
        const encoding = (stringParam(q, 'encoding', false) ?? 'pem').toLowerCase();
        if (encoding !== 'pem' && encoding !== 'der') throw new BadParam('encoding must be pem or der');
        return backend.pckCrl(ca as PckCa, encoding);
      }),
    );
    app.get(`${base}/rootcacrl`, (_req, reply) => handle(reply, () => backend.rootCaCrl()));
    app.get(`${base}/pckcert`, (req, reply) =>
      handle(reply, async () => {
        const q = req.query as Record<string, unknown>;
        const encryptedPpid = stringParam(q, 'encrypted_ppid', false);
        const qeid = stringParam(q, 'qeid', false);
        const cpusvn = stringParam(q, 'cpusvn', true);
        const pcesvn = stringParam(q, 'pcesvn', true);
        const pceid = stringParam(q, 'pceid', true);
        if (encryptedPpid === undefined && qeid === undefined) throw new BadParam('missing parameter encrypted_ppid (or qeid)');
        if (encryptedPpid !== undefined && !isHex(encryptedPpid, 768)) throw new BadParam('encrypted_ppid must be 768 hex digits');
        if (qeid !== undefined && !(qeid.length > 0 && qeid.length <= 260 && isHex(qeid))) throw new BadParam('qeid must be up to 260 hex digits');
        if (!isHex(cpusvn, 32)) throw new BadParam('cpusvn must be 32 hex digits');
        if (!isHex(pcesvn, 4)) throw new BadParam('pcesvn must be 4 hex digits');
        if (!isHex(pceid, 4)) throw new BadParam('pceid must be 4 hex digits');
        return backend.pckCert({ encryptedPpid, qeid, cpusvn, pcesvn, pceid });
      }),
    );
  }

  app.get('/healthz', async () => ({ ok: true, mode: backend.mode, simulated: backend.simulated, ...(backend.health?.() ?? {}) }));

  // PCS answers unknown resources with a bare 404.
  app.setNotFoundHandler((_req, reply) => reply.code(404).send());
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 413) return reply.code(413).header('Error-Message', 'request body too large').send();
    if (status !== undefined && status >= 400 && status < 500) return badRequest(reply, err instanceof Error ? err.message : 'bad request');
    return sendError(reply, err);
  });
  app.addHook('onClose', async () => {
    await backend.close?.();
  });
  return app;
}

/** Parse `HOST:PORT` (IPv6 as `[::1]:8081`). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) throw new PcsError('BAD_REQUEST', `--listen must be HOST:PORT (e.g. 127.0.0.1:8081), got ${JSON.stringify(s)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new PcsError('BAD_REQUEST', `port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
