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

// Bodies up to this size get their buffer when the prefix arrives; larger ones (only possible with a
// raised cap) are collected as the bytes come in, so a lying prefix never reserves memory by itself.
const PREALLOCATE_LIMIT = 64 * 1024;

/**
 * Incremental decoder for a byte stream that may arrive in any chunking. Each returned Buffer is a
 * fresh, non-empty body that shares no memory with the pushed chunks.
 *
 * A bad prefix (zero, or above the cap) throws FrameError. If the same chunk already completed
 * frames, those are returned first and the error is thrown by the next push() or end(). After an
 * error the decoder stays failed (the stream is out of sync) and rethrows it.
 */
export class FrameDecoder {
  readonly maxLength: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_SIZE);
  private headerFill = 0;
  /** Announced body length of the frame in progress, or -1 while the prefix is incomplete. */
  private expected = -1;
  private body: Buffer | undefined;
  private pieces: Buffer[] = [];
  private bodyFill = 0;
  private failure: FrameError | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxLength ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(max) || max < 1 || max > MAX_U32) {
      throw new FrameError('too-large', `maxLength must be an integer in 1..${MAX_U32}, got ${max}`);
    }
    this.maxLength = max;
  }

  /** Bytes held for an incomplete frame (prefix bytes plus body bytes so far). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Feed bytes; returns every frame body completed by them, in order. Throws FrameError. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.expected < 0) {
        const take = Math.min(FRAME_HEADER_SIZE - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < FRAME_HEADER_SIZE) break;
        const length = this.header.readUInt32LE(0);
        const error = this.checkLength(length);
        if (error) {
          this.failure = error;
          if (frames.length > 0) return frames;
          throw error;
        }
        this.expected = length;
        this.bodyFill = 0;
        if (length <= PREALLOCATE_LIMIT) this.body = Buffer.allocUnsafe(length);
      }
      const take = Math.min(this.expected - this.bodyFill, chunk.length - pos);
      const part = chunk.subarray(pos, pos + take);
      if (this.body) this.body.set(part, this.bodyFill);
      else this.pieces.push(Buffer.from(part));
      this.bodyFill += take;
      pos += take;
      if (this.bodyFill === this.expected) frames.push(this.finishFrame());
    }
    return frames;
  }

  /** Call at end of stream: throws FrameError('truncated') if a frame was started but not completed. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered === 0) return;
    const what =
      this.expected < 0
        ? `${this.headerFill} of 4 prefix bytes`
        : `${this.bodyFill} of ${this.expected} body bytes`;
    const length = this.expected < 0 ? undefined : this.expected;
    this.failure = new FrameError('truncated', `AESM stream ended inside a frame (${what})`, length);
    throw this.failure;
  }

  private checkLength(length: number): FrameError | undefined {
    if (length === 0) return new FrameError('empty', 'AESM frame announces a zero-length body', 0);
    if (length > this.maxLength) {
      return new FrameError('too-large', `AESM frame announces ${length} bytes, limit is ${this.maxLength}`, length);
    }
    return undefined;
  }

  private finishFrame(): Buffer {
    const frame = this.body ?? Buffer.concat(this.pieces, this.expected);
    this.body = undefined;
    this.pieces = [];
    this.expected = -1;
    this.bodyFill = 0;
    this.headerFill = 0;
    return frame;
  }
}
