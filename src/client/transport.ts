import { createConnection, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder, FrameError, type AesmOperation } from '../aesm/index.js';
import { AesmClientError } from './client-error.js';

/** Intel's release client waits IPC_LATENCY = 15 000 ms (wire spec §1.3). */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** How long connect errors that mean "not there yet" are retried before a call gives up. */
export const DEFAULT_RETRY_DEADLINE_MS = 5_000;
const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 250;
// Responses are a quote (≈ 1 KB + certification data, at most ~13 KB for QE3) plus small fields;
// 1 MiB leaves room for odd providers while refusing a garbage length prefix (spec §2).
const MAX_RESPONSE_FRAME = 1024 * 1024;

// Connect errors after which nothing was sent, so trying again is safe: the socket is missing
// (daemon not started yet, or mid-handover), nobody is listening, or the backlog is full.
const RETRYABLE_CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

export interface TransportOptions {
  socketPath: string;
  timeoutMs: number;
  retryDeadlineMs: number;
}

/**
 * One AESM exchange: connect (retrying while the socket is missing or refusing, until the retry
 * deadline), write one framed request, read one framed response, close. Once the request has been
 * written nothing is retried: the daemon may already be acting on it (spec §1.2).
 */
export async function transact(operation: AesmOperation, body: Buffer, opts: TransportOptions): Promise<Buffer> {
  const frame = encodeFrame(body);
  const giveUpAt = Date.now() + Math.max(0, opts.retryDeadlineMs);
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    const attempt = await exchangeOnce(operation, frame, opts);
    if (attempt.ok) return attempt.body;
    const err = attempt.error;
    const retryable = attempt.beforeSend && err.errno !== undefined && RETRYABLE_CONNECT_ERRORS.has(err.errno);
    const remaining = giveUpAt - Date.now();
    if (!retryable || remaining <= 0) throw err;
    await sleep(Math.min(backoff, remaining));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

type Attempt = { ok: true; body: Buffer } | { ok: false; beforeSend: boolean; error: AesmClientError };

function exchangeOnce(operation: AesmOperation, frame: Buffer, opts: TransportOptions): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    const { socketPath, timeoutMs } = opts;
    const decoder = new FrameDecoder({ maxLength: MAX_RESPONSE_FRAME });
    let connected = false;
    let settled = false;
    const socket: Socket = createConnection({ path: socketPath });

    const finish = (result: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const fail = (init: Omit<ConstructorParameters<typeof AesmClientError>[0], 'operation' | 'socketPath'>): void =>
      finish({ ok: false, beforeSend: !connected, error: new AesmClientError({ ...init, operation, socketPath }) });

    // The timer covers connect, write and the whole answer: a stuck daemon costs the caller at most
    // timeoutMs per attempt, whatever it does (Intel re-arms per read/write; a total is stricter).
    const timer = setTimeout(() => {
      fail({
        kind: 'timeout',
        timeoutMs,
        message: connected
          ? `${operation}: no answer from ${socketPath} within ${timeoutMs} ms`
          : `${operation}: could not connect to ${socketPath} within ${timeoutMs} ms`,
      });
    }, timeoutMs);

    socket.on('connect', () => {
      connected = true;
      // One write of the whole frame, like the daemon's single-write answer (spec §8 item 9).
      socket.write(frame);
    });

    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        const reason = e instanceof FrameError ? e.message : String(e);
        fail({ kind: 'protocol', message: `${operation}: unreadable answer from ${socketPath}: ${reason}`, cause: e });
        return;
      }
      if (frames.length > 0) finish({ ok: true, body: frames[0]! });
    });

    socket.on('end', () => {
      fail({
        kind: 'closed',
        message:
          decoder.buffered > 0
            ? `${operation}: ${socketPath} closed the connection in the middle of its answer`
            : `${operation}: ${socketPath} closed the connection without answering`,
      });
    });

    socket.on('error', (e: NodeJS.ErrnoException) => {
      const errno = e.code;
      if (!connected) {
        const permission = errno === 'EACCES' || errno === 'EPERM';
        fail({
          kind: permission ? 'permission' : 'unavailable',
          errno,
          message: `${operation}: cannot connect to ${socketPath}: ${errno ?? e.message}`,
          cause: e,
        });
        return;
      }
      fail({ kind: 'closed', errno, message: `${operation}: connection to ${socketPath} failed: ${errno ?? e.message}`, cause: e });
    });

    socket.on('close', () => {
      fail({ kind: 'closed', message: `${operation}: ${socketPath} closed the connection without answering` });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
