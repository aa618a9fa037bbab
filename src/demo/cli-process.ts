import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * How to start this same CLI as a child process: the compiled `dist/cli/main.js` when we run
 * compiled, or `src/cli/main.ts` through tsx when we run from the sources (tests, development).
 */
export function cliInvocation(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
    return { command: process.execPath, args: ['--import', 'tsx', main] };
  }
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error(`cannot find the CLI entry point ${main}: run npm run build`);
  return { command: process.execPath, args: [main] };
}

/** A child process running one of our commands, with its output kept for diagnostics. */
export class CliProcess {
  readonly child: ChildProcess;
  private out = '';
  private err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    const inv = cliInvocation();
    // Not detached: the children share our process group, so a Ctrl-C in the terminal reaches them
    // too and nothing outlives the demo even if our own cleanup never runs.
    this.child = spawn(inv.command, [...inv.args, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      this.child.once('error', () => resolve({ code: null, signal: null }));
    });
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolve with the first match of `pattern` in stdout+stderr; reject on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = (this.out + '\n' + this.err).match(pattern);
        if (m) {
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`${this.label} exited before it was ready: ${this.tail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label} was not ready within ${timeoutMs} ms: ${this.tail()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', check);
        this.child.stderr?.off('data', check);
        this.child.off('exit', onExit);
      };
      if (check()) return;
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      this.child.once('exit', onExit);
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
      }, graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }

  /** The last lines of output, for an error message. */
  tail(lines = 5): string {
    const all = `${this.out}\n${this.err}`.trim().split('\n');
    return all.slice(-lines).join(' | ') || '(no output)';
  }
}
