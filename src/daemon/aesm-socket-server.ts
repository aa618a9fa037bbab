/**
 * The AESM socket server: connection limits with eviction, receive deadlines, framing, one request
 * per connection.
 *
 * Rules from the wire spec that shape this file:
 * - one request per connection; the reply frame (prefix + body) goes to the kernel in ONE write
 *   (one write or writev syscall), then end() (§8 items 8, 9);
 * - the whole request frame is read before answering or closing, and refused connections get a
 *   FIN (EOF) while we keep reading, never a reset: Intel's client does not ignore SIGPIPE (§8 item 10);
 * - unparseable requests are closed without a reply (§1.2).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, FrameError } from '../aesm/framing.js';
import { AggregatingLog } from './log-limiter.js';
import type { DaemonMetrics, FrameRejectReason } from './metrics.js';

export interface RequestOutcome {
  /**
   * The whole reply frame (u32 LE length prefix + protobuf body) as buffers in order, written as is in
   * one write: usually one buffer; a reply padded to buf_size adds read-only views of shared zero bytes
   * (encodeResponseFrameParts). Absent: close without a reply.
   */
  frame?: readonly Buffer[];
  /** Why there is no reply (counted in sqh_aesm_frames_rejected_total). */
  rejectReason?: FrameRejectReason;
}

export type RequestHandler = (body: Buffer, conn: { id: number }) => Promise<RequestOutcome>;

export interface AesmSocketServerOptions {
  handler: RequestHandler;
  metrics: DaemonMetrics;
  logger: Logger;
  /** Open connections at most; at the cap the one that has sent the least is evicted (see onConnection). */
  maxConnections: number;
  /** Deadline for receiving one complete request (and for a peer to take its reply and close). */
  requestTimeoutMs: number;
  /** Deadline for the first byte of a request: Intel's client writes right after connect(). */
  firstByteTimeoutMs?: number;
  maxRequestSize: number;
  /** Aggregates log lines about refused, evicted and cut connections (default: one per 10 s per kind). */
  eventLog?: AggregatingLog;
}

type ConnState = 'receiving' | 'serving' | 'closing';

interface Conn {
  id: number;
  socket: net.Socket;
  timer?: NodeJS.Timeout;
  state: ConnState;
  /** Request bytes received so far (what eviction ranks by). */
  received: number;
  acceptedAt: number;
}

/**
 * Fairness under local abuse: every accepted connection is read at once (a request is at most
 * --max-request-size, so the memory is bounded), and when --max-connections are open a newcomer
 * evicts, in this order, a connection that was already answered but not yet closed by its peer,
 * then the one that has sent nothing for longest, then the one that has sent the fewest bytes.
 * Connections whose request is complete (being served) are never evicted; only when every open
 * connection is being served is the newcomer refused. A well-behaved client writes its whole
 * request right after connect(), so idle and dripping neighbours are always evicted before it.
 */
export class AesmSocketServer {
  readonly server: net.Server;
  private readonly listeners: net.Server[] = [];
  private readonly conns = new Set<Conn>();
  // Eviction candidates kept in accept/answer order, so the common cases are O(1) under a flood.
  private readonly answered = new Set<Conn>();
  private readonly silent = new Set<Conn>();
  /** Closed gently (FIN sent, still reading) after eviction: not counted towards the cap, cut at a short deadline. */
  private readonly evicted = new Set<net.Socket>();
  private nextId = 1;
  private accepting = true;
  private idleWaiter: (() => void) | undefined;
  private readonly events: AggregatingLog;

  constructor(private readonly opts: AesmSocketServerOptions) {
    this.events = opts.eventLog ?? new AggregatingLog(opts.logger);
    this.server = this.newListener();
  }

  /**
   * A listening socket feeding this server (the first one is `server`; the daemon makes another to
   * re-publish the path after an untrusted replacement). allowHalfOpen: a client may shut down its
   * write side after the request and still read the reply.
   */
  newListener(): net.Server {
    const server = net.createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    // A failed listen() is reported once, by publishSocket's caller; log only errors of a live server.
    server.on('error', (e) => {
      if (server.listening) this.opts.logger.error({ err: e.message }, 'AESM socket server error');
    });
    this.listeners.push(server);
    return server;
  }

  get openConnections(): number {
    return this.conns.size + this.evicted.size;
  }

  private onConnection(socket: net.Socket): void {
    const { metrics } = this.opts;
    if (this.conns.size >= this.opts.maxConnections && !this.evictOne()) {
      metrics.rejectedConnections.inc({ reason: 'limit' });
      this.events.event('refused', 'warn', 'connection refused: --max-connections open and every one is being served', { open: this.conns.size });
      this.closeEvicted(socket);
      return;
    }
    const conn: Conn = { id: this.nextId++, socket, state: 'receiving', received: 0, acceptedAt: performance.now() };
    this.conns.add(conn);
    this.silent.add(conn);
    metrics.openConnections.inc();
    socket.on('error', (e: NodeJS.ErrnoException) => this.opts.logger.debug({ conn: conn.id, err: e.code ?? e.message }, 'client socket error'));
    socket.once('close', () => {
      if (!this.forget(conn)) return;
      metrics.openConnections.dec();
      if (conn.timer) clearTimeout(conn.timer);
      this.checkIdle();
    });
    this.begin(conn);
  }

  /** Drop a connection from every bookkeeping set; false if it was not tracked (already evicted). */
  private forget(conn: Conn): boolean {
    this.answered.delete(conn);
    this.silent.delete(conn);
    return this.conns.delete(conn);
  }

  /** Mark a connection answered (or rejected): first in line for eviction, its reply is out. */
  private markClosing(conn: Conn): void {
    conn.state = 'closing';
    this.silent.delete(conn);
    if (this.conns.has(conn)) this.answered.add(conn);
  }

  /** Make room for a newcomer (policy in the class comment). Returns false if nothing may be evicted. */
  private evictOne(): boolean {
    // Sets iterate in insertion order: the first entry is the oldest. An answered connection leaves
    // the count (it is not destroyed: its peer may still be reading); one still flushing is kept.
    let victim: Conn | undefined;
    let looked = 0;
    for (const c of this.answered) {
      if (c.socket.writableLength === 0) victim = c;
      if (victim || ++looked >= 8) break;
    }
    victim ??= this.silent.values().next().value;
    if (!victim) {
      for (const c of this.conns) {
        if (c.state === 'receiving' && (!victim || c.received < victim.received)) victim = c;
      }
    }
    if (!victim) return false;
    const answered = victim.state === 'closing';
    victim.state = 'closing';
    if (!answered) {
      this.opts.metrics.rejectedConnections.inc({ reason: 'evicted' });
      this.events.event('evicted', 'info', 'connection evicted at --max-connections: it had sent the least', { conn: victim.id, received: victim.received });
    }
    this.forget(victim);
    this.opts.metrics.openConnections.dec();
    if (answered) {
      // Already answered and FIN sent: it only stops counting towards the cap. Destroying it could
      // discard a reply the peer has not read yet; its linger deadline still cuts it.
      this.trackEvicted(victim.socket);
      return true;
    }
    if (victim.timer) clearTimeout(victim.timer);
    victim.socket.removeAllListeners('data');
    this.closeEvicted(victim.socket);
    return true;
  }

  /**
   * FIN now, keep reading so the peer's write never meets a closed socket (Intel's client does not
   * ignore SIGPIPE), and cut after a short deadline. Bounded: beyond maxConnections such sockets the
   * oldest is cut at once.
   */
  private closeEvicted(socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.resume();
    socket.end();
    const t = setTimeout(() => socket.destroy(), Math.min(1000, this.opts.requestTimeoutMs));
    socket.once('close', () => clearTimeout(t));
    this.trackEvicted(socket);
  }

  /** Closing sockets outside the cap, bounded: beyond maxConnections of them the oldest is cut at once. */
  private trackEvicted(socket: net.Socket): void {
    this.evicted.add(socket);
    socket.once('close', () => {
      this.evicted.delete(socket);
      this.checkIdle();
    });
    if (this.evicted.size > this.opts.maxConnections) {
      const oldest = this.evicted.values().next().value;
      oldest?.destroy();
    }
  }

  private checkIdle(): void {
    if (this.conns.size === 0 && this.evicted.size === 0 && this.idleWaiter) {
      const w = this.idleWaiter;
      this.idleWaiter = undefined;
      w();
    }
  }

  private begin(conn: Conn): void {
    const { socket } = conn;
    const decoder = new FrameDecoder({ maxLength: this.opts.maxRequestSize });
    const settled = () => conn.state !== 'receiving';
    const reject = (reason: FrameRejectReason, gently: boolean) => {
      if (conn.timer) clearTimeout(conn.timer);
      this.markClosing(conn);
      this.opts.metrics.framesRejected.inc({ reason });
      // Connect-and-close (liveness probes, a successor checking the socket) is routine: debug only.
      this.events.event(`rejected-${reason}`, reason === 'disconnected' ? 'debug' : 'info', 'request rejected without reply', { conn: conn.id, reason });
      if (gently) this.closeGently(conn);
      else socket.destroy();
    };
    const firstByteMs = Math.min(this.opts.firstByteTimeoutMs ?? this.opts.requestTimeoutMs, this.opts.requestTimeoutMs);
    conn.timer = setTimeout(() => {
      if (!settled()) reject('idle', false);
    }, firstByteMs);
    socket.on('data', (chunk: Buffer) => {
      // After the first frame everything is read and discarded: a second request is never served.
      if (settled()) return;
      if (conn.received === 0) {
        this.silent.delete(conn);
        clearTimeout(conn.timer);
        conn.timer = setTimeout(() => {
          if (!settled()) reject('timeout', false);
        }, Math.max(1, this.opts.requestTimeoutMs - (performance.now() - conn.acceptedAt)));
      }
      conn.received += chunk.length;
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        const reason = e instanceof FrameError ? e.reason : 'too-large';
        reject(reason, true);
        return;
      }
      if (frames.length > 0) {
        conn.state = 'serving';
        this.silent.delete(conn);
        clearTimeout(conn.timer);
        conn.timer = undefined;
        void this.serve(conn, frames[0]);
      }
    });
    socket.on('end', () => {
      if (settled()) return;
      reject(decoder.buffered > 0 ? 'truncated' : 'disconnected', false);
    });
    // A reset (no 'end') before a complete request still counts.
    socket.once('close', () => {
      if (!settled()) reject(decoder.buffered > 0 ? 'truncated' : 'disconnected', false);
    });
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
    this.markClosing(conn);
    if (!outcome.frame) {
      if (outcome.rejectReason) {
        this.opts.metrics.framesRejected.inc({ reason: outcome.rejectReason });
        this.events.event(`rejected-${outcome.rejectReason}`, 'info', 'unparseable request closed without reply', { conn: conn.id, reason: outcome.rejectReason });
      }
      this.closeGently(conn);
      return;
    }
    // The whole frame in one write, then FIN (spec §8 item 9): one buffer goes to end() as it is; the
    // parts of a padded reply are corked and leave together, as one writev, when end() uncorks.
    const parts = outcome.frame;
    if (parts.length > 1) {
      socket.cork();
      for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i]);
    }
    socket.end(parts[parts.length - 1]);
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

  /** Stop accepting new connections (already-accepted ones are still served). */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    for (const l of this.listeners) l.close();
  }

  /** Resolves when every connection is closed, or destroys the rest after `timeoutMs`. Returns how many were cut. */
  async drain(timeoutMs: number): Promise<number> {
    this.stopAccepting();
    if (this.openConnections === 0) return 0;
    return new Promise((resolve) => {
      const deadline = setTimeout(() => {
        const n = this.conns.size;
        for (const c of this.conns) c.socket.destroy();
        for (const s of this.evicted) s.destroy();
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
