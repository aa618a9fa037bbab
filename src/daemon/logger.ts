/** The daemon's logger: the project's one JSON log format (src/log), component "daemon". */
import type { DestinationStream, Logger } from 'pino';
import { createJsonLogger, type LogLevel } from '../log/index.js';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return createJsonLogger(level, { component: 'daemon', ...(destination ? { destination } : {}) });
}
