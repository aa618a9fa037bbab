import { describe, expect, it } from 'vitest';
import { AesmError } from '../../src/aesm/index.js';
import { ProviderQueue, ProviderTimeoutError } from '../../src/daemon/index.js';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('ProviderQueue', () => {
  it('never runs more than maxConcurrency calls and keeps FIFO order', async () => {
    const q = new ProviderQueue(2, 10_000);
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const gates = Array.from({ length: 6 }, () => deferred<void>());
    const runs = gates.map((g, i) =>
      q.run('op', async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        order.push(i);
        await g.promise;
        active--;
        return i;
      }),
    );
    expect(q.active).toBe(2);
    expect(q.pending).toBe(4);
    for (const g of gates) g.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxActive).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('answers AESM_BUSY (18) at the timeout, for running and for queued calls, and keeps the slot until the call returns', async () => {
    const q = new ProviderQueue(1, 50);
    const stuck = deferred<void>();
    const running = q.run('getQuoteEx', () => stuck.promise);
    const queued = q.run('getQuoteEx', async () => 'never');
    const e1 = await running.catch((e) => e);
    const e2 = await queued.catch((e) => e);
    for (const [e, phase] of [[e1, 'running'], [e2, 'queued']] as const) {
      expect(e).toBeInstanceOf(ProviderTimeoutError);
      expect(e).toBeInstanceOf(AesmError);
      expect((e as ProviderTimeoutError).code).toBe(18);
      expect((e as ProviderTimeoutError).phase).toBe(phase);
    }
    expect(q.active).toBe(1); // the stuck call still holds its slot
    stuck.resolve();
    await expect(q.run('op', async () => 'next')).resolves.toBe('next');
    expect(q.active).toBe(0);
  });

  it('passes provider errors through and survives synchronous throws', async () => {
    const q = new ProviderQueue(1, 1000);
    await expect(q.run('op', async () => Promise.reject(new AesmError(42)))).rejects.toMatchObject({ code: 42 });
    await expect(q.run('op', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(q.run('op', async () => 1)).resolves.toBe(1);
  });
});
