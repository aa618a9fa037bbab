import type { Writable } from 'node:stream';

/** Prints the demo's story: numbered steps with their duration, details indented under them. */
export class Story {
  private step = 0;

  constructor(
    private readonly out: Writable,
    private readonly totalSteps: number,
  ) {}

  line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  /** Run one step; prints `[n/N] title ... ms` and then the details the step returns. */
  async run<T>(title: string, fn: () => Promise<{ value: T; details: string[] }>): Promise<T> {
    this.step++;
    const started = performance.now();
    const label = `[${this.step}/${this.totalSteps}] ${title}`;
    try {
      const { value, details } = await fn();
      this.line(`${label.padEnd(48)} ok   ${formatMs(performance.now() - started)}`);
      for (const d of details) this.line(`      ${d}`);
      return value;
    } catch (e) {
      this.line(`${label.padEnd(48)} FAILED after ${formatMs(performance.now() - started)}`);
      throw e;
    }
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}
