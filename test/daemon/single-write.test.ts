// Spec §8 item 9: the whole response frame goes to the kernel in ONE write, then end(). Intel's
// client has a read race when a response arrives in pieces. This test records what the daemon's
// server-side sockets hand to their handle: net.Socket's `_write` (one buffer, one write syscall) or
// `_writev` (several buffers, one writev syscall) is one libuv write request, so exactly one such call
// per reply, carrying every byte of the frame, is what the spec asks for (in-process daemon,
// FakeProvider TEST DOUBLE, real socket).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { FakeProvider, KEY_ID, removeDir, startTestDaemon, tempDir } from './helpers.js';
import { decodeResponse, encodeFrame, encodeRequest, type AesmRequest } from '../../src/aesm/index.js';

type Recorded = { requests: number; buffers: number; bytes: number; ends: number };
const perSocket = new Map<net.Socket, Recorded>();
type Internals = {
  _write: (chunk: Buffer, encoding: string, cb: (e?: Error | null) => void) => void;
  _writev: (chunks: Array<{ chunk: Buffer }>, cb: (e?: Error | null) => void) => void;
};
const proto = net.Socket.prototype as unknown as Internals;
const origWrite = proto._write;
const origWritev = proto._writev;
const origEnd = net.Socket.prototype.end;
let dir: string;
let daemon: DaemonHandle;

const isServerSide = (s: net.Socket) => (s as unknown as { server?: unknown }).server != null;
const rec = (s: net.Socket) => {
  let r = perSocket.get(s);
  if (!r) perSocket.set(s, (r = { requests: 0, buffers: 0, bytes: 0, ends: 0 }));
  return r;
};

beforeAll(async () => {
  proto._write = function (this: net.Socket, chunk, encoding, cb) {
    if (isServerSide(this)) {
      const r = rec(this);
      r.requests++;
      r.buffers++;
      r.bytes += chunk.length;
    }
    return origWrite.call(this, chunk, encoding, cb);
  };
  proto._writev = function (this: net.Socket, chunks, cb) {
    if (isServerSide(this)) {
      const r = rec(this);
      r.requests++;
      r.buffers += chunks.length;
      for (const c of chunks) r.bytes += c.chunk.length;
    }
    return origWritev.call(this, chunks, cb);
  };
  net.Socket.prototype.end = function (this: net.Socket, ...args: unknown[]) {
    if (isServerSide(this)) rec(this).ends++;
    return (origEnd as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof origEnd;
  dir = tempDir();
  daemon = await startTestDaemon(dir, new FakeProvider());
});

afterAll(async () => {
  proto._write = origWrite;
  proto._writev = origWritev;
  net.Socket.prototype.end = origEnd;
  await daemon.shutdown();
  removeDir(dir);
});

/** One request on a new connection; the whole reply as it arrived (prefix included). */
function exchange(req: AesmRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(daemon.config.socketPath);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.on('error', reject);
    s.on('connect', () => s.write(encodeFrame(encodeRequest(req, { timeoutMs: 15000 }))));
  });
}

describe('response writes', () => {
  it('every reply reaches the socket handle as one write request with the whole frame, padded replies included', async () => {
    const replies = [
      { req: { kind: 'getSupportedAttKeyIdNum' } as AesmRequest, expect: 'getSupportedAttKeyIdNum' as const },
      { req: { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 32n } as AesmRequest, expect: 'initQuoteEx' as const },
      // Padded to 64 KiB: the frame head, shared zero bytes and nothing else, still one write request.
      { req: { kind: 'getQuoteEx', report: Buffer.alloc(432), attKeyId: KEY_ID, bufSize: 65_536 } as AesmRequest, expect: 'getQuoteEx' as const },
      // Padded, with a qe_report_info after the padding: three parts.
      { req: { kind: 'getQuoteEx', report: Buffer.alloc(432), attKeyId: KEY_ID, qeReportInfo: Buffer.alloc(960), bufSize: 8192 } as AesmRequest, expect: 'getQuoteEx' as const },
      // An error answer.
      { req: { kind: 'getQuoteEx', report: Buffer.alloc(1), attKeyId: KEY_ID, bufSize: 8192 } as AesmRequest, expect: 'getQuoteEx' as const },
    ];
    const received: Buffer[] = [];
    for (const r of replies) received.push(await exchange(r.req));
    const daemonSockets = [...perSocket.values()].filter((r) => r.ends > 0);
    expect(daemonSockets.length).toBe(replies.length);
    daemonSockets.forEach((r, i) => {
      const frame = received[i]!;
      expect(frame.length).toBe(4 + frame.readUInt32LE(0));
      expect({ requests: r.requests, bytes: r.bytes, ends: r.ends }).toEqual({ requests: 1, bytes: frame.length, ends: 1 });
    });
    // The padded replies really were several buffers (the writev path ran), and they decode.
    expect(daemonSockets[2]!.buffers).toBeGreaterThan(1);
    expect(daemonSockets[3]!.buffers).toBeGreaterThan(2);
    const padded = decodeResponse(received[2]!.subarray(4), 'getQuoteEx');
    expect(padded.errorCode).toBe(0);
    expect(padded.kind === 'getQuoteEx' && padded.quote?.length).toBe(65_536);
    const withInfo = decodeResponse(received[3]!.subarray(4), 'getQuoteEx');
    expect(withInfo.kind === 'getQuoteEx' && [withInfo.quote?.length, withInfo.qeReportInfo?.length]).toEqual([8192, 960]);
    expect(decodeResponse(received[4]!.subarray(4), 'getQuoteEx').errorCode).not.toBe(0);
  });
});
