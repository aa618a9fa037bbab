// AESM framing (wire spec §2): u32 little-endian body length, then the body. Neither Intel side
// enforces a maximum, so we do: a length above the cap is rejected as soon as its 4 bytes are seen,
// before any buffer of that size exists.

export const FRAME_HEADER_SIZE = 4;
/** Default cap for one body. The largest real quote_ex request is ~2.6 KB (spec §2). */
export const DEFAULT_MAX_FRAME = 64 * 1024;
const MAX_U32 = 0xffffffff;

export type FrameErrorReason = 'too-large' | 'empty' | 'truncated';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly reason: FrameErrorReason;
  /** The length announced by the prefix, when known. */
  readonly length?: number;

  constructor(reason: FrameErrorReason, message: string, length?: number) {
    super(message);
    this.reason = reason;
    if (length !== undefined) this.length = length;
  }
}

/** Prefix + body in one Buffer, so it can go out in a single write (spec §8 item 9). */
export function encodeFrame(body: Uint8Array): Buffer {
  // An empty body makes Intel's client dereference NULL (spec §2), so it is never produced.
  if (body.length === 0) throw new FrameError('empty', 'refusing to frame an empty AESM message body', 0);
  if (body.length > MAX_U32) throw new FrameError('too-large', `AESM body of ${body.length} bytes exceeds u32`, body.length);
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.length);
  out.writeUInt32LE(body.length, 0);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

export interface FrameDecoderOptions {
  /** Largest accepted body length in bytes (default 64 KiB). */
  maxLength?: number;
}

/**
 * Incremental decoder for a byte stream that may arrive in any chunking. Each returned Buffer is a
 * fresh, non-empty body that shares no memory with the pushed chunks. After a FrameError the decoder
 * is unusable (the stream is out of sync) and every further push rethrows that error.
 */
export class FrameDecoder {
  readonly maxLength: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_SIZE);
  private headerFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private failure: FrameError | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxLength ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(max) || max < 1 || max > MAX_U32) {
      throw new FrameError('too-large', `maxLength must be an integer in 1..${MAX_U32}, got ${max}`);
    }
    this.maxLength = max;
  }

  /** Bytes held for an incomplete frame (header bytes plus body bytes so far). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Feed bytes; returns every frame body completed by them, in order. Throws FrameError. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.body) {
        const take = Math.min(FRAME_HEADER_SIZE - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < FRAME_HEADER_SIZE) break;
        const length = this.header.readUInt32LE(0);
        if (length === 0) return this.fail(new FrameError('empty', 'AESM frame announces a zero-length body', 0));
        if (length > this.maxLength) {
          return this.fail(
            new FrameError('too-large', `AESM frame announces ${length} bytes, limit is ${this.maxLength}`, length),
          );
        }
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
      const body = this.body;
      const take = Math.min(body.length - this.bodyFill, chunk.length - pos);
      body.set(chunk.subarray(pos, pos + take), this.bodyFill);
      this.bodyFill += take;
      pos += take;
      if (this.bodyFill === body.length) {
        frames.push(body);
        this.body = undefined;
        this.bodyFill = 0;
        this.headerFill = 0;
      }
    }
    return frames;
  }

  /** Call at end of stream: throws FrameError('truncated') if a frame was started but not completed. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0) {
      const expected = this.body ? ` of ${this.body.length}` : '';
      this.fail(
        new FrameError(
          'truncated',
          `AESM stream ended inside a frame (${this.buffered} byte(s) buffered${expected ? `, body${expected}` : ''})`,
          this.body?.length,
        ),
      );
    }
  }

  private fail(err: FrameError): never {
    this.failure = err;
    throw err;
  }
}
