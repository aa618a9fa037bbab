/**
 * One AESM round trip to another daemon, exactly like Intel's client: a fresh connection, one framed
 * request, one framed response, close. Failures become AesmError with the code a client would most
 * usefully see from us (the daemon forwards it).
 */
import net from 'node:net';
import { AesmCode, AesmError, FrameDecoder, encodeFrame } from '../../aesm/index.js';

export interface RoundTripOptions {
  socketPath: string;
  timeoutMs: number;
  maxResponseSize?: number;
}

export function roundTrip(body: Buffer, opts: RoundTripOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder({ maxLength: opts.maxResponseSize ?? 4 * 1024 * 1024 });
    let done = false;
    const finish = (err: AesmError | undefined, res?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(
      () => finish(new AesmError(AesmCode.BUSY, `upstream ${opts.socketPath} did not answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    const sock = net.connect(opts.socketPath);
    sock.once('connect', () => sock.write(encodeFrame(body)));
    sock.on('data', (chunk: Buffer) => {
      try {
        const frames = decoder.push(chunk);
        if (frames.length > 0) finish(undefined, frames[0]);
      } catch (e) {
        finish(new AesmError(AesmCode.UNEXPECTED_ERROR, `upstream sent a bad frame: ${(e as Error).message}`));
      }
    });
    sock.once('end', () => finish(new AesmError(AesmCode.UNEXPECTED_ERROR, `upstream ${opts.socketPath} closed without a complete answer`)));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const unreachable = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES';
      finish(
        new AesmError(
          unreachable ? AesmCode.SERVICE_UNAVAILABLE : AesmCode.UNEXPECTED_ERROR,
          `upstream ${opts.socketPath}: ${e.code ?? e.message}`,
        ),
      );
    });
  });
}
