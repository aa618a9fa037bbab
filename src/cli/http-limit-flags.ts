import type { Command } from 'commander';
import type { HttpServerLimits } from '../http-limits.js';
import { CliError, EXIT_BAD_INPUT } from './cli-error.js';

/** The server-limit flags `collateral serve` and `webhook serve` share (seconds and counts on the command line). */
export interface ServerLimitFlags {
  headersTimeout?: string;
  requestTimeout?: string;
  idleTimeout?: string;
  keepAliveTimeout?: string;
  maxRequestsPerSocket?: string;
  maxConnections?: string;
  maxBody?: string;
}

const seconds = (ms: number) => `${ms / 1000}`;

export function addServerLimitOptions(cmd: Command, d: HttpServerLimits): Command {
  return cmd
    .option('--headers-timeout <seconds>', `time a client has to send the request headers (default ${seconds(d.headersTimeoutMs)})`)
    .option('--request-timeout <seconds>', `time a client has to send the whole request, body included (default ${seconds(d.requestTimeoutMs)})`)
    .option('--idle-timeout <seconds>', `close a connection with no traffic for this long (default ${seconds(d.idleTimeoutMs)})`)
    .option('--keep-alive-timeout <seconds>', `keep an idle keep-alive connection this long (default ${seconds(d.keepAliveTimeoutMs)})`)
    .option('--max-requests-per-socket <n>', `requests per connection before it is closed, 0 = no limit (default ${d.maxRequestsPerSocket})`)
    .option('--max-connections <n>', `simultaneous connections; more are refused (default ${d.maxConnections})`)
    .option('--max-body <bytes>', `largest request body; larger ones get 413 (default ${d.bodyLimitBytes})`);
}

/** Parse a whole number flag (`min` 0 or 1). */
export function wholeNumber(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new CliError(`${flag} must be a whole number${min > 0 ? ' above 0' : ''}, got '${v}'`, EXIT_BAD_INPUT);
  }
  return Number(v);
}

/** Seconds (decimals allowed) → milliseconds. */
export function secondsFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 86_400) throw new CliError(`${flag} must be seconds between 0 and 86400, got '${v}'`, EXIT_BAD_INPUT);
  return Math.round(n * 1000);
}

export function serverLimitsFrom(o: ServerLimitFlags): Partial<HttpServerLimits> {
  const l: Partial<HttpServerLimits> = {
    headersTimeoutMs: secondsFlag('--headers-timeout', o.headersTimeout),
    requestTimeoutMs: secondsFlag('--request-timeout', o.requestTimeout),
    idleTimeoutMs: secondsFlag('--idle-timeout', o.idleTimeout),
    keepAliveTimeoutMs: secondsFlag('--keep-alive-timeout', o.keepAliveTimeout),
    maxRequestsPerSocket: wholeNumber('--max-requests-per-socket', o.maxRequestsPerSocket, 0),
    maxConnections: wholeNumber('--max-connections', o.maxConnections),
    bodyLimitBytes: wholeNumber('--max-body', o.maxBody),
  };
  return Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as Partial<HttpServerLimits>;
}
