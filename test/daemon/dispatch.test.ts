// AESM semantics of the daemon (wire spec §4.2, §8) through a real Unix socket, in-process daemon,
// with the FakeProvider TEST DOUBLE (hardware boundary). Responses are checked byte by byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/aesm/index.js';
import { ATT_KEY_ID_EXT_SIZE, AttKeyIdOffsets, QE_REPORT_INFO_SIZE, QeReportInfoOffsets } from '../../src/sgx/index.js';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { FAKE_QUOTE_SIZE, FakeProvider, KEY_ID, PUB_KEY_ID, QE_TARGET_INFO, call, fakeQuote, metricValue, rawExchange, removeDir, startTestDaemon, tempDir } from './helpers.js';
import { varint } from '../support/protobuf-bytes.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cat = (...parts: Buffer[]) => Buffer.concat(parts);
const lenField = (key: Buffer, payload: Buffer) => cat(key, varint(payload.length), payload);

const REPORT = Buffer.alloc(432, 0x11);
/** A second supported key: same as KEY_ID but algorithm 0 (EPID-like), to exercise tie-breaking. */
const EPID_LIKE = Buffer.from(KEY_ID);
EPID_LIKE.writeUInt32LE(0, AttKeyIdOffsets.algorithmId);

function list(entries: Buffer[], header?: { id?: number; version?: number; num?: number }): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(header?.id ?? 0, 0);
  h.writeUInt16LE(header?.version ?? 0, 2);
  h.writeUInt32LE(header?.num ?? entries.length, 4);
  return cat(h, ...entries);
}

let dir: string;
let daemon: DaemonHandle;
let provider: FakeProvider;
let sock: string;

beforeAll(async () => {
  dir = tempDir();
  provider = new FakeProvider({ keyIds: [EPID_LIKE, KEY_ID] });
  daemon = await startTestDaemon(dir, provider);
  sock = daemon.config.socketPath;
});
afterAll(async () => {
  await daemon.shutdown();
  removeDir(dir);
});

/** One sample of the daemon's /metrics text (0 when absent), read from its registry. */
const sample = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
  metricValue(await daemon.metrics.registry.metrics(), name, labels) ?? 0;

describe('GetSupportedAttKeyIDNum / GetSupportedAttKeyIDs', () => {
  it('answers the number of supported ids with errorCode 0 serialised', async () => {
    const r = await call(sock, { kind: 'getSupportedAttKeyIdNum' });
    expect(r.raw).toEqual(hex('aa01 04 0800 1002'));
  });
  it('returns num x 256 bytes for the exact buf_size, 3 otherwise', async () => {
    const ok = await call(sock, { kind: 'getSupportedAttKeyIds', bufSize: 512 });
    expect(ok.raw).toEqual(cat(hex('b201 8504 0800 128004'), EPID_LIKE, KEY_ID));
    const bad = await call(sock, { kind: 'getSupportedAttKeyIds', bufSize: 256 });
    expect(bad.raw).toEqual(hex('b201 02 0803'));
  });
  it('answers 1 in field 22 when the required buf_size is missing', async () => {
    const r = await rawExchange(sock, encodeFrame(hex('b201 03 489875')));
    expect(r.body).toEqual(hex('b201 02 0801'));
  });
});

describe('SelectAttKeyID', () => {
  it('without a list picks the ECDSA key among several (aesmd default quoting type)', async () => {
    const r = await call(sock, { kind: 'selectAttKeyId' });
    expect(r.raw).toEqual(cat(hex('9a01 8502 0800 128002'), KEY_ID));
  });
  it("returns the requester's own 256-byte entry, spid and reserved included", async () => {
    const mine = Buffer.from(KEY_ID);
    mine.fill(0x42, AttKeyIdOffsets.spid, AttKeyIdOffsets.spid + 16);
    const r = await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([mine]) });
    expect(r.errorCode).toBe(0);
    expect(r.selectedAttKeyId).toEqual(mine);
  });
  it('prefers algorithm 2 when several listed entries match, else the first', async () => {
    expect((await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([EPID_LIKE, KEY_ID]) })).selectedAttKeyId).toEqual(KEY_ID);
    expect((await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([EPID_LIKE]) })).selectedAttKeyId).toEqual(EPID_LIKE);
  });
  it('answers 38 (no payload) when nothing listed is supported', async () => {
    const other = Buffer.from(KEY_ID);
    other[AttKeyIdOffsets.mrsigner] ^= 0xff;
    const r = await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([other]) });
    expect(r.raw).toEqual(hex('9a01 02 0826'));
  });
  it.each([
    ['header id != 0', list([KEY_ID], { id: 1 })],
    ['header version != 0', list([KEY_ID], { version: 1 })],
    ['more than 10 entries', list(Array(11).fill(KEY_ID))],
    ['length not 8 + 256 x num', list([KEY_ID], { num: 2 })],
    ['shorter than one entry', list([], { num: 0 })],
  ])('answers 3 for a list with %s', async (_name, l) => {
    const r = await call(sock, { kind: 'selectAttKeyId', attKeyIdList: l });
    expect(r.raw).toEqual(hex('9a01 02 0803'));
  });
});

describe('InitQuoteEx', () => {
  it('b_pub_key_id=false: 512 zero bytes, pub_key_id_size 32, no pub_key_id, garbage buf_size ignored, provider not called', async () => {
    const before = provider.calls.length;
    const r = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: false, bufSize: 0x7fff1234abcdn });
    expect(r.raw).toEqual(cat(hex('7a 8704 0800 128004'), Buffer.alloc(512), hex('1820')));
    expect(provider.calls.slice(before)).toEqual([]);
  });
  it('b_pub_key_id=true with buf_size 32: target info and pub_key_id from the provider', async () => {
    const r = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 32n });
    expect(r.raw).toEqual(cat(hex('7a a904 0800 128004'), QE_TARGET_INFO, hex('1820 2220'), PUB_KEY_ID));
  });
  it('b_pub_key_id=true with buf_size != 32 (or absent) answers 3 without target_info', async () => {
    const r = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 64n });
    expect(r.raw).toEqual(hex('7a 04 0803 1840'));
    const absent = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true });
    expect(absent.raw).toEqual(hex('7a 04 0803 1800'));
  });
  it('key matching: absent/short → 3, base mismatch → 38, bytes after the base ignored', async () => {
    expect((await call(sock, { kind: 'initQuoteEx', bPubKeyId: false })).errorCode).toBe(3);
    expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID.subarray(0, 255), bPubKeyId: false })).errorCode).toBe(3);
    const wrongBase = Buffer.from(KEY_ID);
    wrongBase[157] ^= 1;
    expect((await call(sock, { kind: 'initQuoteEx', attKeyId: wrongBase, bPubKeyId: false })).errorCode).toBe(38);
    const extDiffers = Buffer.from(KEY_ID);
    extDiffers[200] = 0x99;
    expect((await call(sock, { kind: 'initQuoteEx', attKeyId: extDiffers, bPubKeyId: true, bufSize: 32n })).errorCode).toBe(0);
  });
  it('an error answer never echoes a garbage buf_size from a b_pub_key_id=false request', async () => {
    const wrongBase = Buffer.from(KEY_ID);
    wrongBase[10] ^= 1;
    const r = await call(sock, { kind: 'initQuoteEx', attKeyId: wrongBase, bPubKeyId: false, bufSize: 0x7fff1234abcdn });
    expect(r.raw).toEqual(hex('7a 04 0826 1800'));
  });
  it('missing required b_pub_key_id → errorCode 1 in field 15', async () => {
    const r = await rawExchange(sock, encodeFrame(lenField(hex('7a'), lenField(hex('0a'), KEY_ID))));
    expect(r.body).toEqual(hex('7a 04 0801 1800'));
  });
});

describe('GetQuoteSizeEx', () => {
  it('answers quote_size; on error quote_size 0 is still present', async () => {
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).raw).toEqual(cat(hex('8201 05 0800 10'), varint(FAKE_QUOTE_SIZE)));
    expect((await call(sock, { kind: 'getQuoteSizeEx' })).raw).toEqual(hex('8201 04 0803 1000'));
  });
});

describe('GetQuoteEx', () => {
  it('pads the quote with zeros to exactly buf_size', async () => {
    const r = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 8192 });
    expect(r.errorCode).toBe(0);
    expect(r.quote!.length).toBe(8192);
    expect(r.quote!.subarray(0, FAKE_QUOTE_SIZE)).toEqual(fakeQuote(REPORT));
    expect(r.quote!.subarray(FAKE_QUOTE_SIZE).every((b) => b === 0)).toBe(true);
    expect(r.qeReportInfo).toBeUndefined();
  });
  it('fills qe_report_info when given, echoes it unmodified on error', async () => {
    const qri = Buffer.alloc(QE_REPORT_INFO_SIZE, 0x07);
    const ok = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, qeReportInfo: qri, bufSize: FAKE_QUOTE_SIZE });
    expect(ok.quote!.length).toBe(FAKE_QUOTE_SIZE);
    expect(ok.qeReportInfo!.subarray(0, QeReportInfoOffsets.qeReport)).toEqual(qri.subarray(0, QeReportInfoOffsets.qeReport));
    expect(ok.qeReportInfo!.subarray(QeReportInfoOffsets.qeReport).every((b) => b === 0x71)).toBe(true);
    const small = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, qeReportInfo: qri, bufSize: FAKE_QUOTE_SIZE - 1 });
    expect(small.raw).toEqual(cat(hex('8a01 c507 0803 1ac007'), qri));
  });
  it.each([
    ['a 431-byte report', { report: REPORT.subarray(0, 431), attKeyId: KEY_ID, bufSize: 8192 }, 3],
    ['a 959-byte qe_report_info', { report: REPORT, attKeyId: KEY_ID, qeReportInfo: Buffer.alloc(959), bufSize: 8192 }, 3],
    ['no att_key_id', { report: REPORT, bufSize: 8192 }, 3],
    ['buf_size below the quote size', { report: REPORT, attKeyId: KEY_ID, bufSize: 100 }, 3],
    ['a buf_size far above the allocation limit', { report: REPORT, attKeyId: KEY_ID, bufSize: 4_000_000_000 }, 21],
    ['a buf_size just above the 64 KiB allocation limit', { report: REPORT, attKeyId: KEY_ID, bufSize: 64 * 1024 + 1 }, 21],
  ])('answers an error for %s, with no quote', async (_n, req, code) => {
    const r = await call(sock, { kind: 'getQuoteEx', ...req });
    expect(r.errorCode).toBe(code);
    expect(r.quote).toBeUndefined();
  });
  it('missing required report/buf_size → errorCode 1 in field 17', async () => {
    const r = await rawExchange(sock, encodeFrame(lenField(hex('8a01'), lenField(hex('12'), KEY_ID))));
    expect(r.body).toEqual(hex('8a01 02 0801'));
  });
});

describe('requests outside quote_ex and malformed bodies', () => {
  it('answers legacy EPID requests in their own field with AESM_SERVICE_UNAVAILABLE (30)', async () => {
    expect((await rawExchange(sock, encodeFrame(hex('0a 00')))).body).toEqual(hex('0a 02 081e'));
    expect((await rawExchange(sock, encodeFrame(hex('52 00')))).body).toEqual(hex('52 02 081e'));
    // getLicTokenReq has required fields: missing ones make it errorCode 1, like aesmd.
    expect((await rawExchange(sock, encodeFrame(hex('1a 00')))).body).toEqual(hex('1a 02 0801'));
    expect((await rawExchange(sock, encodeFrame(hex('6a 00')))).body).toEqual(hex('6a 02 081e'));
  });
  it('counts every answer by operation, code and result, observes its latency in seconds under the operation, and leaves nothing in flight', async () => {
    const ok = { operation: 'getQuoteSizeEx', code: '0', result: 'AESM_SUCCESS' };
    const legacy = { operation: 'legacy', code: '30', result: 'AESM_SERVICE_UNAVAILABLE' };
    const latency = (part: 'count' | 'sum') => sample(`sqh_aesm_request_duration_seconds_${part}`, { operation: 'getQuoteSizeEx' });
    const before = { ok: await sample('sqh_aesm_requests_total', ok), legacy: await sample('sqh_aesm_requests_total', legacy), count: await latency('count'), sum: await latency('sum') };
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).errorCode).toBe(0);
    expect((await rawExchange(sock, encodeFrame(hex('0a 00')))).body).toEqual(hex('0a 02 081e'));
    expect(await sample('sqh_aesm_requests_total', ok)).toBe(before.ok + 1);
    expect(await sample('sqh_aesm_requests_total', legacy)).toBe(before.legacy + 1);
    expect(await latency('count')).toBe(before.count + 1);
    // Seconds, not nanoseconds or a clock reading: one answer on loopback is far below a minute.
    const took = (await latency('sum')) - before.sum;
    expect(took).toBeGreaterThanOrEqual(0);
    expect(took).toBeLessThan(60);
    expect(await sample('sqh_aesm_requests_in_flight')).toBe(0);
  });

  it('closes without a reply for invalid protobuf and for a Request without a known sub-message, counting each by reason', async () => {
    const rejected = (reason: string) => sample('sqh_aesm_frames_rejected_total', { reason });
    const [invalid, none] = [await rejected('invalid-protobuf'), await rejected('no-submessage')];
    expect((await rawExchange(sock, encodeFrame(hex('ffffffff')))).closedWithoutReply).toBe(true);
    expect((await rawExchange(sock, encodeFrame(hex('f806 01')))).closedWithoutReply).toBe(true);
    expect(await rejected('invalid-protobuf')).toBe(invalid + 1);
    expect(await rejected('no-submessage')).toBe(none + 1);
  });
  it("uses aesmd's order when several sub-messages are present and tolerates unknown fields", async () => {
    const body = cat(hex('aa01 00'), lenField(hex('8201'), cat(lenField(hex('0a'), KEY_ID), hex('f806 05'))), hex('f806 01'));
    const r = await rawExchange(sock, encodeFrame(body));
    expect(r.body).toEqual(cat(hex('8201 05 0800 10'), varint(FAKE_QUOTE_SIZE)));
  });
});

describe('ATT_KEY_ID_EXT_SIZE sanity', () => {
  it('matches the wire', () => expect(KEY_ID.length).toBe(ATT_KEY_ID_EXT_SIZE));
});
