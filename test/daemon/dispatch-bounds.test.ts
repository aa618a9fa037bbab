// The dispatcher's limits at the exact boundary (wire spec §4.2), through a real Unix socket with the
// FakeProvider TEST DOUBLE (hardware boundary); written for mutation testing (docs/mutation-testing.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttKeyIdOffsets } from '../../src/sgx/index.js';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { FAKE_QUOTE_SIZE, FakeProvider, KEY_ID, call, removeDir, startTestDaemon, tempDir } from './helpers.js';

const REPORT = Buffer.alloc(432, 0x22);
const OTHER = Buffer.from(KEY_ID);
OTHER[AttKeyIdOffsets.mrsigner] ^= 0xff; // not supported

function list(entries: Buffer[], num = entries.length): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(num, 4);
  return Buffer.concat([h, ...entries]);
}

let dir: string;
let daemon: DaemonHandle;
let sock: string;

beforeAll(async () => {
  dir = tempDir();
  daemon = await startTestDaemon(dir, new FakeProvider({ keyIds: [KEY_ID] }));
  sock = daemon.config.socketPath;
});
afterAll(async () => {
  await daemon.shutdown();
  removeDir(dir);
});

describe('SelectAttKeyID list limits', () => {
  it('a list of exactly 10 entries is accepted and the supported one is chosen', async () => {
    const entries = [...Array(9).fill(OTHER), KEY_ID];
    const r = await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list(entries) });
    expect(r.errorCode).toBe(0);
    expect(r.selectedAttKeyId).toEqual(KEY_ID);
  });

  it('a list of exactly one entry (264 bytes) is accepted; one byte less is 3', async () => {
    expect((await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([KEY_ID]) })).selectedAttKeyId).toEqual(KEY_ID);
    const short = list([KEY_ID]).subarray(0, 263);
    expect((await call(sock, { kind: 'selectAttKeyId', attKeyIdList: short })).errorCode).toBe(3);
  });

  it('the entry chosen is the one listed at its own offset, not a neighbour', async () => {
    const mine = Buffer.from(KEY_ID);
    mine.fill(0x42, AttKeyIdOffsets.spid, AttKeyIdOffsets.spid + 16); // outside the matched base
    const r = await call(sock, { kind: 'selectAttKeyId', attKeyIdList: list([OTHER, OTHER, mine]) });
    expect(r.selectedAttKeyId).toEqual(mine);
  });
});

describe('GetQuoteEx sizes', () => {
  it('a buf_size of exactly the quote size returns the quote unpadded, one more pads one zero', async () => {
    const exact = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: FAKE_QUOTE_SIZE });
    expect(exact.quote!.length).toBe(FAKE_QUOTE_SIZE);
    const plus = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: FAKE_QUOTE_SIZE + 1 });
    expect(plus.quote!.length).toBe(FAKE_QUOTE_SIZE + 1);
    expect(plus.quote![FAKE_QUOTE_SIZE]).toBe(0);
    expect(plus.quote!.subarray(0, FAKE_QUOTE_SIZE)).toEqual(exact.quote);
  });

  it('a 433-byte report and a 961-byte qe_report_info are 3', async () => {
    const long = await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(433), attKeyId: KEY_ID, bufSize: 8192 });
    expect(long.errorCode).toBe(3);
    const qri = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, qeReportInfo: Buffer.alloc(961), bufSize: 8192 });
    expect(qri.errorCode).toBe(3);
    expect(qri.qeReportInfo).toBeUndefined(); // a wrong-sized one is never echoed
  });
});
