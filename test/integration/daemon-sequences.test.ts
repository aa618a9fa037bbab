// Every client call sequence of wire spec §5 against a real `serve` process (sim provider) through
// its real Unix socket, with raw frames: responses byte-checked against the spec's rules, quotes
// verified with @phala/dcap-qvl under the simulated root CA. Then the §6.1 behaviour matrix: for each
// row that breaks Intel's client, every response this daemon sent is shown not to do it.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { QuoteVerifier } from '@phala/dcap-qvl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, encodeRequest, type AesmRequest } from '../../src/aesm/index.js';
import { checkQeReportInfo, createQeReportInfo } from '../../src/client/index.js';
import { DEFAULTS } from '../../src/daemon/index.js';
import { SimPlatform, toDcapQvlCollateral } from '../../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY, QE_REPORT_INFO_SIZE, QeReportInfoOffsets, REPORT_SIZE } from '../../src/sgx/index.js';
import { rawExchange, removeDir, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop, type DaemonProcess } from '../daemon/process-harness.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cat = (...b: Buffer[]) => Buffer.concat(b);
const T = hex('489875'); // timeout = 15000 in field 9, as Intel's client sends it

/** One request/response pair as seen on the wire, kept for the §6.1 matrix. */
interface Exchange {
  name: string;
  request: Buffer;
  requestField: number;
  bPubKeyIdFalse: boolean;
  response: Buffer; // everything the daemon sent
}
const exchanges: Exchange[] = [];

let dir: string;
let daemon: DaemonProcess;
let sock: string;
let platform: SimPlatform;

/** Minimal protobuf reading for the checks (the code under test uses @bufbuild; this is independent). */
function readVarint(b: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos++];
    v |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [v, pos];
    shift += 7n;
  }
}
function fields(b: Buffer): Array<{ no: number; wire: number; value: bigint | Buffer }> {
  const out: Array<{ no: number; wire: number; value: bigint | Buffer }> = [];
  let pos = 0;
  while (pos < b.length) {
    const [tag, p1] = readVarint(b, pos);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(b, p1);
      out.push({ no, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, p1);
      out.push({ no, wire, value: b.subarray(p2, p2 + Number(len)) });
      pos = p2 + Number(len);
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}
function subFields(responseBody: Buffer) {
  const top = fields(responseBody);
  expect(top.length).toBe(1);
  return { field: top[0].no, sub: fields(top[0].value as Buffer) };
}
const get = (sub: ReturnType<typeof fields>, no: number) => sub.find((f) => f.no === no)?.value;

/** Send exact bytes (a full frame), record the exchange, return the body and the decoded sub-message. */
async function exchange(name: string, frame: Buffer, opts: { bPubKeyIdFalse?: boolean } = {}) {
  const r = await rawExchange(sock, frame);
  const requestField = fields(frame.subarray(4))[0].no;
  exchanges.push({ name, request: frame, requestField, bPubKeyIdFalse: !!opts.bPubKeyIdFalse, response: r.bytes });
  expect(r.body, `${name}: a reply`).toBeDefined();
  const { field, sub } = subFields(r.body!);
  expect(field, `${name}: answered in the request's field`).toBe(requestField);
  return { body: r.body!, sub, errorCode: Number(get(sub, 1)) };
}
const frameOf = (req: AesmRequest, timeoutMs: number | undefined = 15000) => encodeFrame(encodeRequest(req, timeoutMs === undefined ? {} : { timeoutMs }));

function enclaveReport(targetInfo: Buffer, reportData: Buffer): Buffer {
  return platform.ereport({
    mrEnclave: Buffer.alloc(32, 0xa1),
    mrSigner: Buffer.alloc(32, 0xb2),
    isvProdId: 7,
    isvSvn: 3,
    attributes: { flags: 0x05n, xfrm: 0xe7n },
    targetInfo,
    reportData,
  });
}

/** Verify with dcap-qvl under the sim root; returns the TCB status and the app report data. */
async function verifyQuote(quote: Buffer) {
  const collateral = toDcapQvlCollateral(await platform.collateral({ now: new Date() }));
  const verifier = QuoteVerifier.newWithRootCa(platform.rootCertDer);
  const res = verifier.verify(quote, collateral as never, Math.floor(Date.now() / 1000));
  const report = (res.report as unknown as { asSgx?: () => { reportData: Uint8Array } }).asSgx?.() ?? (res.report as unknown as { SgxEnclave: { reportData: Uint8Array } }).SgxEnclave;
  return { status: String(res.status), reportData: Buffer.from(report.reportData) };
}

/** The real length of a v3 quote inside a larger buffer, as Gramine computes it. */
const quoteLength = (buf: Buffer) => 436 + buf.readUInt32LE(432);

beforeAll(async () => {
  dir = tempDir('sqh-q-');
  sock = path.join(dir, 'aesm.socket');
  daemon = spawnDaemon({ kind: 'tsx' }, ['--provider', 'sim', '--state-dir', path.join(dir, 'state'), '--init', '--socket', sock, '--ops-listen', 'off']);
  await daemon.serving;
  platform = await SimPlatform.load(path.join(dir, 'state'));
}, 60_000);

afterAll(async () => {
  if (daemon) expect((await stop(daemon)).code).toBe(0);
  removeDir(dir);
});

async function sdkQuoteEx(): Promise<void> {
  // Requests are the exact bytes Intel's libsgx_quote_ex sends (spec §9).
  const num = await exchange('#21', hex('06000000 aa01 03 489875'));
  expect(num.body).toEqual(hex('aa01 04 0800 1001'));
  const ids = await exchange('#22', hex('09000000 b201 06 088002 489875'));
  expect(ids.body).toEqual(cat(hex('b201 8502 0800 128002'), KEY));
  const sel = await exchange('#19', hex('06000000 9a01 03 109875'));
  expect(sel.body).toEqual(cat(hex('9a01 8502 0800 128002'), KEY));
  const q1 = await exchange('#15 size', cat(hex('0b010000 7a 8802 0a8002'), KEY, hex('1800'), T), { bPubKeyIdFalse: true });
  expect(q1.body).toEqual(cat(hex('7a 8704 0800 128004'), Buffer.alloc(512), hex('1820')));
  const q2 = await exchange('#15 buf', cat(hex('0d010000 7a 8a02 0a8002'), KEY, hex('1801 2020'), T));
  const ti = get(q2.sub, 2) as Buffer;
  const pubKeyId = get(q2.sub, 4) as Buffer;
  expect(q2.body).toEqual(cat(hex('7a a904 0800 128004'), ti, hex('1820 2220'), pubKeyId));
  expect(ti).toEqual(platform.qeTargetInfo());
  const size = await exchange('#16', cat(hex('0a010000 8201 8602 0a8002'), KEY, T));
  expect(size.errorCode).toBe(0);
  const quoteSize = Number(get(size.sub, 2));
  expect(quoteSize).toBeGreaterThan(1052);

  const reportData = randomBytes(64);
  const report = enclaveReport(ti, reportData);
  const appTargetInfo = Buffer.alloc(512, 0x21);
  const qri = createQeReportInfo(appTargetInfo);
  const got = await exchange('#17 qri', frameOf({ kind: 'getQuoteEx', report, attKeyId: KEY, qeReportInfo: qri, bufSize: quoteSize }));
  expect(got.errorCode).toBe(0);
  const quote = get(got.sub, 2) as Buffer;
  const qriBack = get(got.sub, 3) as Buffer;
  expect(quote.length).toBe(quoteSize);
  expect(quoteLength(quote)).toBe(quoteSize);
  expect(qriBack.length).toBe(QE_REPORT_INFO_SIZE);
  expect(checkQeReportInfo(qri, qriBack, quote).ok).toBe(true);
  const v = await verifyQuote(quote);
  expect(v.status).toBe('UpToDate');
  expect(v.reportData).toEqual(reportData);
}

async function dcapOutOfProcess(): Promise<void> {
  const q1 = await exchange('#15 garbage', cat(hex('13010000 7a 9002 0a8002'), KEY, hex('1800 20cdd7d291f1ff1f'), T), { bPubKeyIdFalse: true });
  expect(q1.errorCode).toBe(0);
  expect(get(q1.sub, 3)).toBe(32n); // the wrapper insists on exactly 32
  expect(get(q1.sub, 4)).toBeUndefined();
  const q2 = await exchange('#15 buf', cat(hex('0d010000 7a 8a02 0a8002'), KEY, hex('1801 2020'), T));
  const ti = get(q2.sub, 2) as Buffer;
  expect(ti.length).toBe(512);
  const size = Number(get((await exchange('#16', cat(hex('0a010000 8201 8602 0a8002'), KEY, T))).sub, 2));
  const reportData = randomBytes(64);
  const got = await exchange('#17', frameOf({ kind: 'getQuoteEx', report: enclaveReport(ti, reportData), attKeyId: KEY, bufSize: size }));
  expect(got.errorCode).toBe(0);
  expect(get(got.sub, 3)).toBeUndefined();
  const quote = get(got.sub, 2) as Buffer;
  expect(quote.length).toBe(size);
  const v = await verifyQuote(quote);
  expect(v.status).toBe('UpToDate');
  expect(v.reportData).toEqual(reportData);
}

async function gramine(): Promise<void> {
  const init = async () => get((await exchange('#15 gramine', frameOf({ kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n }, undefined))).sub, 2) as Buffer;
  let ti = await init();
  const reportData = randomBytes(64);
  const getQuote = (t: Buffer) => exchange('#17 gramine', frameOf({ kind: 'getQuoteEx', report: enclaveReport(t, reportData), attKeyId: KEY, bufSize: 8192 }, undefined));
  const first = await getQuote(ti);
  expect(first.errorCode).toBe(0);
  const padded = get(first.sub, 2) as Buffer;
  expect(padded.length).toBe(8192);
  const len = quoteLength(padded);
  expect(len).toBeGreaterThanOrEqual(436);
  expect(padded.subarray(len).every((b) => b === 0)).toBe(true);
  const firstQuote = padded.subarray(0, len);
  expect((await verifyQuote(firstQuote)).status).toBe('UpToDate');

  await platform.rotateKey();
  const rotated = await getQuote(ti);
  expect(rotated.errorCode).toBe(42); // AESM_ATT_KEY_NOT_INITIALIZED: Gramine's -EAGAIN
  expect(get(rotated.sub, 2)).toBeUndefined();
  ti = await init();
  const retried = await getQuote(ti);
  expect(retried.errorCode).toBe(0);
  const q = (get(retried.sub, 2) as Buffer).subarray(0, quoteLength(get(retried.sub, 2) as Buffer));
  const v = await verifyQuote(q);
  expect(v.status).toBe('UpToDate');
  expect(v.reportData).toEqual(reportData);
  // A new attestation key signed it (attest_pub_key at 436+64).
  expect(q.subarray(500, 564)).not.toEqual(firstQuote.subarray(500, 564));
}

async function fortanix(): Promise<void> {
  const us = 30_000_000; // Fortanix puts microseconds into `timeout`; the daemon ignores it
  const num = Number(get((await exchange('#21 f', frameOf({ kind: 'getSupportedAttKeyIdNum' }, us))).sub, 2));
  const ids = await exchange('#22 f', frameOf({ kind: 'getSupportedAttKeyIds', bufSize: num * 256 }, us));
  expect((get(ids.sub, 2) as Buffer).length).toBe(num * 256);
  const q1 = await exchange('#15 f size', frameOf({ kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: false }, us), { bPubKeyIdFalse: true });
  const pkSize = get(q1.sub, 3) as bigint;
  const q2 = await exchange('#15 f buf', frameOf({ kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: pkSize }, us));
  expect(q2.errorCode).toBe(0);
  const ti = get(q2.sub, 2) as Buffer;
  const size = await exchange('#16 f', frameOf({ kind: 'getQuoteSizeEx', attKeyId: KEY }, us));
  expect(get(size.sub, 2)).toBeDefined(); // Fortanix checks has_quote_size
  const quoteSize = Number(get(size.sub, 2));
  const nonce = randomBytes(16);
  const appTi = Buffer.alloc(512, 0x44);
  const qri = cat(nonce, appTi, Buffer.alloc(REPORT_SIZE));
  const reportData = randomBytes(64);
  const got = await exchange('#17 f', frameOf({ kind: 'getQuoteEx', report: enclaveReport(ti, reportData), attKeyId: KEY, qeReportInfo: qri, bufSize: quoteSize }, us));
  expect(got.errorCode).toBe(0);
  const quote = get(got.sub, 2) as Buffer;
  const back = get(got.sub, 3) as Buffer;
  const qeReportData = back.subarray(QeReportInfoOffsets.qeReport + 320, QeReportInfoOffsets.qeReport + 352);
  expect(qeReportData).toEqual(createHash('sha256').update(nonce).update(quote).digest());
  expect((await verifyQuote(quote)).reportData).toEqual(reportData);
}

async function malformedRequests(): Promise<void> {
  const bad: Array<[string, Buffer, boolean]> = [
    ['#15 unknown key', frameOf({ kind: 'initQuoteEx', attKeyId: Buffer.alloc(256, 7), bPubKeyId: false, bufSize: 0x7fff1234abcdn }), true],
    ['#15 short key', frameOf({ kind: 'initQuoteEx', attKeyId: KEY.subarray(0, 100), bPubKeyId: false }), true],
    ['#15 buf 31', frameOf({ kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 31n }), false],
    ['#16 no key', frameOf({ kind: 'getQuoteSizeEx' }), false],
    ['#17 short report', frameOf({ kind: 'getQuoteEx', report: Buffer.alloc(100), attKeyId: KEY, bufSize: 8192 }), false],
    ['#17 forged report', frameOf({ kind: 'getQuoteEx', report: Buffer.alloc(432, 9), attKeyId: KEY, qeReportInfo: Buffer.alloc(960, 1), bufSize: 8192 }), false],
    ['#17 buf too small', frameOf({ kind: 'getQuoteEx', report: enclaveReport(platform.qeTargetInfo(), Buffer.alloc(64)), attKeyId: KEY, bufSize: 64 }), false],
    ['#19 bad list', frameOf({ kind: 'selectAttKeyId', attKeyIdList: Buffer.alloc(20) }), false],
    ['#22 wrong buf', frameOf({ kind: 'getSupportedAttKeyIds', bufSize: 1 }), false],
    ['#1 legacy EPID', encodeFrame(hex('0a 03 489875')), false],
    ['#12 legacy extended group id', encodeFrame(hex('62 00')), false],
  ];
  for (const [name, frame, bFalse] of bad) {
    const r = await exchange(name, frame, { bPubKeyIdFalse: bFalse });
    expect(r.errorCode, name).not.toBe(0);
  }
}

describe('§5.1 Intel SDK quote_ex sequence', () => {
  it('#21, #22, #19, #15 (size query), #15 (with buffer), #16, #17 with qe_report_info', sdkQuoteEx);
});

describe('§5.2 DCAP quote library, out-of-process', () => {
  it('#15 with a garbage buf_size, #15 (true, 32), #16, #17 without qe_report_info', dcapOutOfProcess);
});

describe('§5.3 Gramine', () => {
  it('#15 (true, 32), then #17 with buf_size 8192 and no #16; after a key rotation #17 says 42, Gramine re-inits and retries', gramine);
});

describe('§5.3 Fortanix', () => {
  it('#21, #22, #15 (false, no buf_size), #15 (true, returned size), #16, #17 with nonce ‖ target_info ‖ zero qe_report', fortanix);
});

describe('error answers through the real process', () => {
  it('answers every malformed quote_ex request in its own field with an error code', malformedRequests);
});

describe('§6.1 behaviour matrix: the daemon never does what breaks Intel\'s client', () => {
  // The matrix makes its own inputs: every sequence above runs again here, so the matrix holds when it runs
  // alone (vitest -t '§6.1') or in another order, not only after the tests above filled `exchanges`.
  beforeAll(async () => {
    exchanges.length = 0;
    for (const sequence of [sdkQuoteEx, dcapOutOfProcess, gramine, fortanix, malformedRequests]) await sequence();
  }, 60_000);
  const replies = () => {
    expect(exchanges.length).toBeGreaterThan(30);
    return exchanges;
  };
  it('wrong response sub-message (client SEGFAULT): never; every reply answers in the request\'s field and only there', () => {
    for (const e of replies()) {
      const { field } = subFields(e.response.subarray(4));
      expect(field, e.name).toBe(e.requestField);
      expect(field, e.name).not.toBe(20);
    }
  });
  it('zero-length body (client SEGFAULT) and close without response: never for a parseable request', () => {
    for (const e of replies()) {
      expect(e.response.length, e.name).toBeGreaterThan(4);
      expect(e.response.readUInt32LE(0), e.name).toBeGreaterThan(0);
    }
  });
  it('errorCode omitted (client reports 0x0001): never; field 1 is present in every reply, also when 0', () => {
    for (const e of replies()) {
      const { sub } = subFields(e.response.subarray(4));
      expect(sub[0]?.no, e.name).toBe(1);
      expect(sub[0]?.wire, e.name).toBe(0);
    }
  });
  it('big-endian length prefix: never; the prefix is the body length little-endian, and nothing follows the frame', () => {
    for (const e of replies()) expect(e.response.readUInt32LE(0), e.name).toBe(e.response.length - 4);
  });
  it('target_info other than 512 bytes: never', () => {
    for (const e of replies().filter((x) => x.requestField === 15)) {
      const ti = get(subFields(e.response.subarray(4)).sub, 2) as Buffer | undefined;
      if (ti) expect(ti.length, e.name).toBe(512);
    }
  });
  it('pub_key_id although b_pub_key_id = false (client SEGFAULT): never, success or error', () => {
    const falses = replies().filter((x) => x.bPubKeyIdFalse);
    expect(falses.length).toBeGreaterThanOrEqual(5);
    for (const e of falses) expect(get(subFields(e.response.subarray(4)).sub, 4), e.name).toBeUndefined();
  });
  it('response delayed past the client\'s 15 s: the default provider timeout answers before it', () => {
    expect(DEFAULTS.providerTimeoutMs).toBeLessThan(15_000);
  });
  it('garbage buf_size with b_pub_key_id = false: ignored (pub_key_id_size 32 on success, never echoed on error)', () => {
    for (const e of replies().filter((x) => x.bPubKeyIdFalse)) {
      const { sub } = subFields(e.response.subarray(4));
      const size = get(sub, 3);
      expect(size === 32n || size === 0n, e.name).toBe(true);
    }
  });
});
