import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A raw client connection to one of our HTTP(S) servers on loopback, for behaving badly on purpose:
 * half-sent headers, bodies dripped a byte at a time, idle keep-alive sockets. It records what the
 * server sent and when the server closed the connection.
 */
export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server closed (or reset) the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Write if still open; false once closed. */
  send(data: string | Buffer): boolean;
  destroy(): void;
}

export function openRaw(url: string, opts: { ca?: string } = {}): Promise<RawConnection> {
  const u = new URL(url);
  const port = Number(u.port);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket: Socket =
      u.protocol === 'https:' ? tlsConnect({ host, port, ca: opts.ca, servername: 'localhost' }) : netConnect({ host, port });
    const chunks: Buffer[] = [];
    let closed = false;
    const closedP = new Promise<void>((done) => socket.once('close', () => ((closed = true), done())));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // resets are an expected outcome here
    const ready = u.protocol === 'https:' ? 'secureConnect' : 'connect';
    socket.once(ready, () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks).toString('latin1'),
        closed: closedP,
        isClosed: () => closed,
        send: (d) => (closed || socket.destroyed ? false : (socket.write(d), true)),
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

/** Resolves true when `p` settles within `ms`, false otherwise (a bound for the test, not a measurement). */
export function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(() => (clearTimeout(t), resolve(true)), () => (clearTimeout(t), resolve(true)));
  });
}

/** Send `body` one byte every `everyMs` until the connection closes or the body is done; resolves with bytes sent. */
export async function drip(c: RawConnection, body: Buffer, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < body.length && !c.isClosed()) {
    if (!c.send(body.subarray(sent, sent + 1))) break;
    sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}
