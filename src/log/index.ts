/**
 * The one log format of every long-running command (`serve`, `webhook serve`, `collateral serve`):
 * pino JSON, one line per event, with the same fields everywhere:
 *   level (a name: fatal|error|warn|info|debug|trace), time (ISO 8601 UTC), service ("sgx-quote-helper"),
 *   component (daemon|webhook|collateral), pid, msg, then the event's own fields.
 * Request payloads, keys and platform secrets never go in. Imports nothing of ours.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogComponent = 'daemon' | 'webhook' | 'collateral';

export interface JsonLoggerOptions {
  component: LogComponent;
  /** Default: stdout, asynchronous (the daemon's hot path must not block on a slow terminal). */
  destination?: DestinationStream;
}

export function createJsonLogger(level: LogLevel, opts: JsonLoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'sgx-quote-helper', component: opts.component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
