// Real daemon processes for integration tests: spawn `serve`, follow its JSON log lines, know when
// it serves, stop it. Two ways to run it: from the sources through tsx (what developers run) or
// from a tsc build (what the DaemonSet runs; much faster to start).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';

export const REPO = path.resolve(import.meta.dirname, '../..');

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  lines: LogLine[];
  stderr: string[];
  /** Resolves with the first line whose msg says the socket is published. */
  serving: Promise<LogLine>;
  /** Resolves with the ops address once logged. */
  opsAddress: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
}

const SERVING = new Set(['AESM socket listening', 'took over the AESM socket from the running instance', 'replaced a stale AESM socket']);

export type Runner = { kind: 'tsx' } | { kind: 'dist'; mainJs: string };

export function cliCommand(runner: Runner): string[] {
  return runner.kind === 'tsx' ? ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts')] : [runner.mainJs];
}

export function spawnDaemon(runner: Runner, args: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  // With the V8 heap settings production starts it with (the reliability suite bounds its RSS).
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...cliCommand(runner), 'serve', ...args], {
    cwd: REPO,
    env: { ...process.env, ...DAEMON_ENV, SQH_SOCKET: '', SQH_STATE_DIR: '', SQH_OPS_LISTEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (text) => {
    let l: LogLine;
    try {
      l = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (t) => stderr.push(t));
  // 'exit' can come before the last stdout lines; wait for both so log waiters see everything.
  const stdoutClosed = new Promise<void>((r) => child.stdout!.on('close', () => r()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => void stdoutClosed.then(() => resolve({ code, signal }))),
  );
  const waitFor = (pred: (l: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon ${child.pid}: no "${what}" within ${timeoutMs} ms; stderr: ${stderr.join(' | ')}`)), timeoutMs);
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`daemon ${child.pid} exited (${e.code ?? e.signal}) before "${what}"; stderr: ${stderr.join(' | ')}`));
      });
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };
  const serving = waitFor((l) => SERVING.has(l.msg), 'serving');
  const opsAddress = waitFor((l) => l.msg === 'ops server listening', 'ops listening').then((l) => String(l.address));
  // Unobserved rejections (a test that never asks for ops) must not fail the run.
  serving.catch(() => undefined);
  opsAddress.catch(() => undefined);
  return { child, pid: child.pid!, lines, stderr, serving, opsAddress, exited, waitFor };
}

/**
 * Compile the sources with the project's build config into node_modules/.cache (inside the repo, so
 * packages resolve) and return the CLI entry. tsc exits non-zero on type errors elsewhere in the
 * tree but still emits; the file check below is what matters.
 */
export function buildDist(): string {
  const outDir = path.join(REPO, 'node_modules/.cache/sqh-daemon-test/dist');
  spawnSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], {
    cwd: REPO,
    stdio: 'ignore',
  });
  const mainJs = path.join(outDir, 'cli/main.js');
  if (!existsSync(mainJs)) throw new Error(`build did not produce ${mainJs}`);
  return mainJs;
}

export async function stop(d: DaemonProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill(signal);
  return d.exited;
}
