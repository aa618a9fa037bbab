// Fuzz-style robustness: thousands of random, truncated and mutated inputs (seeded, reproducible)
// into the frame decoder and the message decoders. The only acceptable failures are FrameError
// and AesmWireError; decodeRequest must never throw at all.
import { describe, expect, it } from 'vitest';
import {
  AESM_OPERATIONS,
  AesmWireError,
  FrameDecoder,
  FrameError,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  type DecodedRequest,
} from '../../src/aesm/index.js';
import { prng } from '../support/prng.js';
import { REQUEST_VECTORS, RESPONSE_VECTORS, frameHex } from './vectors.js';

const SEED = 0x5eed_a35d;

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const word = (rand() * 4294967296) >>> 0;
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (word >>> (8 * k)) & 0xff;
  }
  return b;
}

const int = (rand: () => number, max: number): number => Math.floor(rand() * max);

function mutate(rand: () => number, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + int(rand, 4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length === 0 ? 0 : int(rand, b.length);
    switch (int(rand, 6)) {
      case 0: // flip one bit
        if (b.length > 0) b[at] = b[at]! ^ (1 << int(rand, 8));
        break;
      case 1: // overwrite a byte
        if (b.length > 0) b[at] = int(rand, 256);
        break;
      case 2: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), randomBytes(rand, 1 + int(rand, 8)), b.subarray(at)]);
        break;
      case 3: // delete a run
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rand, 8))]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      default: // varint-looking bytes (continuation bits) are the interesting ones for protobuf
        if (b.length > 0) b[at] = 0x80 | int(rand, 128);
    }
  }
  return b;
}

function splitRandomly(rand: () => number, data: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    // mostly tiny chunks (byte-by-byte included), sometimes big ones
    const size = rand() < 0.7 ? 1 + int(rand, 5) : 1 + int(rand, 2000);
    chunks.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

function checkDecodedRequest(d: DecodedRequest): void {
  if (!d.ok) {
    expect(['invalid-protobuf', 'no-submessage']).toContain(d.reason);
    return;
  }
  expect(Array.isArray(d.missingRequired)).toBe(true);
  // whatever was decoded can be encoded again and decodes to the same request (compared as bytes:
  // deep-equal on Buffers is what made this test slow)
  const bytes = encodeRequest(d.request);
  const again = decodeRequest(bytes);
  if (!again.ok || again.request.kind !== d.request.kind || !encodeRequest(again.request).equals(bytes)) {
    expect.fail(`re-decoding changed the request: ${bytes.toString('hex')}`);
  }
}

const requestBodies = REQUEST_VECTORS.map((v) => frameHex(v.frame).subarray(4));
const responseBodies = RESPONSE_VECTORS.map((v) => ({ body: frameHex(v.frame).subarray(4), kind: v.response.kind }));

describe(`fuzz (seed 0x${SEED.toString(16)})`, () => {
  it('FrameDecoder reassembles valid streams under random chunking', () => {
    const rand = prng(SEED);
    for (let iter = 0; iter < 300; iter++) {
      const bodies = Array.from({ length: 1 + int(rand, 6) }, () => randomBytes(rand, 1 + int(rand, 2000)));
      const d = new FrameDecoder();
      const out: Buffer[] = [];
      for (const c of splitRandomly(rand, Buffer.concat(bodies.map((b) => encodeFrame(b))))) out.push(...d.push(c));
      expect(out.length).toBe(bodies.length);
      out.forEach((f, i) => {
        if (!f.equals(bodies[i]!)) expect.fail(`frame ${i} differs in iteration ${iter}`);
      });
      expect(d.buffered).toBe(0);
      d.end();
    }
  });

  it('FrameDecoder on random and mutated bytes: only FrameError, never empty or oversize bodies', () => {
    const rand = prng(SEED + 1);
    const valid = Buffer.concat(REQUEST_VECTORS.map((v) => frameHex(v.frame)));
    let frames = 0;
    const reasons = new Set<string>();
    for (let iter = 0; iter < 4000; iter++) {
      const maxLength = 1 + int(rand, 2000);
      const input = iter % 2 === 0 ? randomBytes(rand, int(rand, 400)) : mutate(rand, valid.subarray(0, int(rand, valid.length)));
      const d = new FrameDecoder({ maxLength });
      try {
        for (const c of splitRandomly(rand, input)) {
          for (const f of d.push(c)) {
            frames++;
            expect(f.length).toBeGreaterThan(0);
            expect(f.length).toBeLessThanOrEqual(maxLength);
          }
        }
        d.end();
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        reasons.add((err as FrameError).reason);
      }
    }
    // the corpus really exercised every path
    expect(frames).toBeGreaterThan(100);
    expect([...reasons].sort()).toEqual(['empty', 'too-large', 'truncated']);
  });

  it('every truncation of every §9 frame is reported as truncated', () => {
    for (const v of [...REQUEST_VECTORS, ...RESPONSE_VECTORS]) {
      const frame = frameHex(v.frame);
      for (let cut = 1; cut < frame.length; cut += cut < 64 ? 1 : 37) {
        const d = new FrameDecoder();
        expect(d.push(frame.subarray(0, cut))).toEqual([]);
        expect(() => d.end()).toThrow(expect.objectContaining({ reason: 'truncated' }));
      }
    }
  });

  it('decodeRequest never throws on random bytes', () => {
    const rand = prng(SEED + 2);
    const seen = new Set<string>();
    for (let iter = 0; iter < 5000; iter++) {
      const d = decodeRequest(randomBytes(rand, int(rand, 300)));
      seen.add(d.ok ? 'ok' : d.reason);
      checkDecodedRequest(d);
    }
    expect(seen.has('invalid-protobuf')).toBe(true);
  });

  it('decodeRequest never throws on truncated and mutated §9 requests', () => {
    const rand = prng(SEED + 3);
    const kinds = new Set<string>();
    for (const body of requestBodies) {
      for (let cut = 0; cut < body.length; cut++) checkDecodedRequest(decodeRequest(body.subarray(0, cut)));
    }
    for (let iter = 0; iter < 5000; iter++) {
      const d = decodeRequest(mutate(rand, requestBodies[iter % requestBodies.length]!));
      kinds.add(d.ok ? d.request.kind : d.reason);
      checkDecodedRequest(d);
    }
    // mutations reach accepted requests, rejected ones and legacy dispatch alike
    expect(kinds.has('invalid-protobuf')).toBe(true);
    expect(kinds.has('getQuoteEx')).toBe(true);
    expect(kinds.has('initQuoteEx')).toBe(true);
  });

  it('decodeResponse throws nothing but AesmWireError on random, truncated and mutated responses', () => {
    const rand = prng(SEED + 4);
    const reasons = new Set<string>();
    let accepted = 0;
    const attempt = (body: Buffer, expect_: (typeof AESM_OPERATIONS)[number] | number): void => {
      try {
        const res = decodeResponse(body, expect_);
        accepted++;
        expect(Number.isInteger(res.errorCode)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(AesmWireError);
        reasons.add((err as AesmWireError).reason);
      }
    };
    for (const { body, kind } of responseBodies) {
      for (let cut = 0; cut < body.length; cut += cut < 64 ? 1 : 53) attempt(body.subarray(0, cut), kind as never);
    }
    for (let iter = 0; iter < 5000; iter++) {
      const op = AESM_OPERATIONS[iter % AESM_OPERATIONS.length]!;
      if (iter % 3 === 0) attempt(randomBytes(rand, int(rand, 200)), iter % 2 ? op : 1 + int(rand, 25));
      else attempt(mutate(rand, responseBodies[iter % responseBodies.length]!.body), responseBodies[iter % responseBodies.length]!.kind as never);
    }
    expect(accepted).toBeGreaterThan(100);
    expect(reasons).toEqual(new Set(['invalid-protobuf', 'missing-submessage', 'wrong-submessage', 'unencodable']));
  });

  it('a deeply nested unknown group does not escape as a stack overflow', () => {
    // 40k "start group" tags for an unknown field: a recursive skipper would overflow
    const body = Buffer.alloc(40_000, 0xa3); // field 20, wire type 3 (start group)
    expect(decodeRequest(body).ok).toBe(false);
    expect(() => decodeResponse(body, 'getQuoteEx')).toThrow(AesmWireError);
  });
});
