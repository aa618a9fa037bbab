// Every request and response frame of wire spec §9, both directions, byte for byte.
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  INTEL_CLIENT_TIMEOUT_MS,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  encodeResponse,
} from '../../src/aesm/index.js';
import { KEYID256, REQUEST_VECTORS, RESPONSE_VECTORS, frameHex } from './vectors.js';

function bodyOf(frame: Buffer): Buffer {
  // The vectors' own length prefix must agree with the body we built from the placeholders.
  expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
  return frame.subarray(4);
}

describe('spec §9 request vectors', () => {
  it('KEYID256 is the 256-byte default ECDSA key id', () => {
    expect(KEYID256.length).toBe(256);
    expect(KEYID256.readUInt16LE(4)).toBe(32);
    expect(KEYID256.readUInt32LE(154)).toBe(2);
  });

  for (const v of REQUEST_VECTORS) {
    it(`${v.name}: encodes byte-exact`, () => {
      const frame = frameHex(v.frame);
      const body = encodeRequest(v.request, { timeoutMs: INTEL_CLIENT_TIMEOUT_MS });
      expect(encodeFrame(body).toString('hex')).toBe(frame.toString('hex'));
    });

    it(`${v.name}: decodes to the same request`, () => {
      const frame = frameHex(v.frame);
      const [body, ...rest] = new FrameDecoder().push(frame);
      expect(rest).toHaveLength(0);
      const decoded = decodeRequest(body!);
      expect(decoded).toEqual({
        ok: true,
        fieldNumber: v.field,
        request: v.request,
        missingRequired: [],
      });
      // re-encoding what we decoded gives the captured bytes again
      if (decoded.ok) {
        expect(encodeRequest(decoded.request, { timeoutMs: INTEL_CLIENT_TIMEOUT_MS })).toEqual(bodyOf(frame));
      }
    });
  }

  it('InitQuoteEx garbage buf_size survives as an exact uint64', () => {
    const v = REQUEST_VECTORS.find((r) => r.name === 'InitQuoteEx (garbage sz)')!;
    const decoded = decodeRequest(bodyOf(frameHex(v.frame)));
    expect(decoded.ok && decoded.request.kind === 'initQuoteEx' && decoded.request.bufSize).toBe(140733498829773n);
  });

  it('SelectAttKeyID timeout is field 2 (key byte 0x10), others use field 9 (0x48)', () => {
    expect(encodeRequest({ kind: 'selectAttKeyId' }, { timeoutMs: 15000 }).toString('hex')).toBe('9a0103109875');
    expect(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }, { timeoutMs: 15000 }).toString('hex')).toBe('aa0103489875');
  });

  it('omits timeout when none is given', () => {
    expect(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }).toString('hex')).toBe('aa0100');
  });
});

describe('spec §9 response vectors', () => {
  for (const v of RESPONSE_VECTORS) {
    it(`${v.name}: encodes byte-exact`, () => {
      const frame = frameHex(v.frame);
      expect(encodeFrame(encodeResponse(v.response)).toString('hex')).toBe(frame.toString('hex'));
    });

    it(`${v.name}: decodes to the same response`, () => {
      const frame = frameHex(v.frame);
      expect(decodeResponse(bodyOf(frame), v.response.kind as never)).toEqual(v.response);
    });
  }

  it('writes errorCode 0 explicitly (0800)', () => {
    const body = encodeResponse({ kind: 'getQuoteSizeEx', errorCode: 0 });
    expect(body.toString('hex')).toBe('8201020800');
  });
});
