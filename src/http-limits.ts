import type { Server } from 'node:http';

/**
 * Limits every HTTP(S) server of ours applies (collateral server, webhook): a slow or greedy client
 * gets a clean close instead of holding memory or a connection forever. Shared by `pcs` and `k8s`,
 * imports nothing of ours.
 */
export interface HttpServerLimits {
  /** Time to receive the request headers (Node `headersTimeout`). */
  headersTimeoutMs: number;
  /** Time to receive the whole request, headers and body (Node `requestTimeout`): cuts body drips. */
  requestTimeoutMs: number;
  /** A socket with no traffic at all for this long is closed (Fastify `connectionTimeout`). */
  idleTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open between requests. */
  keepAliveTimeoutMs: number;
  /** Requests served on one connection before it is closed (0: no limit). */
  maxRequestsPerSocket: number;
  /** Simultaneous connections; more are refused (closed at accept). */
  maxConnections: number;
  /** Largest request body (bytes); larger ones get 413 before they are read. */
  bodyLimitBytes: number;
}

/** How often Node checks the header and request deadlines (its default, 30 s, would let them slip). */
const DEADLINE_CHECK_INTERVAL_MS = 1000;

/** The Fastify options that carry the limits (the rest is set on the server by `applyServerLimits`). */
export function fastifyLimitOptions(l: HttpServerLimits) {
  return {
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    maxRequestsPerSocket: l.maxRequestsPerSocket,
    bodyLimit: l.bodyLimitBytes,
  };
}

/** Options for `http(s).createServer` (Fastify passes `http`/`https` through). */
export function nodeServerOptions(l: HttpServerLimits) {
  return { connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS, headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs };
}

export function applyServerLimits(server: Pick<Server, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'maxConnections'>, l: HttpServerLimits): void {
  // Node requires headersTimeout <= requestTimeout when both are set.
  server.headersTimeout = Math.min(l.headersTimeoutMs, l.requestTimeoutMs || l.headersTimeoutMs);
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxConnections = l.maxConnections;
}

/** Fill in the defaults and check each given value (a positive whole number; 0 allowed where it means "off"). */
export function resolveServerLimits(defaults: HttpServerLimits, given: Partial<HttpServerLimits> = {}): HttpServerLimits {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(given) as [keyof HttpServerLimits, number | undefined][]) {
    if (v === undefined) continue;
    const zeroOk = k === 'maxRequestsPerSocket';
    if (!Number.isInteger(v) || v < 0 || (v === 0 && !zeroOk)) throw new RangeError(`HTTP limit ${k} must be a positive whole number, got ${v}`);
    out[k] = v;
  }
  return out;
}
