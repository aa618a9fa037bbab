// Protocol rules on top of the generated protobuf code: required fields, aesmd's dispatch order,
// legacy requests, response pairing and typed failures.
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AesmWireError,
  LEGACY_REQUEST_FIELDS,
  QUOTE_EX_FIELD,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  errorResponseFor,
  requestFieldNumber,
  responseKindFor,
  type AesmRequest,
  type AesmResponse,
} from '../../src/aesm/index.js';
import {
  RequestSchema,
  Request_GetQuoteExRequestSchema,
  Request_GetQuoteSizeExRequestSchema,
  Request_InitQuoteExRequestSchema,
} from '../../src/aesm/gen/aesm_pb.js';
import { KEYID256, REPORT432 } from './vectors.js';
import { varint } from '../support/protobuf-bytes.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function wireError(fn: () => unknown): AesmWireError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AesmWireError);
    return err as AesmWireError;
  }
  throw new Error('expected an AesmWireError');
}

describe('decodeRequest: required fields (spec §8 item 13)', () => {
  it('InitQuoteEx without b_pub_key_id is reported, not accepted silently', () => {
    // 7a 04 | 0a 02 abcd  (att_key_id only)
    const d = decodeRequest(hex('7a04 0a02abcd'));
    expect(d).toEqual({
      ok: true,
      fieldNumber: 15,
      request: { kind: 'initQuoteEx', attKeyId: hex('abcd'), bPubKeyId: false },
      missingRequired: ['b_pub_key_id'],
    });
  });

  it('GetQuoteEx without report and buf_size lists both', () => {
    const d = decodeRequest(hex('8a01 00'));
    expect(d.ok && d.missingRequired).toEqual(['report', 'buf_size']);
    expect(d.ok && d.request).toEqual({ kind: 'getQuoteEx', report: Buffer.alloc(0), bufSize: 0 });
  });

  it('GetQuoteEx with only buf_size misses report', () => {
    const d = decodeRequest(hex('8a01 03 20fe24'));
    expect(d.ok && d.missingRequired).toEqual(['report']);
  });

  it('GetSupportedAttKeyIDs without buf_size', () => {
    const d = decodeRequest(hex('b201 03 489875'));
    expect(d.ok && d.missingRequired).toEqual(['buf_size']);
  });

  it('a present-but-zero required field counts as set (b_pub_key_id = false is 1800)', () => {
    const d = decodeRequest(hex('7a02 1800'));
    expect(d.ok && d.missingRequired).toEqual([]);
  });

  it('optional quote_ex requests have no required fields', () => {
    for (const body of ['9a01 00', '8201 00', 'aa01 00']) {
      const d = decodeRequest(hex(body));
      expect(d.ok && d.missingRequired, body).toEqual([]);
    }
  });

  it('legacy required fields are checked too (GetQuoteRequest)', () => {
    const d = decodeRequest(hex('12 00'));
    expect(d.ok && d.missingRequired).toEqual(['report', 'quote_type', 'spid', 'buf_size']);
  });
});

describe('decodeRequest: dispatch', () => {
  it('picks the first sub-message in aesmd order, not wire order (17 before 19)', () => {
    const body = Buffer.concat([hex('9a01 00'), hex('8a01 03 20fe24')]);
    const d = decodeRequest(body);
    expect(d.ok && d.fieldNumber).toBe(17);
  });

  it('legacy 3 wins over quote_ex 15 (order 3,1,2,4,18,...)', () => {
    const body = Buffer.concat([hex('7a02 1801'), hex('1a00')]);
    const d = decodeRequest(body);
    expect(d.ok && d.request).toEqual({ kind: 'legacy', fieldNumber: 3, name: 'getLicTokenReq' });
  });

  it('18 (CheckUpdateStatus) wins over 10', () => {
    const body = Buffer.concat([hex('5200'), hex('9201 00')]);
    const d = decodeRequest(body);
    expect(d.ok && d.fieldNumber).toBe(18);
  });

  it('every legacy request decodes to kind legacy with its field number', () => {
    for (const [fieldNumber, name] of LEGACY_REQUEST_FIELDS) {
      const d = decodeRequest(encodeRequest({ kind: 'legacy', fieldNumber, name }, { timeoutMs: 1 }));
      expect(d.ok && d.fieldNumber).toBe(fieldNumber);
      expect(d.ok && d.request).toEqual({ kind: 'legacy', fieldNumber, name });
      // encodeRequest fills required fields, so nothing is missing
      expect(d.ok && d.missingRequired).toEqual([]);
    }
  });

  it('an empty body or only unknown fields is no-submessage', () => {
    expect(decodeRequest(new Uint8Array(0))).toEqual({ ok: false, reason: 'no-submessage' });
    expect(decodeRequest(hex('a806 01'))).toEqual({ ok: false, reason: 'no-submessage' }); // field 101 varint
  });

  it('field 20 in a request is unknown (no request sub-message has it)', () => {
    expect(decodeRequest(hex('a201 00'))).toEqual({ ok: false, reason: 'no-submessage' });
  });

  it('unparseable bytes are invalid-protobuf', () => {
    expect(decodeRequest(hex('7a'))).toEqual({ ok: false, reason: 'invalid-protobuf' }); // truncated tag
    expect(decodeRequest(hex('7a05 0800'))).toEqual({ ok: false, reason: 'invalid-protobuf' }); // length beyond end
    expect(decodeRequest(hex('ffffffffffffffffffff01'))).toEqual({ ok: false, reason: 'invalid-protobuf' });
  });

  it('tolerates unknown fields inside and around the sub-message (spec §8 item 12)', () => {
    // Sub-message length 10 covers its three fields; a length that cut the timeout varint in two would
    // be a parse error for libprotobuf (and now for us too).
    const body = hex('a80601 8201 0a 0a02abcd a8060c 489875');
    expect(decodeRequest(body)).toEqual({
      ok: true,
      fieldNumber: 16,
      request: { kind: 'getQuoteSizeEx', attKeyId: hex('abcd') },
      missingRequired: [],
    });
  });

  it('ignores the timeout value, whatever its unit (Fortanix sends µs)', () => {
    const body = encodeRequest({ kind: 'getQuoteSizeEx', attKeyId: KEYID256 }, { timeoutMs: 30_000_000 });
    expect(decodeRequest(body)).toMatchObject({ ok: true, request: { kind: 'getQuoteSizeEx', attKeyId: KEYID256 } });
  });

  it('an empty att_key_id is present (and empty), an absent one is undefined', () => {
    const withEmpty = decodeRequest(hex('8201 02 0a00'));
    expect(withEmpty.ok && withEmpty.request).toEqual({ kind: 'getQuoteSizeEx', attKeyId: Buffer.alloc(0) });
    const absent = decodeRequest(hex('8201 00'));
    expect(absent.ok && absent.request).toEqual({ kind: 'getQuoteSizeEx' });
    // The same for every request that has optional fields, each decoded with none of them.
    const minimal: AesmRequest[] = [
      { kind: 'selectAttKeyId' },
      { kind: 'initQuoteEx', bPubKeyId: false },
      { kind: 'getQuoteEx', report: REPORT432, bufSize: 4 },
    ];
    for (const req of minimal) {
      const d = decodeRequest(encodeRequest(req));
      expect(d.ok && d.request, req.kind).toStrictEqual(req);
    }
  });

  it('decoded bytes are copies, independent of the input buffer', () => {
    const body = encodeRequest({ kind: 'getQuoteEx', report: REPORT432, bufSize: 5000 });
    const d = decodeRequest(body);
    body.fill(0);
    expect(d.ok && d.request.kind === 'getQuoteEx' && d.request.report).toEqual(REPORT432);
  });

  it('uint64 buf_size keeps all 64 bits', () => {
    const max = 0xffffffffffffffffn;
    const d = decodeRequest(encodeRequest({ kind: 'initQuoteEx', bPubKeyId: false, bufSize: max }));
    expect(d.ok && d.request.kind === 'initQuoteEx' && d.request.bufSize).toBe(max);
  });
});

describe('encodeRequest matches the generated code directly', () => {
  it('same bytes as create()/toBinary() for a GetQuoteEx', () => {
    const direct = toBinary(
      RequestSchema,
      create(RequestSchema, {
        getQuoteExReq: create(Request_GetQuoteExRequestSchema, { report: REPORT432, attKeyId: KEYID256, bufSize: 9, timeout: 7 }),
      }),
    );
    expect(encodeRequest({ kind: 'getQuoteEx', report: REPORT432, attKeyId: KEYID256, bufSize: 9 }, { timeoutMs: 7 })).toEqual(
      Buffer.from(direct),
    );
  });

  it('the generated schema has the spec field numbers', () => {
    expect(Request_InitQuoteExRequestSchema.field.bufSize.number).toBe(4);
    expect(Request_InitQuoteExRequestSchema.field.bPubKeyId.number).toBe(3);
    expect(Request_GetQuoteSizeExRequestSchema.field.timeout.number).toBe(9);
    expect(RequestSchema.fields.map((f) => f.number)).toEqual([1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22]);
  });

  it('refuses values the schema cannot carry', () => {
    expect(wireError(() => encodeRequest({ kind: 'getSupportedAttKeyIds', bufSize: -1 })).reason).toBe('unencodable');
    expect(wireError(() => encodeRequest({ kind: 'legacy', fieldNumber: 15, name: 'x' })).reason).toBe('unencodable');
  });
});

describe('responses', () => {
  const requests: AesmRequest[] = [
    { kind: 'selectAttKeyId' },
    { kind: 'initQuoteEx', bPubKeyId: true, bufSize: 32n },
    { kind: 'getQuoteSizeEx' },
    { kind: 'getQuoteEx', report: REPORT432, bufSize: 1 },
    { kind: 'getSupportedAttKeyIdNum' },
    { kind: 'getSupportedAttKeyIds', bufSize: 256 },
    { kind: 'legacy', fieldNumber: 1, name: 'initQuoteReq' },
  ];

  it('answers every request in the sub-message with the same field number', () => {
    for (const req of requests) {
      expect(responseKindFor(req)).toBe(req.kind);
      const body = encodeResponse(errorResponseFor(req, 42));
      const field = requestFieldNumber(req);
      const decoded = decodeResponse(body, req.kind === 'legacy' ? field : req.kind);
      expect(decoded.errorCode).toBe(42);
      // the wrapper tag on the wire is the request's field number
      const tag = body[0]! < 0x80 ? body[0]! >> 3 : ((body[0]! & 0x7f) | (body[1]! << 7)) >> 3;
      expect(tag).toBe(field);
    }
  });

  it('InitQuoteEx error answers carry pub_key_id_size like aesmd, never a garbage size', () => {
    expect(errorResponseFor({ kind: 'initQuoteEx', bPubKeyId: true, bufSize: 33n }, 3)).toEqual({
      kind: 'initQuoteEx',
      errorCode: 3,
      pubKeyIdSize: 33n,
    });
    expect(errorResponseFor({ kind: 'initQuoteEx', bPubKeyId: false, bufSize: 0x7fff1234abcdn }, 3)).toEqual({
      kind: 'initQuoteEx',
      errorCode: 3,
      pubKeyIdSize: 0n,
    });
    expect(encodeResponse(errorResponseFor({ kind: 'initQuoteEx', bPubKeyId: true, bufSize: 32n }, 3)).toString('hex')).toBe(
      '7a0408031820',
    );
  });

  it('GetQuoteSizeEx error answers always carry quote_size 0', () => {
    expect(encodeResponse(errorResponseFor({ kind: 'getQuoteSizeEx' }, 42)).toString('hex')).toBe('82010408' + '2a1000');
  });

  it('GetQuoteEx error answers echo a 960-byte qe_report_info unchanged, nothing else', () => {
    const qri = Buffer.alloc(960, 5);
    expect(errorResponseFor({ kind: 'getQuoteEx', report: REPORT432, qeReportInfo: qri, bufSize: 1 }, 45)).toEqual({
      kind: 'getQuoteEx',
      errorCode: 45,
      qeReportInfo: qri,
    });
    expect(errorResponseFor({ kind: 'getQuoteEx', report: REPORT432, qeReportInfo: Buffer.alloc(961), bufSize: 1 }, 3)).toEqual({
      kind: 'getQuoteEx',
      errorCode: 3,
    });
  });

  it('legacy answers are errorCode-only in the same field', () => {
    expect(encodeResponse({ kind: 'legacy', fieldNumber: 3, errorCode: 0 }).toString('hex')).toBe('1a020800');
    expect(decodeResponse(hex('1a020805'), 3)).toEqual({ kind: 'legacy', fieldNumber: 3, errorCode: 5 });
  });

  it('never encodes UnsupportedRequestResponse (field 20) or a non-legacy field as legacy', () => {
    const e = wireError(() => encodeResponse({ kind: 'legacy', fieldNumber: 20, errorCode: 1 }));
    expect(e.reason).toBe('unencodable');
    expect(e.message).toMatch(/never sends/);
    expect(wireError(() => encodeResponse({ kind: 'legacy', fieldNumber: 17, errorCode: 1 })).reason).toBe('unencodable');
  });

  it('refuses an errorCode outside uint32', () => {
    expect(wireError(() => encodeResponse({ kind: 'selectAttKeyId', errorCode: 2 ** 32 })).reason).toBe('unencodable');
  });

  it('decodeResponse: wrong sub-message, none, garbage', () => {
    const sizeRes = encodeResponse({ kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 1 });
    const wrong = wireError(() => decodeResponse(sizeRes, 'getSupportedAttKeyIdNum'));
    expect(wrong.reason).toBe('wrong-submessage');
    expect(wrong.message).toMatch(/field 16, expected field 21/);
    expect(wireError(() => decodeResponse(new Uint8Array(0), 'getQuoteEx')).reason).toBe('missing-submessage');
    expect(wireError(() => decodeResponse(hex('8a01 05 08'), 'getQuoteEx')).reason).toBe('invalid-protobuf');
    expect(wireError(() => decodeResponse(sizeRes, 20)).reason).toBe('unencodable');
    // A field number no response has is refused by name, not a TypeError.
    const unknown = wireError(() => decodeResponse(sizeRes, 999));
    expect(unknown.reason).toBe('unencodable');
    expect(unknown.message).toContain('no AESM response operation has field number 999');
  });

  it('a missing errorCode reads as 1 (proto2 [default = 1], as Intel’s client)', () => {
    expect(decodeResponse(hex('8201 02 10fe24'), 'getQuoteSizeEx')).toEqual({
      kind: 'getQuoteSizeEx',
      errorCode: 1,
      quoteSize: 4734,
    });
    expect(decodeResponse(hex('1a00'), 3)).toEqual({ kind: 'legacy', fieldNumber: 3, errorCode: 1 });
  });

  it('extra unknown fields in a response are tolerated (spec §6.1)', () => {
    const body = Buffer.concat([hex('a0060a'), encodeResponse({ kind: 'getSupportedAttKeyIdNum', errorCode: 0, attKeyIdNum: 1 })]);
    expect(decodeResponse(body, 'getSupportedAttKeyIdNum')).toEqual({
      kind: 'getSupportedAttKeyIdNum',
      errorCode: 0,
      attKeyIdNum: 1,
    });
  });

  it('decodes an answer without optional fields with none of them (absent is not empty or zero)', () => {
    for (const kind of ['selectAttKeyId', 'initQuoteEx', 'getQuoteSizeEx', 'getQuoteEx', 'getSupportedAttKeyIdNum', 'getSupportedAttKeyIds'] as const) {
      const decoded = decodeResponse(encodeResponse({ kind, errorCode: 30 }), kind);
      expect(decoded, kind).toStrictEqual({ kind, errorCode: 30 });
    }
    // Present but zero or empty is kept as such.
    expect(decodeResponse(encodeResponse({ kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 0 }), 'getQuoteSizeEx')).toStrictEqual({ kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 0 });
    expect(decodeResponse(encodeResponse({ kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: 0n }), 'initQuoteEx')).toStrictEqual({ kind: 'initQuoteEx', errorCode: 0, pubKeyIdSize: 0n });
  });

  it('round-trips every response shape with all optional fields', () => {
    const all: AesmResponse[] = [
      { kind: 'initQuoteEx', errorCode: 0, targetInfo: Buffer.alloc(512, 1), pubKeyIdSize: 2n ** 64n - 1n, pubKeyId: Buffer.alloc(32, 2) },
      { kind: 'getQuoteEx', errorCode: 0, quote: Buffer.alloc(0), qeReportInfo: Buffer.alloc(960, 3) },
      { kind: 'getSupportedAttKeyIds', errorCode: 0, attKeyIds: Buffer.alloc(512, 4) },
    ];
    for (const res of all) expect(decodeResponse(encodeResponse(res), res.kind as never)).toEqual(res);
  });
});

describe('field-number table', () => {
  it('maps the six operations to spec §3.1 numbers', () => {
    expect(QUOTE_EX_FIELD).toEqual({
      initQuoteEx: 15,
      getQuoteSizeEx: 16,
      getQuoteEx: 17,
      selectAttKeyId: 19,
      getSupportedAttKeyIdNum: 21,
      getSupportedAttKeyIds: 22,
    });
  });
});

describe('decodeRequest: wire types are checked like libprotobuf does (mismatch = unknown field)', () => {
  const ld = (tag: Buffer, body: Buffer) => Buffer.concat([tag, varint(body.length), body]);
  const getQuoteEx = (...fields: Buffer[]) => ld(hex('8a01'), Buffer.concat(fields));
  const report = ld(hex('0a'), REPORT432);
  const keyId = ld(hex('12'), KEYID256);

  it('a buf_size sent as bytes is not a buf_size: the required field is reported missing', () => {
    const d = decodeRequest(getQuoteEx(report, keyId, ld(hex('22'), hex('fe24'))));
    expect(d.ok && d.request.kind).toBe('getQuoteEx');
    expect(d.ok && d.missingRequired).toEqual(['buf_size']);
  });

  it('a report sent as a varint is not a report', () => {
    const d = decodeRequest(getQuoteEx(hex('08 05'), keyId, hex('20fe24')));
    expect(d.ok && d.missingRequired).toEqual(['report']);
  });

  it('b_pub_key_id sent as a 32-bit value is ignored, so InitQuoteEx misses it', () => {
    const d = decodeRequest(ld(hex('7a'), Buffer.concat([ld(hex('0a'), KEYID256), hex('1d 01000000'), hex('2020')])));
    expect(d.ok && d.request.kind).toBe('initQuoteEx');
    expect(d.ok && d.missingRequired).toEqual(['b_pub_key_id']);
  });

  it('a wrapper field sent as a varint is not a sub-message', () => {
    expect(decodeRequest(hex('8801 05'))).toEqual({ ok: false, reason: 'no-submessage' });
  });

  it('the same fields with the right wire types decode as before', () => {
    const d = decodeRequest(getQuoteEx(report, keyId, hex('20fe24')));
    expect(d.ok && d.missingRequired).toEqual([]);
    expect(d.ok && d.request.kind === 'getQuoteEx' && d.request.bufSize).toBe(4734);
  });
});
