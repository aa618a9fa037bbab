// Framing bounds at the exact boundary, and what a FrameError says (written for mutation testing,
// docs/mutation-testing.md). Complements framing.test.ts.
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError, encodeFrame } from '../../src/aesm/index.js';

const prefix = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function caught(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    return e as FrameError;
  }
  throw new Error('expected a FrameError');
}

describe('FrameError', () => {
  it('is named, carries the reason, and the announced length only when known', () => {
    const e = caught(() => new FrameDecoder().push(prefix(0)));
    expect(e.name).toBe('FrameError');
    expect(e.reason).toBe('empty');
    expect(e.length).toBe(0);
    expect(e.message).toBe('AESM frame announces a zero-length body');
    const cap = caught(() => new FrameDecoder({ maxLength: 0 }));
    expect(cap.reason).toBe('too-large');
    expect(cap.length).toBeUndefined();
  });
});

describe('encodeFrame bounds', () => {
  it('frames a one-byte body, refuses an empty one with a message', () => {
    expect(encodeFrame(Buffer.from([7])).toString('hex')).toBe('0100000007');
    expect(caught(() => encodeFrame(Buffer.alloc(0))).message).toBe('refusing to frame an empty AESM message body');
  });

  it('refuses a body longer than a u32 can announce, before allocating anything', () => {
    // Not a real 4 GiB buffer: an object that only claims that length (the check must come first).
    const huge = { length: 0x1_0000_0000 } as unknown as Uint8Array;
    const e = caught(() => encodeFrame(huge));
    expect(e.reason).toBe('too-large');
    expect(e.length).toBe(0x1_0000_0000);
    expect(e.message).toContain('AESM body of 4294967296 bytes exceeds u32');
  });
});

describe('FrameDecoder caps', () => {
  it('accepts caps 1 and 2^32-1, refuses 0, 2^32, fractions and NaN, naming the range', () => {
    expect(new FrameDecoder({ maxLength: 1 }).maxLength).toBe(1);
    expect(new FrameDecoder({ maxLength: 0xffffffff }).maxLength).toBe(0xffffffff);
    for (const bad of [0, -1, 0x1_0000_0000, 1.5, Number.NaN]) {
      const e = caught(() => new FrameDecoder({ maxLength: bad }));
      expect(e.message).toBe(`maxLength must be an integer in 1..4294967295, got ${bad}`);
    }
  });

  it('a cap of 1 takes one-byte bodies and refuses two, with the numbers in the message', () => {
    const d = new FrameDecoder({ maxLength: 1 });
    expect(d.push(encodeFrame(Buffer.from([9])))).toEqual([Buffer.from([9])]);
    const e = caught(() => d.push(prefix(2)));
    expect(e.reason).toBe('too-large');
    expect(e.length).toBe(2);
    expect(e.message).toBe('AESM frame announces 2 bytes, limit is 1');
  });
});

describe('FrameDecoder state across chunks', () => {
  it('counts buffered prefix bytes, then body bytes, and is empty again after each frame', () => {
    const d = new FrameDecoder();
    const frame = encodeFrame(Buffer.from('abcdef'));
    expect(d.push(frame.subarray(0, 3))).toEqual([]);
    expect(d.buffered).toBe(3);
    expect(d.push(frame.subarray(3, 6))).toEqual([]);
    expect(d.buffered).toBe(6);
    expect(d.push(frame.subarray(6))).toEqual([Buffer.from('abcdef')]);
    expect(d.buffered).toBe(0);
    d.end();
  });

  it('end() inside a prefix or a body says where the stream stopped', () => {
    const inPrefix = new FrameDecoder();
    inPrefix.push(Buffer.from([5, 0]));
    const p = caught(() => inPrefix.end());
    expect(p.reason).toBe('truncated');
    expect(p.message).toBe('AESM stream ended inside a frame (2 of 4 prefix bytes)');
    expect(p.length).toBeUndefined();
    // The decoder stays failed.
    expect(caught(() => inPrefix.push(Buffer.from([0, 0]))).reason).toBe('truncated');

    const inBody = new FrameDecoder();
    inBody.push(Buffer.concat([prefix(5), Buffer.from('ab')]));
    const b = caught(() => inBody.end());
    expect(b.message).toBe('AESM stream ended inside a frame (2 of 5 body bytes)');
    expect(b.length).toBe(5);
  });

  it('a body split over chunks above the preallocation limit keeps its pieces in order', () => {
    const body = Buffer.alloc(64 * 1024 + 1);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const frame = encodeFrame(body);
    const d = new FrameDecoder({ maxLength: 1 << 17 });
    expect(d.push(frame.subarray(0, 10))).toEqual([]);
    expect(d.push(frame.subarray(10, 40000))).toEqual([]);
    const [out] = d.push(frame.subarray(40000));
    expect(out!.equals(body)).toBe(true);
    // and the next frame starts clean
    expect(d.push(encodeFrame(Buffer.from('z')))).toEqual([Buffer.from('z')]);
  });

  it('two frames in one chunk after a split prefix', () => {
    const d = new FrameDecoder();
    const stream = Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two'))]);
    expect(d.push(stream.subarray(0, 1))).toEqual([]);
    expect(d.push(stream.subarray(1))).toEqual([Buffer.from('one'), Buffer.from('two')]);
  });
});

// The two position computations of push(): how much of the chunk the prefix step and the body step may
// take. Each case ends a step exactly where the chunk still holds more for the next step.
describe('FrameDecoder steps that stop mid-chunk', () => {
  it('a chunk that completes a frame and ends inside the next prefix keeps only the bytes it has', () => {
    const d = new FrameDecoder();
    const one = encodeFrame(Buffer.from('first'));
    const two = encodeFrame(Buffer.from('second!'));
    // one whole frame + 2 of the next frame's 4 prefix bytes
    expect(d.push(Buffer.concat([one, two.subarray(0, 2)]))).toEqual([Buffer.from('first')]);
    expect(d.buffered).toBe(2);
    expect(d.push(two.subarray(2, 3))).toEqual([]);
    expect(d.buffered).toBe(3);
    expect(d.push(two.subarray(3))).toEqual([Buffer.from('second!')]);
    expect(d.buffered).toBe(0);
    d.end();
  });

  it('a chunk that finishes a split body carries the next frame whole', () => {
    const d = new FrameDecoder();
    const one = encodeFrame(Buffer.from('0123456789'));
    const two = encodeFrame(Buffer.from('xyz'));
    expect(d.push(one.subarray(0, 7))).toEqual([]); // prefix + 3 body bytes
    expect(d.buffered).toBe(7);
    expect(d.push(Buffer.concat([one.subarray(7), two]))).toEqual([Buffer.from('0123456789'), Buffer.from('xyz')]);
    expect(d.buffered).toBe(0);
    d.end();
  });

  it('the same above the preallocation limit (a body collected from pieces)', () => {
    const body = Buffer.alloc(64 * 1024 + 3, 0x5c);
    const one = encodeFrame(body);
    const two = encodeFrame(Buffer.from('tail'));
    const d = new FrameDecoder({ maxLength: 1 << 17 });
    expect(d.push(one.subarray(0, 1000))).toEqual([]);
    const out = d.push(Buffer.concat([one.subarray(1000), two]));
    expect(out).toHaveLength(2);
    expect(out[0]!.equals(body)).toBe(true);
    expect(out[1]).toEqual(Buffer.from('tail'));
  });
});
