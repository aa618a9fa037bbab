// The dcap provider through a real `serve --provider dcap --dcap-lib-dir <stand-in>` process and its
// real Unix socket. SGX hardware and Intel's libraries are replaced by the C STAND-IN in
// test/dcap-standin (built with gcc here): same sonames, DT_NEEDED edges, exports and C ABI. It
// records every argument it receives and what it wrote, so each AESM exchange is checked byte for
// byte against both the wire rules and what crossed the native boundary.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesmCode, encodeFrame, encodeRequest, type AesmRequest } from '../../src/aesm/index.js';
import { aesmCodeForQuote3 } from '../../src/providers/dcap/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY, QE_REPORT_INFO_SIZE, REPORT_SIZE } from '../../src/sgx/index.js';
import { call, metricValue, rawExchange, removeDir, scrape, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop, type DaemonProcess } from '../daemon/process-harness.js';
import { buildDcapStandin, readStandinRecord, writeStandinScript, type StandinBuild, type StandinCall } from '../support/dcap-standin.js';
import { varint } from '../support/protobuf-bytes.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cat = (...b: Buffer[]) => Buffer.concat(b);
const T = hex('489875'); // timeout = 15000, as Intel's client sends it
const BASE = KEY.subarray(0, 158);
/** The stand-in QPL's PEM-shaped chain is 1200 bytes: quote size 1052 + 1200. */
const QUOTE_SIZE = 2252;

let standin: StandinBuild;
let dir: string;
let sock: string;
let daemon: DaemonProcess;
let ops: string;
let scriptFile: string;
let recordFile: string;

const frameOf = (req: AesmRequest) => encodeFrame(encodeRequest(req, { timeoutMs: 15000 }));
/** The functions the daemon itself calls (the rest are calls inside the stand-in: PCE, QPL). */
const DAEMON_CALLS = /^(sgx_ql_(set_enclave_load_policy|get_keyid|set_path|init_quote|get_quote_size|get_quote)|load_qe|get_qpl_handle)$/;
const record = (): StandinCall[] => readStandinRecord(recordFile).filter((c) => c.pid === daemon.pid);
/** The calls the stand-in recorded while `fn` ran. */
async function recorded<T>(fn: () => Promise<T>): Promise<{ result: T; calls: StandinCall[] }> {
  const before = record().length;
  const result = await fn();
  return { result, calls: record().slice(before) };
}
const only = (calls: StandinCall[], fn: string) => {
  const c = calls.filter((x) => x.fn === fn);
  expect(c.length, `exactly one ${fn} call`).toBe(1);
  return c[0];
};
const script = (...lines: string[]) => writeStandinScript(scriptFile, lines);

function appReport(reportData: Buffer): Buffer {
  const r = randomBytes(REPORT_SIZE);
  reportData.copy(r, 320);
  return r;
}

beforeAll(async () => {
  standin = buildDcapStandin();
  dir = tempDir('sqh-dc-');
  sock = path.join(dir, 'aesm.socket');
  ({ SQH_DCAP_STANDIN_SCRIPT: scriptFile, SQH_DCAP_STANDIN_RECORD: recordFile } = standin.env(dir));
  script();
  daemon = spawnDaemon(
    { kind: 'tsx' },
    // --dcap-qpl-path goes through sgx_ql_set_path, which Intel's library refuses (0xE03E) when it saw SGX_AESM_ADDR.
    ['--provider', 'dcap', '--dcap-lib-dir', standin.libDir, '--dcap-qpl-path', path.join(standin.libDir, 'libdcap_quoteprov.so.1'), '--sgx-device-dir', standin.deviceDir, '--socket', sock, '--ops-listen', '127.0.0.1:0', '--provider-timeout', '2s'],
    { ...standin.env(dir), SGX_AESM_ADDR: '1' },
  );
  await daemon.serving;
  ops = await daemon.opsAddress;
}, 60_000);

afterAll(async () => {
  if (daemon) expect((await stop(daemon)).code).toBe(0);
  removeDir(dir);
});

describe('start-up', () => {
  it('removed SGX_AESM_ADDR before loading the library, and said so', () => {
    expect(daemon.lines.some((l) => l.removed === 'SGX_AESM_ADDR' && l.level === 'warn')).toBe(true);
    const all = readStandinRecord(recordFile).filter((c) => c.pid === daemon.pid);
    expect(all.find((c) => c.fn === 'dcap_ql_constructor')?.in.sgx_aesm_addr).toBe('unset');
    const setPath = only(all, 'sgx_ql_set_path');
    expect(setPath.ret).toBe(0);
    expect(setPath.in).toMatchObject({ type: 2, path: path.join(standin.libDir, 'libdcap_quoteprov.so.1') });
  });

  it('warmed up like aesmd before publishing the socket: persistent policy, key id, QPL handle, load_qe, then one certification', () => {
    // (The library's load-time constructor calls sgx_ql_get_keyid itself, before any call of ours.)
    const all = record().map((c) => c.fn);
    const fns = all.slice(all.indexOf('sgx_ql_set_enclave_load_policy')).filter((f) => DAEMON_CALLS.test(f));
    expect(fns.slice(0, 7)).toEqual(['sgx_ql_set_enclave_load_policy', 'sgx_ql_get_keyid', 'sgx_ql_set_path', 'get_qpl_handle', 'load_qe', 'sgx_ql_init_quote', 'sgx_ql_get_quote_size']);
    const policy = record().find((c) => c.fn === 'sgx_ql_set_enclave_load_policy')!;
    expect(policy.in.policy).toBe(0); // SGX_QL_PERSISTENT
    const init = record().find((c) => c.fn === 'sgx_ql_init_quote')!;
    expect(init.in).toMatchObject({ att_key_id: BASE, refresh: 0, pub_key_id_size: 32, pub_key_id_ptr: 1, target_info_ptr: 1 });
    const served = daemon.lines.findIndex((l) => l.msg === 'AESM socket listening');
    expect(daemon.lines.findIndex((l) => l.msg === 'dcap provider ready: Intel QE3 loaded (persistent policy)')).toBeLessThan(served);
    expect(daemon.lines[served]).toMatchObject({ provider: 'dcap', simulated: false, providerReason: '--provider dcap requested' });
  });

  it('/readyz is true and the metrics name the library state', async () => {
    const r = await scrape(ops, '/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ ready: true, provider: 'dcap', simulated: false });
    const m = (await scrape(ops)).text;
    expect(metricValue(m, 'sqh_dcap_qpl_loaded')).toBe(1);
    expect(metricValue(m, 'sqh_dcap_attestation_key_certified')).toBe(1);
    expect(metricValue(m, 'sqh_dcap_native_calls_total', { function: 'load_qe', code: '0x0000' })).toBe(1);
  });
});

describe('§5.1 Intel SDK quote_ex sequence, byte-checked on the wire and at the native boundary', () => {
  it('#21, #22, #19, #15 (size query), #15 (with buffer), #16, #17 with qe_report_info', async () => {
    // The exact bytes Intel's libsgx_quote_ex sends (wire spec §9). Key id answers need no native call.
    const num = await rawExchange(sock, hex('06000000 aa01 03 489875'));
    expect(num.body).toEqual(hex('aa01 04 0800 1001'));
    const ids = await rawExchange(sock, hex('09000000 b201 06 088002 489875'));
    expect(ids.body).toEqual(cat(hex('b201 8502 0800 128002'), KEY));
    const sel = await rawExchange(sock, hex('06000000 9a01 03 109875'));
    expect(sel.body).toEqual(cat(hex('9a01 8502 0800 128002'), KEY));
    const q1 = await recorded(() => rawExchange(sock, cat(hex('0b010000 7a 8802 0a8002'), KEY, hex('1800'), T)));
    expect(q1.result.body).toEqual(cat(hex('7a 8704 0800 128004'), Buffer.alloc(512), hex('1820')));
    expect(q1.calls).toEqual([]); // aesmd's size query never reaches the QE either

    const q2 = await recorded(() => rawExchange(sock, cat(hex('0d010000 7a 8a02 0a8002'), KEY, hex('1801 2020'), T)));
    const init = only(q2.calls, 'sgx_ql_init_quote');
    expect(init.in).toMatchObject({ att_key_id: BASE, refresh: 0, pub_key_id_size: 32, pub_key_id_ptr: 1, target_info_ptr: 1 });
    const ti = init.out.target_info as Buffer;
    const pubKeyId = init.out.pub_key_id as Buffer;
    expect(ti.length).toBe(512);
    expect(q2.result.body).toEqual(cat(hex('7a a904 0800 128004'), ti, hex('1820 2220'), pubKeyId));

    const q3 = await recorded(() => rawExchange(sock, cat(hex('0a010000 8201 8602 0a8002'), KEY, T)));
    expect(only(q3.calls, 'sgx_ql_get_quote_size').in.att_key_id).toEqual(BASE);
    expect(q3.result.body).toEqual(cat(hex('8201 05 0800'), hex('10 cc11'))); // quote_size 2252

    const report = appReport(randomBytes(64));
    const qri = cat(randomBytes(16), randomBytes(512), Buffer.alloc(432));
    const q4 = await recorded(() => rawExchange(sock, frameOf({ kind: 'getQuoteEx', report, attKeyId: KEY, qeReportInfo: qri, bufSize: QUOTE_SIZE })));
    const gq = only(q4.calls, 'sgx_ql_get_quote');
    expect(gq.in).toMatchObject({ report, att_key_id: BASE, qe_report_info: qri, quote_ptr: 1, quote_size: QUOTE_SIZE });
    const quote = gq.out.quote as Buffer;
    const qriOut = gq.out.qe_report_info as Buffer;
    expect(quote.length).toBe(QUOTE_SIZE);
    expect(qriOut.subarray(0, 528)).toEqual(qri.subarray(0, 528)); // nonce and target info untouched
    // The stand-in's qe_report carries the nonce and the target's first 16 bytes: the right input offsets were read.
    expect(qriOut.subarray(528 + 320, 528 + 336)).toEqual(qri.subarray(0, 16));
    expect(qriOut.subarray(528 + 336, 528 + 352)).toEqual(qri.subarray(16, 32));
    // Response: errorCode 0, quote (field 2), qe_report_info (field 3), nothing else.
    const expected = cat(hex('8a01'), varint(2 + (1 + varint(QUOTE_SIZE).length + QUOTE_SIZE) + (3 + QE_REPORT_INFO_SIZE)), hex('0800'), hex('12'), varint(QUOTE_SIZE), quote, hex('1a c007'), qriOut);
    expect(q4.result.body).toEqual(expected);
    // The quote embeds the app report body and the QPL's chain (cert type 5).
    expect(quote.subarray(48, 432)).toEqual(report.subarray(0, 384));
    expect(quote.readUInt16LE(1046)).toBe(5);
  });
});

describe('§5.2 DCAP quote library out of process, and Gramine', () => {
  it('#15 garbage buf_size, #15 (true, 32), #16, #17 without qe_report_info', async () => {
    const q1 = await rawExchange(sock, cat(hex('13010000 7a 9002 0a8002'), KEY, hex('1800 20cdd7d291f1ff1f'), T));
    expect(q1.body).toEqual(cat(hex('7a 8704 0800 128004'), Buffer.alloc(512), hex('1820')));
    const q2 = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n });
    expect(q2.errorCode).toBe(0);
    const size = await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY });
    expect(size.quoteSize).toBe(QUOTE_SIZE);
    const report = appReport(randomBytes(64));
    const q = await recorded(() => call(sock, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: QUOTE_SIZE }));
    expect(q.result.errorCode).toBe(0);
    expect(q.result.qeReportInfo).toBeUndefined();
    const gq = only(q.calls, 'sgx_ql_get_quote');
    expect(gq.in.qe_report_info).toBeNull();
    expect(q.result.quote).toEqual(gq.out.quote);
  });

  it('Gramine: #17 with buf_size 8192 hands the QE an 8192-byte buffer and returns all of it, zero-padded', async () => {
    const report = appReport(randomBytes(64));
    const q = await recorded(() => call(sock, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: 8192 }));
    expect(only(q.calls, 'sgx_ql_get_quote').in.quote_size).toBe(8192);
    expect(q.result.quote!.length).toBe(8192);
    expect(q.result.quote!.subarray(0, QUOTE_SIZE)).toEqual(only(q.calls, 'sgx_ql_get_quote').out.quote);
    expect(q.result.quote!.subarray(QUOTE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it('a buffer smaller than the quote: the QE says invalid parameter, the client gets 3', async () => {
    const q = await call(sock, { kind: 'getQuoteEx', report: appReport(Buffer.alloc(64)), attKeyId: KEY, bufSize: 2000 });
    expect(q.errorCode).toBe(AesmCode.PARAMETER_ERROR);
  });
});

/** Generation-path quote3_error_t values (dcap-provider spec §3.1 column gen) and aesmd's answer for each (§3.4). */
const GENERATION_ERRORS: Array<[number, number]> = [
  [0xe001, 1], [0xe002, 3], [0xe003, 21], [0xe009, 36], [0xe00b, 38], [0xe00c, 39], [0xe00d, 40], [0xe00f, 42],
  [0xe010, 43], [0xe011, 44], [0xe012, 29], [0xe014, 46], [0xe015, 47], [0xe016, 48], [0xe017, 49], [0xe018, 50],
  [0xe019, 12], [0xe035, 1], [0xe03e, 1], [0xe03f, 1], [0xe040, 1], [0xe041, 1], [0xe042, 1], [0xe043, 1], [0xe044, 1],
  [0xe046, 1], [0xe047, 1], [0xe049, 1], [0xe065, 1], [0xe067, 1],
  // raw sgx_status_t values that are not quote3_error_t: aesmd's default
  [0x2006, 1], [0x4004, 1],
];

describe('every generation-path quote3_error_t becomes the AESM code aesmd sends', () => {
  const requests = (report: Buffer) => ({
    sgx_ql_init_quote: () => call(sock, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n }),
    sgx_ql_get_quote_size: () => call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY }),
    sgx_ql_get_quote: () => call(sock, { kind: 'getQuoteEx', report, attKeyId: KEY, qeReportInfo: Buffer.alloc(960, 7), bufSize: 4096 }),
  });
  it('for init_quote, get_quote_size and get_quote; native code in the metrics; error answers in the right shape', async () => {
    const report = appReport(Buffer.alloc(64));
    for (const [fn, send] of Object.entries(requests(report))) {
      for (const [native, aesm] of GENERATION_ERRORS) {
        expect(aesmCodeForQuote3(native)).toBe(aesm);
        script(`${fn} ret=0x${native.toString(16)}`);
        const r = await send();
        expect(r.errorCode, `${fn} -> 0x${native.toString(16)}`).toBe(aesm);
        if (r.kind === 'initQuoteEx') {
          expect(r.targetInfo).toBeUndefined();
          expect(r.pubKeyIdSize).toBe(32n);
        }
        if (r.kind === 'getQuoteSizeEx') expect(r.quoteSize).toBe(0);
        if (r.kind === 'getQuoteEx') expect(r.qeReportInfo).toEqual(Buffer.alloc(960, 7)); // echoed unmodified
      }
    }
    script();
    const m = (await scrape(ops)).text;
    expect(metricValue(m, 'sqh_dcap_native_calls_total', { function: 'sgx_ql_get_quote', code: '0xE016', name: 'SGX_QL_ENCLAVE_LOAD_ERROR' })).toBe(1);
    expect(metricValue(m, 'sqh_dcap_native_calls_total', { function: 'sgx_ql_init_quote', code: '0x2006' })).toBe(1);
    // A platform failure was the last word: not ready until a call succeeds again.
    expect((await scrape(ops, '/readyz')).status).toBe(503);
    expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n })).errorCode).toBe(0);
    expect((await scrape(ops, '/readyz')).status).toBe(200);
  });

  it('errors from inside the library keep their mapping: PCE unavailable (0xF004 -> 0xE00D -> 40), PCCS down in the QPL (0xE019 -> 12)', async () => {
    script('sgx_pce_get_target ret=0xF004');
    expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n })).errorCode).toBe(40);
    script('sgx_ql_get_quote_config ret=0xE019');
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY })).errorCode).toBe(12);
    script();
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY })).errorCode).toBe(0);
  });
});

describe('one native call at a time', () => {
  it('40 concurrent clients: every quote served, and the stand-in never saw two calls overlap', async () => {
    script('sgx_ql_get_quote delay_ms=4');
    const before = record().length;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(sock, { kind: 'getQuoteEx', report: appReport(Buffer.alloc(64, i)), attKeyId: KEY, bufSize: QUOTE_SIZE })),
    );
    script();
    expect(results.map((r) => r.errorCode)).toEqual(Array(40).fill(0));
    const calls = record().slice(before).filter((c) => c.fn === 'sgx_ql_get_quote');
    expect(calls.length).toBe(40);
    expect(calls.every((c) => c.conc === 1)).toBe(true);
    const byStart = [...calls].sort((a, b) => (a.t0 < b.t0 ? -1 : 1));
    for (let i = 1; i < byStart.length; i++) expect(byStart[i].t0 > byStart[i - 1].t1, `call ${i} started after call ${i - 1} returned`).toBe(true);
    // Each client got the quote of its own report.
    for (const [i, r] of results.entries()) expect(r.quote!.subarray(48 + 320, 48 + 384)).toEqual(Buffer.alloc(64, i));
  });

  it('a call that hangs past the provider timeout: AESM_BUSY, /readyz false, a metric, no second native call until it returns', async () => {
    script('sgx_ql_get_quote delay_ms=4000');
    const before = record().length;
    const report = appReport(Buffer.alloc(64));
    const first = call(sock, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: QUOTE_SIZE });
    await new Promise((r) => setTimeout(r, 100));
    const second = call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY });
    expect((await first).errorCode).toBe(AesmCode.BUSY);
    expect((await second).errorCode).toBe(AesmCode.BUSY);
    // The event loop and the ops server do not wait on the native call.
    const ready = await scrape(ops, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text).reason).toMatch(/sgx_ql_get_quote has been running/);
    const m = (await scrape(ops)).text;
    expect(metricValue(m, 'sqh_dcap_native_timeouts_total', { function: 'sgx_ql_get_quote' })).toBe(1);
    expect(metricValue(m, 'sqh_dcap_native_call_stuck')).toBe(1);
    expect(metricValue(m, 'sqh_provider_errors_total', { operation: 'getQuoteEx', code: '18' })).toBe(1);
    script();
    await daemon.waitFor((l) => l.msg === 'stuck native DCAP call returned; native calls resume', 'stuck call returned', 10_000);
    expect((await scrape(ops, '/readyz')).status).toBe(200);
    const third = await call(sock, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: QUOTE_SIZE });
    expect(third.errorCode).toBe(0);
    const calls = record().slice(before).filter((c) => DAEMON_CALLS.test(c.fn));
    // The waiting #16 never reached the library; the next call started only after the hung one returned.
    expect(calls.map((c) => c.fn)).toEqual(['sgx_ql_get_quote', 'sgx_ql_get_quote']);
    expect(calls[1].t0 > calls[0].t1).toBe(true);
  });
});

