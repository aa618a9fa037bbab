/**
 * Aggregated logging for events a hostile neighbour can trigger at will (refused, evicted or cut
 * connections, unparseable frames): the first event of a kind is logged at once, the rest are
 * counted and written as one summary line per interval. Log volume stays bounded under a flood.
 */
import type { Logger } from 'pino';

type Level = 'debug' | 'info' | 'warn';

interface Bucket {
  level: Level;
  msg: string;
  count: number;
}

export class AggregatingLog {
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    readonly intervalMs = 10_000,
  ) {}

  /** Log `msg` now if it is the first of `key` in this interval, else count it for the summary. */
  event(key: string, level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const b = this.buckets.get(key);
    if (b) {
      b.count++;
      return;
    }
    this.buckets.set(key, { level, msg, count: 0 });
    this.logger[level]({ ...fields, event: key }, msg);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Write one summary line per kind that had more events than the one already logged. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, b] of this.buckets) {
      if (b.count > 0) this.logger[b.level]({ event: key, more: b.count, intervalMs: this.intervalMs }, `${b.msg} (${b.count} more in the last ${this.intervalMs / 1000} s)`);
    }
    this.buckets.clear();
  }
}
