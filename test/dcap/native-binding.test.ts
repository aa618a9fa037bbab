// The koffi binding and the provider in this process, against the C STAND-IN for Intel's libraries
// (test/dcap-standin; it replaces SGX hardware and Intel's binaries): the load order spec §1.3
// requires, and every structure marshalled byte for byte as the stand-in recorded it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesmError } from '../../src/aesm/index.js';
import { aesmCodeForQuote3, DcapProvider, DcapUnavailableError, describeNativeCode, loadDcapNative, type DcapNative } from '../../src/providers/dcap/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY } from '../../src/sgx/index.js';
import { removeDir, tempDir } from '../daemon/helpers.js';
import { REPO } from '../daemon/process-harness.js';
import { buildDcapStandin, readStandinRecord, writeStandinScript, type StandinBuild, type StandinCall } from '../support/dcap-standin.js';

let standin: StandinBuild;
let dir: string;
let native: DcapNative;
let recordFile: string;
let scriptFile: string;
const last = (fn: string): StandinCall => readStandinRecord(recordFile).filter((c) => c.fn === fn).at(-1)!;

beforeAll(async () => {
  standin = buildDcapStandin();
  dir = tempDir('sqh-dn-');
  ({ SQH_DCAP_STANDIN_RECORD: recordFile, SQH_DCAP_STANDIN_SCRIPT: scriptFile } = standin.env(dir));
  // The stand-in reads these with getenv(); Node's process.env writes reach the C environment.
  process.env.SQH_DCAP_STANDIN_RECORD = recordFile;
  process.env.SQH_DCAP_STANDIN_SCRIPT = scriptFile;
  writeStandinScript(scriptFile, []);
  native = await loadDcapNative({ libDir: standin.libDir });
}, 60_000);

afterAll(() => removeDir(dir));

describe('loading (spec §1.3)', () => {
  const node = (code: string) => spawnSync(process.execPath, ['-e', code], { cwd: REPO, encoding: 'utf8' });
  it('libsgx_qe3_logic.so alone does not load: its PCE references are unresolved (the stand-in has Intel\'s shape)', () => {
    const r = node(`const k=require('koffi'); try { k.load(${JSON.stringify(path.join(standin.libDir, 'libsgx_qe3_logic.so'))}); console.log('loaded'); } catch (e) { console.log(e.message); }`);
    expect(r.stdout).toMatch(/undefined symbol: sgx_(pce|get_pce|set_pce)/);
  });
  it('libsgx_dcap_ql.so.1 by path alone does not find its dependencies; by name through the library path it does', () => {
    const byPath = node(`const k=require('koffi'); try { k.load(${JSON.stringify(path.join(standin.libDir, 'libsgx_dcap_ql.so.1'))}); console.log('loaded'); } catch (e) { console.log(e.message); }`);
    expect(byPath.stdout).toMatch(/libsgx_qe3_logic\.so: cannot open shared object file/);
    const byName = spawnSync(process.execPath, ['-e', `const k=require('koffi'); k.load('libsgx_dcap_ql.so.1'); console.log('loaded')`], { cwd: REPO, encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: standin.libDir } });
    expect(byName.stdout.trim()).toBe('loaded');
  });
  it('from --dcap-lib-dir: loaded, QPL preloaded from the same directory', () => {
    expect(native.loadedFrom).toBe(path.join(standin.libDir, 'libsgx_dcap_ql.so.1'));
    expect(native.preloadedQpl).toBe(path.join(standin.libDir, 'libdcap_quoteprov.so.1'));
  });
});

describe('marshalling, byte for byte against the stand-in\'s record', () => {
  it('sgx_ql_get_keyid: the 256-byte sgx_att_key_id_ext_t is Intel\'s default ECDSA key id', async () => {
    const r = await native.getKeyId();
    expect(r.code).toBe(0);
    expect(r.keyId).toEqual(KEY);
    expect(last('sgx_ql_get_keyid').out.att_key_id_ext).toEqual(KEY);
  });

  it('sgx_ql_set_enclave_load_policy, sgx_ql_set_path (C string), load_qe (24-byte misc attributes, 1024-byte token)', async () => {
    expect((await native.setEnclaveLoadPolicy(0)).code).toBe(0);
    expect(last('sgx_ql_set_enclave_load_policy').in.policy).toBe(0);
    const qpl = path.join(standin.libDir, 'libdcap_quoteprov.so.1');
    expect((await native.setPath(2, qpl)).code).toBe(0);
    expect(last('sgx_ql_set_path').in).toMatchObject({ type: 2, path: qpl });
    expect((await native.setPath(0, path.join(dir, 'no-such-enclave.so'))).code).toBe(0xe002); // stat fails: Intel's check
    expect((await native.loadQe()).code).toBe(0);
    expect((last('load_qe').out.misc_attr as Buffer).length).toBe(24);
    expect((await native.getQplHandle()).loaded).toBe(true);
  });

  it('sgx_ql_init_quote: key id base in, bool false, size_t 32 in and out, 512-byte target info and 32-byte pub key id out', async () => {
    const r = await native.initQuote(KEY);
    expect(r.code).toBe(0);
    const c = last('sgx_ql_init_quote');
    expect(c.in).toMatchObject({ att_key_id: KEY.subarray(0, 158), refresh: 0, pub_key_id_size: 32, pub_key_id_ptr: 1, target_info_ptr: 1 });
    expect(c.out.target_info).toEqual(r.targetInfo);
    expect(c.out.pub_key_id).toEqual(r.pubKeyId);
    expect(c.out.pub_key_id_size).toBe(32);
    expect(r.pubKeyIdSize).toBe(32);
  });

  it('sgx_ql_get_quote_size: uint32 out', async () => {
    const r = await native.getQuoteSize(KEY);
    expect(r).toEqual({ code: 0, quoteSize: last('sgx_ql_get_quote_size').out.quote_size });
    expect(r.quoteSize).toBe(2252);
  });

  it('sgx_ql_get_quote: 432-byte report and 960-byte qe_report_info in, quote and qe_report_info out; NULL qe_report_info', async () => {
    const report = Buffer.alloc(432);
    for (let i = 0; i < 432; i++) report[i] = (i * 7) & 0xff;
    const qri = Buffer.alloc(960);
    for (let i = 0; i < 528; i++) qri[i] = (i * 13 + 5) & 0xff;
    const r = await native.getQuote(report, KEY, qri, 3000);
    expect(r.code).toBe(0);
    const c = last('sgx_ql_get_quote');
    expect(c.in).toMatchObject({ report, att_key_id: KEY.subarray(0, 158), qe_report_info: qri, quote_ptr: 1, quote_size: 3000 });
    expect(r.quote.length).toBe(3000);
    expect(r.quote.subarray(0, 2252)).toEqual(c.out.quote);
    expect(r.quote.subarray(2252).every((b) => b === 0)).toBe(true);
    expect(r.qeReportInfo).toEqual(c.out.qe_report_info);
    expect(qri.subarray(528).every((b) => b === 0)).toBe(true); // the caller's buffer is not written: the binding passes a copy
    const without = await native.getQuote(report, KEY, undefined, 2252);
    expect(without.qeReportInfo).toBeUndefined();
    expect(last('sgx_ql_get_quote').in.qe_report_info).toBeNull();
  });
});

describe('DcapProvider over the binding', () => {
  it('serialises native calls itself, even when called concurrently without the daemon\'s queue', async () => {
    writeStandinScript(scriptFile, []);
    const provider = new DcapProvider(native, { callTimeoutMs: 5000 });
    await provider.start();
    writeStandinScript(scriptFile, ['sgx_ql_get_quote delay_ms=3']);
    const before = readStandinRecord(recordFile).length;
    const report = Buffer.alloc(432, 1);
    const quotes = await Promise.all(Array.from({ length: 8 }, () => provider.getQuote({ report, attKeyId: KEY })));
    writeStandinScript(scriptFile, []);
    expect(quotes.every((q) => q.quote.length === 2252)).toBe(true); // real length, padding cut
    const calls = readStandinRecord(recordFile).slice(before).filter((c) => c.fn === 'sgx_ql_get_quote' || c.fn === 'sgx_ql_get_quote_size');
    expect(calls.length).toBe(16); // size, then quote, each time (no buf_size given)
    expect(calls.every((c) => c.conc === 1)).toBe(true);
    await provider.close();
    expect(last('sgx_ql_set_enclave_load_policy').in.policy).toBe(1); // EPHEMERAL at stop, as aesmd
  });

  it('a path flag naming a missing file stops the start with the path and the native code', async () => {
    const missing = path.join(dir, 'no-such-qe3.signed.so.1');
    const err = await new DcapProvider(native, { qe3Path: missing }).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DcapUnavailableError);
    expect((err as Error).message).toBe(`sgx_ql_set_path(QE3, ${missing}) returned 0xE002 SGX_QL_ERROR_INVALID_PARAMETER: the file must exist and be a regular file or a link`);
  });

  it('turns a native error into the AESM error aesmd sends, naming the native code', async () => {
    const provider = new DcapProvider(native, {});
    await provider.start();
    writeStandinScript(scriptFile, ['sgx_ql_get_quote ret=0xE011']);
    const err = await provider.getQuote({ report: Buffer.alloc(432), attKeyId: KEY, bufSize: 4096 }).catch((e: unknown) => e);
    writeStandinScript(scriptFile, []);
    expect(err).toBeInstanceOf(AesmError);
    expect((err as AesmError).code).toBe(44);
    expect((err as Error).message).toContain('native sgx_ql_get_quote returned 0xE011 SGX_QL_NO_PLATFORM_CERT_DATA');
    expect((await provider.health()).ready).toBe(false);
    await provider.close();
  });
});

describe('quote3_error_t → aesm_error_t (aesmd\'s table, spec §3.4)', () => {
  it('maps every listed value and defaults the rest to 1', () => {
    const table: Record<number, number> = {
      0: 0, 0xe001: 1, 0xe002: 3, 0xe003: 21, 0xe004: 32, 0xe005: 33, 0xe006: 15, 0xe007: 34, 0xe008: 35, 0xe009: 36, 0xe00a: 37, 0xe00b: 38,
      0xe00c: 39, 0xe00d: 40, 0xe00e: 41, 0xe00f: 42, 0xe010: 43, 0xe011: 44, 0xe012: 29, 0xe013: 45, 0xe014: 46, 0xe015: 47, 0xe016: 48,
      0xe017: 49, 0xe018: 50, 0xe019: 12, 0xe01a: 22,
    };
    for (const [q, a] of Object.entries(table)) expect(aesmCodeForQuote3(Number(q)), q).toBe(a);
    for (const q of [0xe01b, 0xe035, 0xe040, 0xe047, 0xe049, 0xe065, 0xe067, 0xe0ff, 0x2006, 0x200f, 0x4004, 0xf004]) expect(aesmCodeForQuote3(q)).toBe(1);
    expect(describeNativeCode(0x2006)).toBe('0x2006 SGX_ERROR_NO_DEVICE');
    expect(describeNativeCode(0xe0fe)).toBe('0xE0FE (not a quote3_error_t)');
  });
});
