// Aggregated logging of neighbour-triggered events, with a real pino logger writing to a buffer.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AggregatingLog } from '../../src/daemon/log-limiter.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('AggregatingLog', () => {
  it('logs the first event of a kind at once and the rest as one summary line', () => {
    const { lines, logger } = capture();
    const log = new AggregatingLog(logger, 60_000);
    for (let i = 0; i < 10_000; i++) log.event('refused', 'warn', 'connection refused', { conn: i });
    log.event('evicted', 'info', 'connection evicted');
    expect(lines.map((l) => l.msg)).toEqual(['connection refused', 'connection evicted']);
    expect(lines[0]).toMatchObject({ conn: 0, event: 'refused' });
    log.flush();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ event: 'refused', more: 9999, msg: 'connection refused (9999 more in the last 60 s)' });
    // A new interval starts fresh.
    log.event('refused', 'warn', 'connection refused');
    expect(lines).toHaveLength(4);
  });

  it('writes nothing for levels the logger does not emit', () => {
    const { lines, logger } = capture();
    const log = new AggregatingLog(logger, 60_000);
    log.event('disconnected', 'debug', 'request rejected without reply');
    log.flush();
    expect(lines).toEqual([]);
  });
});
