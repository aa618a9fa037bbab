/**
 * Bounded access to a provider: at most `maxConcurrency` calls run at once (1 for native libraries
 * that must not be re-entered), the rest wait in FIFO order. Every call gets an answer within
 * `timeoutMs` of being queued: AESM_BUSY (18) if it did not finish, so the client hears back before
 * its own 15 s timeout. A timed-out call keeps its slot until the provider really returns, so the
 * concurrency bound holds even for calls that cannot be cancelled.
 */
import { AesmCode, AesmError } from '../aesm/errors.js';

export class ProviderTimeoutError extends AesmError {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    readonly phase: 'queued' | 'running',
  ) {
    super(AesmCode.BUSY, `provider ${operation} did not finish within ${timeoutMs} ms (${phase})`);
  }
}

interface Waiter {
  start: () => void;
}

export class ProviderQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly maxConcurrency: number,
    readonly timeoutMs: number,
    private readonly onQueueLength: (n: number) => void = () => undefined,
  ) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new RangeError('maxConcurrency must be >= 1');
  }

  get pending(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      const timer = setTimeout(() => {
        if (finished) return;
        finished = true;
        const qi = this.waiting.indexOf(waiter);
        if (qi >= 0) {
          this.waiting.splice(qi, 1);
          this.onQueueLength(this.waiting.length);
          reject(new ProviderTimeoutError(operation, this.timeoutMs, 'queued'));
        } else {
          reject(new ProviderTimeoutError(operation, this.timeoutMs, 'running'));
        }
      }, this.timeoutMs);
      const waiter: Waiter = {
        start: () => {
          this.running++;
          let p: Promise<T>;
          try {
            p = fn();
          } catch (e) {
            p = Promise.reject(e);
          }
          p.then(
            (v) => {
              if (!finished) {
                finished = true;
                clearTimeout(timer);
                resolve(v);
              }
            },
            (e) => {
              if (!finished) {
                finished = true;
                clearTimeout(timer);
                reject(e);
              }
            },
          ).finally(() => {
            this.running--;
            this.next();
          });
        },
      };
      if (this.running < this.maxConcurrency) waiter.start();
      else {
        this.waiting.push(waiter);
        this.onQueueLength(this.waiting.length);
      }
    });
  }

  private next(): void {
    while (this.running < this.maxConcurrency && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      this.onQueueLength(this.waiting.length);
      w.start();
    }
  }
}
