// The daemon's hot paths (a direct read of plain GetQuoteEx requests, reply frames written in one
// pass) must give exactly what the schema-based codec gives, for valid and damaged input alike.
import { describe, expect, it } from 'vitest';
import {
  AesmWireError,
  decodeRequest,
  decodeResponse,
  decodeRequestWithSchema,
  encodeFrame,
  encodeRequest,
  encodeResponse,
  encodeResponseFrame,
  encodeResponseFrameParts,
  type AesmResponse,
} from '../../src/aesm/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../../src/sgx/index.js';
import { prng } from '../support/prng.js';

const SEED = 0x40a7_9a7e;
const int = (rand: () => number, max: number) => Math.floor(rand() * max);
const bytes = (rand: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => int(rand, 256)));

function mutate(rand: () => number, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (int(rand, 5)) {
    case 0:
      b[int(rand, b.length)] ^= 1 << int(rand, 8);
      return b;
    case 1: // a varint-looking byte where a tag or length was
      b[int(rand, Math.min(b.length, 12))] = 0x80 | int(rand, 128);
      return b;
    case 2:
      return b.subarray(0, int(rand, b.length));
    case 3: // an extra top-level field after the wrapper: the direct path must hand it to the schema path
      return Buffer.concat([b, Buffer.from([0x48, 0x01])]);
    default:
      return Buffer.concat([b.subarray(0, 3), bytes(rand, 1 + int(rand, 6)), b.subarray(3)]);
  }
}

describe('GetQuoteEx direct decode', () => {
  it('agrees with the schema decoder on valid and mutated requests', () => {
    const rand = prng(SEED);
    for (let i = 0; i < 2000; i++) {
      const valid = encodeRequest(
        {
          kind: 'getQuoteEx',
          report: bytes(rand, 432),
          ...(rand() < 0.8 ? { attKeyId: Buffer.from(DEFAULT_ECDSA_P256_ATT_KEY_ID) } : {}),
          ...(rand() < 0.3 ? { qeReportInfo: bytes(rand, 960) } : {}),
          bufSize: int(rand, 2 ** 32),
        },
        rand() < 0.5 ? { timeoutMs: 15000 } : {},
      );
      const body = i % 2 === 0 ? valid : mutate(rand, valid);
      const got = decodeRequest(body);
      expect(got, `case ${i}: ${body.toString('hex').slice(0, 80)}`).toEqual(decodeRequestWithSchema(body));
    }
  });
});

describe('reply frames in one pass', () => {
  const rand = prng(SEED + 1);
  const maybe = <T>(v: T) => (rand() < 0.6 ? v : undefined);
  const strip = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const randomResponse = (): AesmResponse => {
    const errorCode = rand() < 0.7 ? 0 : int(rand, 52);
    switch (int(rand, 6)) {
      case 0:
        return strip({ kind: 'selectAttKeyId', errorCode, selectedAttKeyId: maybe(bytes(rand, 256)) });
      case 1:
        return strip({ kind: 'initQuoteEx', errorCode, targetInfo: maybe(bytes(rand, 512)), pubKeyIdSize: maybe(BigInt(int(rand, 2 ** 32)) * 2n ** 31n), pubKeyId: maybe(bytes(rand, 32)) });
      case 2:
        return strip({ kind: 'getQuoteSizeEx', errorCode, quoteSize: maybe(int(rand, 2 ** 32)) });
      case 3: {
        const quote = maybe(bytes(rand, int(rand, 6000)));
        return strip({ kind: 'getQuoteEx', errorCode, quote, quotePadding: quote ? maybe(int(rand, 3) * int(rand, 70000)) : undefined, qeReportInfo: maybe(bytes(rand, 960)) });
      }
      case 4:
        return strip({ kind: 'getSupportedAttKeyIdNum', errorCode, attKeyIdNum: maybe(int(rand, 11)) });
      default:
        return strip({ kind: 'getSupportedAttKeyIds', errorCode, attKeyIds: maybe(bytes(rand, 256 * int(rand, 3))) });
    }
  };

  it('is byte-identical to encodeFrame(encodeResponse(...)), errorCode 0 included', () => {
    for (let i = 0; i < 2000; i++) {
      const res = randomResponse();
      const why = JSON.stringify(res, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 200);
      const reference = encodeFrame(encodeResponse(res));
      expect(encodeResponseFrame(res).equals(reference), why).toBe(true);
      // The parts the daemon writes: the same bytes in order, none empty, one buffer unless padded.
      const parts = encodeResponseFrameParts(res);
      expect(Buffer.concat(parts).equals(reference), why).toBe(true);
      expect(parts.every((p) => p.length > 0), why).toBe(true);
      if (!(res.kind === 'getQuoteEx' && res.quotePadding)) expect(parts.length, why).toBe(1);
    }
    expect(encodeResponseFrame({ kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 4734 }).toString('hex')).toBe('08000000820105080010fe24');
    expect(encodeResponseFrame({ kind: 'legacy', fieldNumber: 2, errorCode: 30 }).equals(encodeFrame(encodeResponse({ kind: 'legacy', fieldNumber: 2, errorCode: 30 })))).toBe(true);
  });

  it('writes quotePadding as zero bytes after the quote, in the one frame buffer', () => {
    // Dirty the pool first: the frame comes from Buffer.allocUnsafe, so unfilled padding would show.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(4096).fill(0xee);
    const quote = Buffer.alloc(4734, 0x5a);
    const frame = encodeResponseFrame({ kind: 'getQuoteEx', errorCode: 0, quote, quotePadding: 65536 - 4734 });
    const res = decodeResponse(frame.subarray(4), 'getQuoteEx');
    expect(res.kind === 'getQuoteEx' && res.quote?.length).toBe(65536);
    const got = (res as { quote: Buffer }).quote;
    expect(got.subarray(0, 4734).equals(quote)).toBe(true);
    expect(got.subarray(4734).every((b) => b === 0)).toBe(true);
    expect(frame.length).toBe(4 + frame.readUInt32LE(0));
  });

  it('points the padding of every reply into one shared zero buffer: a padded reply holds only its unpadded frame', () => {
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(4096).fill(0xee);
    const padded = (fill: number, qeReportInfo?: Buffer) =>
      encodeResponseFrameParts({ kind: 'getQuoteEx', errorCode: 0, quote: Buffer.alloc(4734, fill), quotePadding: 65536 - 4734, ...(qeReportInfo ? { qeReportInfo } : {}) });
    const a = padded(0x5a);
    const b = padded(0x6b, Buffer.alloc(960, 0x33));
    expect(a.length).toBe(2);
    expect(b.length).toBe(3); // head ‖ zeros ‖ qe_report_info field
    expect(a[1]!.length).toBe(65536 - 4734);
    expect(a[1]!.every((x) => x === 0)).toBe(true);
    // The zeros of both replies are the same memory, not a copy per reply.
    expect(a[1]!.buffer).toBe(b[1]!.buffer);
    expect(a[1]!.byteOffset).toBe(b[1]!.byteOffset);
    // What else a reply holds: its frame without the padding (prefix, tags, quote, qe_report_info).
    expect(a[0]!.length).toBe(4 + a[0]!.readUInt32LE(0) - (65536 - 4734));
    expect(b[0]!.length + b[2]!.length).toBe(4 + b[0]!.readUInt32LE(0) - (65536 - 4734));
    expect(b[2]!.subarray(-960).every((x) => x === 0x33)).toBe(true);
    // Padding above the shared buffer's 64 KiB: several views of it, still the right bytes.
    const big = encodeResponseFrameParts({ kind: 'getQuoteEx', errorCode: 0, quote: Buffer.alloc(10, 1), quotePadding: 150_000 });
    expect(big.length).toBe(4);
    expect(big.slice(1).reduce((n, p) => n + p.length, 0)).toBe(150_000);
    const res = decodeResponse(Buffer.concat(big).subarray(4), 'getQuoteEx');
    expect(res.kind === 'getQuoteEx' && res.quote?.length).toBe(150_010);
  });

  it('refuses out-of-range values with the same AesmWireError as encodeResponse', () => {
    const bad: AesmResponse[] = [
      { kind: 'getQuoteSizeEx', errorCode: -1 },
      { kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 2 ** 32 },
      { kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: -1n },
      { kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: 2n ** 64n },
      { kind: 'getQuoteEx', errorCode: 0, quote: 'not bytes' as unknown as Buffer },
      { kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 1.5 },
    ];
    for (const res of bad) {
      expect(() => encodeResponse(res)).toThrow(AesmWireError);
      expect(() => encodeResponseFrame(res)).toThrow(AesmWireError);
      expect(() => encodeResponseFrameParts(res)).toThrow(AesmWireError);
    }
    // Wrongly typed values: the daemon's one-pass encoder refuses them (protobuf-es's writer would take a
    // numeric string, a number for a u64, an array for bytes); the schema encoder converts them.
    const wrongType: AesmResponse[] = [
      { kind: 'getQuoteSizeEx', errorCode: '7' as unknown as number },
      { kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: 5 as unknown as bigint },
      { kind: 'getQuoteEx', errorCode: 0, quote: Buffer.alloc(4), qeReportInfo: [1, 2] as unknown as Buffer },
    ];
    for (const res of wrongType) {
      expect(() => encodeResponseFrame(res)).toThrow(AesmWireError);
      expect(() => encodeResponseFrameParts(res)).toThrow(AesmWireError);
    }
    // The largest values are written, identically.
    const edge: AesmResponse[] = [
      { kind: 'getQuoteSizeEx', errorCode: 0xffffffff, quoteSize: 0xffffffff },
      { kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: 2n ** 64n - 1n },
    ];
    for (const res of edge) expect(encodeResponseFrame(res)).toEqual(encodeFrame(encodeResponse(res)));
  });

  it('the direct GetQuoteEx decoder agrees with the schema decoder on hand-made edge cases', () => {
    const tag = (no: number, type: number) => Buffer.from([(no << 3) | type]);
    const ld = (no: number, payload: Buffer) => Buffer.concat([tag(no, 2), Buffer.from([payload.length]), payload]);
    const vi = (no: number, v: number) => Buffer.concat([tag(no, 0), Buffer.from([v])]);
    const wrap = (...fields: Buffer[]) => {
      const inner = Buffer.concat(fields);
      // getQuoteExReq is field 17: tag 0x8a 0x01, then the length as a varint.
      const len = inner.length < 128 ? Buffer.from([inner.length]) : Buffer.from([(inner.length & 0x7f) | 0x80, inner.length >> 7]);
      return Buffer.concat([Buffer.from([0x8a, 0x01]), len, inner]);
    };
    const report = Buffer.alloc(100, 7);
    const key = Buffer.alloc(20, 3);
    const cases: Array<[string, Buffer]> = [
      ['report and buf_size', wrap(ld(1, report), vi(4, 9))],
      ['timeout but no buf_size', wrap(ld(1, report), vi(9, 15))],
      ['att_key_id but no report', wrap(ld(2, key), vi(4, 9))],
      ['qe_report_info but no report', wrap(ld(3, key), vi(4, 9))],
      ['buf_size as a 32-bit value', wrap(ld(1, report), Buffer.concat([tag(4, 5), Buffer.from([9, 0, 0, 0])]))],
      ['report as a varint', wrap(vi(1, 5), vi(4, 9))],
      ['an unknown varint field', wrap(ld(1, report), vi(4, 9), vi(6, 1))],
      ['an unknown bytes field', wrap(ld(1, report), vi(4, 9), ld(7, key))],
      ['a field cut short at the end', wrap(ld(1, report), vi(4, 9), Buffer.from([0x2a, 10, 1, 2]))],
      ['a varint cut short at the end', wrap(ld(1, report), vi(4, 9), Buffer.from([0x48, 0x80]))],
      ['duplicate report, last wins', wrap(ld(1, report), ld(1, key), vi(4, 9))],
      ['duplicate buf_size, last wins', wrap(ld(1, report), vi(4, 9), vi(4, 10))],
      ['duplicate timeout', wrap(ld(1, report), vi(4, 9), vi(9, 1), vi(9, 2))],
      ['wrapper shorter than the body', Buffer.concat([wrap(ld(1, report), vi(4, 9)), vi(5, 1)])],
      // Bytes that would read as a buf_size if a field were skipped wrongly or taken for another.
      ['an unknown bytes field holding a buf_size', wrap(ld(1, report), ld(7, vi(4, 9)))],
      ['a timeout sent as bytes holding a buf_size', wrap(ld(1, report), ld(9, vi(4, 9)))],
      ['an unknown varint whose value reads as a buf_size tag', wrap(ld(1, report), Buffer.from([0x30, 0x20, 0x09]))],
      ['a timeout whose value reads as a buf_size tag', wrap(ld(1, report), Buffer.from([0x48, 0x20, 0x09]))],
      ['report as a varint, then bytes that would be its payload', wrap(vi(1, 2), vi(6, 1), vi(4, 9))],
    ];
    for (const [name, body] of cases) {
      const direct = decodeRequest(body);
      expect(direct, name).toEqual(decodeRequestWithSchema(body));
    }
    // The cases are what they say: the schema decoder sees a missing field, or refuses the bytes.
    const missing = (name: string) => {
      const d = decodeRequestWithSchema(cases.find(([n]) => n === name)![1]);
      return d.ok ? d.missingRequired : d.reason;
    };
    expect(missing('timeout but no buf_size')).toEqual(['buf_size']);
    expect(missing('att_key_id but no report')).toEqual(['report']);
    expect(missing('buf_size as a 32-bit value')).toEqual(['buf_size']);
    expect(missing('report as a varint')).toEqual(['report']);
    expect(missing('a field cut short at the end')).toBe('invalid-protobuf');
    expect(missing('report and buf_size')).toEqual([]);
    expect(missing('an unknown bytes field holding a buf_size')).toEqual(['buf_size']);
    expect(missing('a timeout sent as bytes holding a buf_size')).toEqual(['buf_size']);
    expect(missing('an unknown varint whose value reads as a buf_size tag')).toBe('invalid-protobuf');
    expect(missing('a timeout whose value reads as a buf_size tag')).toBe('invalid-protobuf');
    expect(missing('report as a varint, then bytes that would be its payload')).toEqual(['report']);
  });
});
