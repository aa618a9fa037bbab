// Wire spec §9 test vectors (captured from Intel's libsgx_quote_ex / accepted by it), with the
// opaque payloads filled by deterministic bytes of the stated size. Shared by several test files.
import type { AesmRequest, AesmResponse } from '../../src/aesm/index.js';

/** The default ECDSA-P256 attestation key id, spec §4.1 (hex rows copied from the spec). */
export const KEYID256 = Buffer.from(
  '0000000020008c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b' +
    '094490c57bff0000000000000000000000000000000001000000000000000000' +
    '00'.repeat(64) +
    '0000000000000000000000000000000000000000000000000000020000000000' +
    '00'.repeat(96),
  'hex',
);

/** Deterministic non-trivial filler: every byte differs from its neighbours for a given seed. */
export function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

export const TI512 = payload(512, 1);
export const REPORT432 = payload(432, 2);
export const QRI960 = payload(960, 3);
export const QRI960_FILLED = payload(960, 4);
export const QUOTE4734 = payload(4734, 5);
export const PUBKEYID32 = payload(32, 6);

/** Builds a frame from spec notation: hex with `<NAME>` placeholders, spaces ignored. */
export function frameHex(spec: string): Buffer {
  const parts: Buffer[] = [];
  const names: Record<string, Buffer> = {
    KEYID256,
    TI512,
    REPORT432,
    QRI960,
    QRI960_FILLED,
    QUOTE4734,
    PUBKEYID32,
  };
  for (const token of spec.split(/(<[A-Z0-9_]+>)/)) {
    const m = /^<([A-Z0-9_]+)>$/.exec(token);
    if (m) {
      const value = names[m[1]!];
      if (!value) throw new Error(`unknown placeholder ${token}`);
      parts.push(value);
    } else {
      parts.push(Buffer.from(token.replace(/\s+/g, ''), 'hex'));
    }
  }
  return Buffer.concat(parts);
}

export interface RequestVector {
  name: string;
  /** Wrapper field number of the sub-message (spec §3.1). */
  field: number;
  frame: string;
  request: AesmRequest;
}

export const REQUEST_VECTORS: RequestVector[] = [
  { name: 'GetSupportedAttKeyIDNum', field: 21, frame: '06000000 aa01 03 489875', request: { kind: 'getSupportedAttKeyIdNum' } },
  {
    name: 'GetSupportedAttKeyIDs',
    field: 22,
    frame: '09000000 b201 06 088002 489875',
    request: { kind: 'getSupportedAttKeyIds', bufSize: 256 },
  },
  { name: 'SelectAttKeyID (no list)', field: 19, frame: '06000000 9a01 03 109875', request: { kind: 'selectAttKeyId' } },
  {
    name: 'InitQuoteEx (size query)',
    field: 15,
    frame: '0b010000 7a 8802 0a8002<KEYID256> 1800 489875',
    request: { kind: 'initQuoteEx', attKeyId: KEYID256, bPubKeyId: false },
  },
  {
    name: 'InitQuoteEx (garbage sz)',
    field: 15,
    frame: '13010000 7a 9002 0a8002<KEYID256> 1800 20cdd7d291f1ff1f 489875',
    request: { kind: 'initQuoteEx', attKeyId: KEYID256, bPubKeyId: false, bufSize: 0x7fff1234abcdn },
  },
  {
    name: 'InitQuoteEx (with buf)',
    field: 15,
    frame: '0d010000 7a 8a02 0a8002<KEYID256> 1801 2020 489875',
    request: { kind: 'initQuoteEx', attKeyId: KEYID256, bPubKeyId: true, bufSize: 32n },
  },
  {
    name: 'GetQuoteSizeEx',
    field: 16,
    frame: '0a010000 8201 8602 0a8002<KEYID256> 489875',
    request: { kind: 'getQuoteSizeEx', attKeyId: KEYID256 },
  },
  {
    name: 'GetQuoteEx',
    field: 17,
    frame: 'c0020000 8a01 bc05 0ab003<REPORT432> 128002<KEYID256> 20fe24 489875',
    request: { kind: 'getQuoteEx', report: REPORT432, attKeyId: KEYID256, bufSize: 4734 },
  },
  {
    name: 'GetQuoteEx + qe_rep_info',
    field: 17,
    frame: '83060000 8a01 ff0c 0ab003<REPORT432> 128002<KEYID256> 1ac007<QRI960> 20fe24 489875',
    request: { kind: 'getQuoteEx', report: REPORT432, attKeyId: KEYID256, qeReportInfo: QRI960, bufSize: 4734 },
  },
];

export interface ResponseVector {
  name: string;
  frame: string;
  response: AesmResponse;
}

export const RESPONSE_VECTORS: ResponseVector[] = [
  {
    name: 'GetSupportedAttKeyIDNum',
    frame: '07000000 aa01 04 0800 1001',
    response: { kind: 'getSupportedAttKeyIdNum', errorCode: 0, attKeyIdNum: 1 },
  },
  {
    name: 'GetSupportedAttKeyIDs',
    frame: '09010000 b201 8502 0800 128002<KEYID256>',
    response: { kind: 'getSupportedAttKeyIds', errorCode: 0, attKeyIds: KEYID256 },
  },
  {
    name: 'SelectAttKeyID',
    frame: '09010000 9a01 8502 0800 128002<KEYID256>',
    response: { kind: 'selectAttKeyId', errorCode: 0, selectedAttKeyId: KEYID256 },
  },
  {
    name: 'InitQuoteEx (size query)',
    frame: '0a020000 7a 8704 0800 128004<TI512> 1820',
    response: { kind: 'initQuoteEx', errorCode: 0, targetInfo: TI512, pubKeyIdSize: 32n },
  },
  {
    name: 'InitQuoteEx (with buf)',
    frame: '2c020000 7a a904 0800 128004<TI512> 1820 2220<PUBKEYID32>',
    response: { kind: 'initQuoteEx', errorCode: 0, targetInfo: TI512, pubKeyIdSize: 32n, pubKeyId: PUBKEYID32 },
  },
  {
    name: 'GetQuoteSizeEx',
    frame: '08000000 8201 05 0800 10fe24',
    response: { kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 4734 },
  },
  {
    name: 'GetQuoteEx',
    frame: '87120000 8a01 8325 0800 12fe24<QUOTE4734>',
    response: { kind: 'getQuoteEx', errorCode: 0, quote: QUOTE4734 },
  },
  {
    name: 'GetQuoteEx + qe_rep_info',
    frame: '4a160000 8a01 c62c 0800 12fe24<QUOTE4734> 1ac007<QRI960_FILLED>',
    response: { kind: 'getQuoteEx', errorCode: 0, quote: QUOTE4734, qeReportInfo: QRI960_FILLED },
  },
  {
    name: 'Error example (SelectAttKeyID errorCode 38)',
    frame: '05000000 9a01 02 0826',
    response: { kind: 'selectAttKeyId', errorCode: 38 },
  },
];
