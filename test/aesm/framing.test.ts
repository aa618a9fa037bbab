// Framing (spec §2): u32 LE length + body, streaming decoder with a size cap.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME, FrameDecoder, FrameError, encodeFrame } from '../../src/aesm/index.js';

describe('encodeFrame', () => {
  it('prefixes the little-endian length', () => {
    expect(encodeFrame(Buffer.from('9a01020826', 'hex')).toString('hex')).toBe('050000009a01020826');
  });

  it('refuses an empty body', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(FrameError);
    try {
      encodeFrame(new Uint8Array(0));
    } catch (err) {
      expect((err as FrameError).reason).toBe('empty');
    }
  });
});

describe('FrameDecoder', () => {
  const frames = [Buffer.from([1]), Buffer.alloc(300, 7), Buffer.from('hello')];
  const stream = Buffer.concat(frames.map((f) => encodeFrame(f)));

  it('decodes several frames from one chunk', () => {
    const d = new FrameDecoder();
    expect(d.push(stream)).toEqual(frames);
    expect(d.buffered).toBe(0);
    d.end();
  });

  it('decodes byte by byte', () => {
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...d.push(Buffer.from([byte])));
    expect(out).toEqual(frames);
  });

  it('reports buffered bytes of an incomplete frame and end() rejects it as truncated', () => {
    const d = new FrameDecoder();
    expect(d.push(stream.subarray(0, 7))).toEqual([frames[0]]);
    expect(d.buffered).toBe(2);
    expect(() => d.end()).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });

  it('returned bodies do not share memory with the input', () => {
    const chunk = Buffer.from(encodeFrame(Buffer.from('abc')));
    const [body] = new FrameDecoder().push(chunk);
    chunk.fill(0);
    expect(body!.toString()).toBe('abc');
  });

  it('rejects a zero length', () => {
    const d = new FrameDecoder();
    expect(() => d.push(Buffer.from('00000000', 'hex'))).toThrow(expect.objectContaining({ reason: 'empty' }));
    // poisoned: the stream is out of sync
    expect(() => d.push(encodeFrame(Buffer.from([1])))).toThrow(expect.objectContaining({ reason: 'empty' }));
  });

  it('rejects a length above the cap as soon as the prefix is complete', () => {
    const d = new FrameDecoder();
    expect(d.maxLength).toBe(DEFAULT_MAX_FRAME);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(DEFAULT_MAX_FRAME + 1);
    expect(() => d.push(header)).toThrow(expect.objectContaining({ reason: 'too-large', length: 65537 }));
  });

  it('accepts exactly the cap, with a custom cap', () => {
    const d = new FrameDecoder({ maxLength: 10 });
    expect(d.push(encodeFrame(Buffer.alloc(10, 1)))).toEqual([Buffer.alloc(10, 1)]);
    expect(() => d.push(encodeFrame(Buffer.alloc(11)))).toThrow(expect.objectContaining({ reason: 'too-large' }));
  });
});

describe('FrameDecoder error timing and memory', () => {
  it('delivers frames completed before a bad prefix, then fails on the next call', () => {
    const d = new FrameDecoder();
    const chunk = Buffer.concat([encodeFrame(Buffer.from('ok')), Buffer.from('00000000', 'hex')]);
    expect(d.push(chunk)).toEqual([Buffer.from('ok')]);
    expect(() => d.end()).toThrow(expect.objectContaining({ reason: 'empty' }));
    expect(() => d.push(Buffer.from([1]))).toThrow(expect.objectContaining({ reason: 'empty' }));
  });

  it('a huge announced length under a raised cap reserves nothing up front', () => {
    const d = new FrameDecoder({ maxLength: 0xffffffff });
    const before = process.memoryUsage().arrayBuffers;
    const header = Buffer.alloc(4);
    header.writeUInt32LE(0xfffffff0);
    expect(d.push(Buffer.concat([header, Buffer.alloc(10, 9)]))).toEqual([]);
    expect(d.buffered).toBe(14);
    // a preallocated 4 GiB body would show up here; 16 MiB leaves room for unrelated noise
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(() => d.end()).toThrow(expect.objectContaining({ reason: 'truncated', length: 0xfffffff0 }));
  });

  it('a body above the preallocation limit is assembled from its pieces', () => {
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const frame = encodeFrame(body);
    const d = new FrameDecoder({ maxLength: 1 << 20 });
    const out: Buffer[] = [];
    for (let i = 0; i < frame.length; i += 7777) out.push(...d.push(frame.subarray(i, i + 7777)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(body)).toBe(true);
  });

  it('rejects a nonsensical cap with a typed error', () => {
    expect(() => new FrameDecoder({ maxLength: 0 })).toThrow(FrameError);
    expect(() => new FrameDecoder({ maxLength: 1.5 })).toThrow(FrameError);
  });
});
