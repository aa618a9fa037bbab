/**
 * The AESM socket server: connection limits, receive deadline, framing, one request per connection.
 *
 * Rules from the wire spec that shape this file:
 * - one request per connection; the reply is written as ONE buffer (prefix + body) and then end()
 *   (§8 items 8, 9);
 * - the whole request frame is read before answering or closing, and refused connections get a
 *   FIN (EOF) while we keep reading, never a reset: Intel's client does not ignore SIGPIPE (§8 item 10);
 * - unparseable requests are closed without a reply (§1.2).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, FrameError } from '../aesm/framing.js';
import type { DaemonMetrics, FrameRejectReason } from './metrics.js';

export interface RequestOutcome {
  /** The whole reply frame (u32 LE length prefix + protobuf body), written as is. Absent: close without a reply. */
  frame?: Buffer;
  /** Why there is no reply (counted in sqh_aesm_frames_rejected_total). */
  rejectReason?: FrameRejectReason;
}

export type RequestHandler = (body: Buffer, conn: { id: number }) => Promise<RequestOutcome>;

export interface AesmSocketServerOptions {
  handler: RequestHandler;
  metrics: DaemonMetrics;
  logger: Logger;
  /** Connections served at once; more wait (paused) in a queue of the same size; beyond that, refused. */
  maxConnections: number;
  /** Deadline for receiving one complete request (and for a queued connection's wait). */
  requestTimeoutMs: number;
  maxRequestSize: number;
}

interface Conn {
  id: number;
  socket: net.Socket;
  timer?: NodeJS.Timeout;
  active: boolean;
}

export class AesmSocketServer {
  readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly queue: Conn[] = [];
  private active = 0;
  private nextId = 1;
  private accepting = true;
  private idleWaiter: (() => void) | undefined;

  constructor(private readonly opts: AesmSocketServerOptions) {
    // allowHalfOpen: a client may shut down its write side after the request and still read the reply.
    // pauseOnConnect: queued connections are not read until they get a slot (back-pressure).
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.onConnection(s));
    // A failed listen() is reported once, by publishSocket's caller; log only errors of a live server.
    this.server.on('error', (e) => {
      if (this.server.listening) this.opts.logger.error({ err: e.message }, 'AESM socket server error');
    });
  }

  get openConnections(): number {
    return this.conns.size;
  }

  private onConnection(socket: net.Socket): void {
    const { metrics } = this.opts;
    const conn: Conn = { id: this.nextId++, socket, active: false };
    this.conns.add(conn);
    metrics.openConnections.inc();
    socket.on('error', (e: NodeJS.ErrnoException) => this.opts.logger.debug({ conn: conn.id, err: e.code ?? e.message }, 'client socket error'));
    socket.once('close', () => {
      this.conns.delete(conn);
      metrics.openConnections.dec();
      if (conn.timer) clearTimeout(conn.timer);
      const qi = this.queue.indexOf(conn);
      if (qi >= 0) {
        this.queue.splice(qi, 1);
        metrics.queuedConnections.dec();
      }
      if (conn.active) {
        conn.active = false;
        this.active--;
        this.pump();
      }
      if (this.conns.size === 0 && this.idleWaiter) {
        const w = this.idleWaiter;
        this.idleWaiter = undefined;
        w();
      }
    });
    if (this.active < this.opts.maxConnections) {
      this.begin(conn);
    } else if (this.queue.length < this.opts.maxConnections) {
      this.queue.push(conn);
      metrics.queuedConnections.inc();
      conn.timer = setTimeout(() => {
        const qi = this.queue.indexOf(conn);
        if (qi < 0) return;
        this.queue.splice(qi, 1);
        metrics.queuedConnections.dec();
        metrics.rejectedConnections.inc({ reason: 'queue-timeout' });
        this.closeGently(conn);
      }, this.opts.requestTimeoutMs);
    } else {
      metrics.rejectedConnections.inc({ reason: 'limit' });
      this.opts.logger.warn({ conn: conn.id, open: this.conns.size }, 'connection refused: --max-connections active and queue full');
      this.closeGently(conn);
    }
  }

  private pump(): void {
    while (this.active < this.opts.maxConnections && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.opts.metrics.queuedConnections.dec();
      if (next.timer) clearTimeout(next.timer);
      if (!next.socket.destroyed) this.begin(next);
    }
  }

  private begin(conn: Conn): void {
    const { socket } = conn;
    conn.active = true;
    this.active++;
    const decoder = new FrameDecoder({ maxLength: this.opts.maxRequestSize });
    let settled = false;
    const reject = (reason: FrameRejectReason, gently: boolean) => {
      settled = true;
      this.opts.metrics.framesRejected.inc({ reason });
      // Connect-and-close (liveness probes, a successor checking the socket) is routine: debug only.
      this.opts.logger[reason === 'disconnected' ? 'debug' : 'info']({ conn: conn.id, reason }, 'request rejected without reply');
      if (gently) this.closeGently(conn);
      else socket.destroy();
    };
    conn.timer = setTimeout(() => {
      if (!settled) reject('timeout', false);
    }, this.opts.requestTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      // After the first frame everything is read and discarded: a second request is never served.
      if (settled) return;
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        const reason = e instanceof FrameError ? e.reason : 'too-large';
        reject(reason, true);
        return;
      }
      if (frames.length > 0) {
        settled = true;
        clearTimeout(conn.timer);
        conn.timer = undefined;
        void this.serve(conn, frames[0]);
      }
    });
    socket.on('end', () => {
      if (settled) return;
      clearTimeout(conn.timer);
      reject(decoder.buffered > 0 ? 'truncated' : 'disconnected', false);
    });
    // A reset (no 'end') before a complete request still counts.
    socket.once('close', () => {
      if (!settled) reject(decoder.buffered > 0 ? 'truncated' : 'disconnected', false);
    });
    socket.resume();
  }

  private async serve(conn: Conn, body: Buffer): Promise<void> {
    const { socket } = conn;
    let outcome: RequestOutcome;
    try {
      outcome = await this.opts.handler(body, { id: conn.id });
    } catch (e) {
      // The dispatcher answers every error itself; reaching here is a bug, so close like aesmd does.
      this.opts.logger.error({ conn: conn.id, err: (e as Error).message }, 'request handler failed');
      outcome = {};
    }
    if (socket.destroyed) return;
    if (!outcome.frame) {
      if (outcome.rejectReason) this.opts.metrics.framesRejected.inc({ reason: outcome.rejectReason });
      this.closeGently(conn);
      return;
    }
    // One buffer, one write, then FIN (spec §8 item 9).
    socket.end(outcome.frame);
    this.lingerLimit(conn);
  }

  /** FIN without reset: keep reading (and discarding) until the peer closes or the deadline passes. */
  private closeGently(conn: Conn): void {
    const { socket } = conn;
    socket.on('data', () => undefined);
    socket.resume();
    socket.end();
    this.lingerLimit(conn);
  }

  /** Both sides ended → autoDestroy closes the socket; a peer that never closes is cut at the deadline. */
  private lingerLimit(conn: Conn): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = setTimeout(() => conn.socket.destroy(), this.opts.requestTimeoutMs);
  }

  /** Stop accepting new connections (already-accepted and queued ones are still served). */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    this.server.close();
  }

  /** Resolves when every connection is closed, or destroys the rest after `timeoutMs`. Returns how many were cut. */
  async drain(timeoutMs: number): Promise<number> {
    this.stopAccepting();
    if (this.conns.size === 0) return 0;
    return new Promise((resolve) => {
      const deadline = setTimeout(() => {
        const n = this.conns.size;
        for (const c of this.conns) c.socket.destroy();
        this.idleWaiter = undefined;
        resolve(n);
      }, timeoutMs);
      this.idleWaiter = () => {
        clearTimeout(deadline);
        resolve(0);
      };
    });
  }
}
