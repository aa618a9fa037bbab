// What the daemon answers when the provider (the hardware boundary) misbehaves: wrong sizes, empty
// quotes, a missing qe_report_info, thrown errors, no keys. The provider below is a TEST DOUBLE standing
// in for quoting hardware; everything else is real (in-process daemon, Unix socket, AESM framing).
// The rule under test: the client always gets a well-formed answer with an error code, never a garbage
// success, and the failure is counted in sqh_provider_errors_total.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AesmCode, AesmError } from '../../src/aesm/index.js';
import { ATT_KEY_ID_EXT_SIZE, QE_REPORT_INFO_SIZE, TARGET_INFO_SIZE } from '../../src/sgx/index.js';
import type { DaemonHandle } from '../../src/daemon/index.js';
import type { ProviderHealth, QuoteProvider } from '../../src/providers/provider.js';
import { KEY_ID, PUB_KEY_ID, QE_TARGET_INFO, call, removeDir, startTestDaemon, tempDir } from './helpers.js';

const REPORT = Buffer.alloc(432, 0x11);
const QUOTE = Buffer.alloc(1200, 0xab);

interface Behaviour {
  keyIds: () => Buffer[];
  initQuote: () => { targetInfo: Buffer; pubKeyId: Buffer };
  getQuoteSize: () => number;
  getQuote: (req: { qeReportInfo?: Buffer }) => { quote: Buffer; qeReportInfo?: Buffer };
}

const wellBehaved = (): Behaviour => ({
  keyIds: () => [KEY_ID],
  initQuote: () => ({ targetInfo: QE_TARGET_INFO, pubKeyId: PUB_KEY_ID }),
  getQuoteSize: () => QUOTE.length,
  getQuote: (req) => ({ quote: QUOTE, ...(req.qeReportInfo ? { qeReportInfo: Buffer.alloc(QE_REPORT_INFO_SIZE, 0x71) } : {}) }),
});

/** TEST DOUBLE for quoting hardware whose every answer a test can replace. */
class ScriptedProvider implements QuoteProvider {
  readonly name = 'scripted';
  readonly simulated = true;
  readonly maxConcurrency = 1;
  behave = wellBehaved();
  calls: string[] = [];
  async supportedAttKeyIds(): Promise<Buffer[]> {
    this.calls.push('supportedAttKeyIds');
    return this.behave.keyIds();
  }
  async initQuote(): Promise<{ targetInfo: Buffer; pubKeyId: Buffer }> {
    this.calls.push('initQuote');
    return this.behave.initQuote();
  }
  async getQuoteSize(): Promise<number> {
    this.calls.push('getQuoteSize');
    return this.behave.getQuoteSize();
  }
  async getQuote(req: { report: Buffer; attKeyId: Buffer; qeReportInfo?: Buffer }): Promise<{ quote: Buffer; qeReportInfo?: Buffer }> {
    this.calls.push('getQuote');
    return this.behave.getQuote(req);
  }
  async health(): Promise<ProviderHealth> {
    return { ready: true, fmspc: '00906ED50000', tcbStatus: 'UpToDate' };
  }
  async close(): Promise<void> {}
}

async function providerErrors(d: DaemonHandle, operation: string, code: number): Promise<number> {
  const m = await d.metrics.registry.getSingleMetric('sqh_provider_errors_total')!.get();
  return m.values.find((v) => v.labels.operation === operation && v.labels.code === String(code))?.value ?? 0;
}

describe('a misbehaving provider behind a working daemon', () => {
  let dir: string;
  let daemon: DaemonHandle;
  let provider: ScriptedProvider;
  let sock: string;
  beforeAll(async () => {
    dir = tempDir();
    provider = new ScriptedProvider();
    daemon = await startTestDaemon(dir, provider);
    sock = daemon.config.socketPath;
  });
  afterAll(async () => {
    await daemon.shutdown();
    removeDir(dir);
  });
  beforeEach(() => {
    provider.behave = wellBehaved();
  });

  it('the well-behaved script answers every quote_ex call (the control)', async () => {
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).quoteSize).toBe(QUOTE.length);
    const init = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 32n });
    expect(init.errorCode).toBe(0);
    expect(init.targetInfo).toEqual(QE_TARGET_INFO);
    const q = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: QUOTE.length, qeReportInfo: Buffer.alloc(QE_REPORT_INFO_SIZE) });
    expect(q.errorCode).toBe(0);
    expect(q.quote).toEqual(QUOTE);
    expect(q.qeReportInfo).toEqual(Buffer.alloc(QE_REPORT_INFO_SIZE, 0x71));
  });

  it.each([
    ['0', 0],
    ['negative', -5],
    ['not an integer', 1200.5],
    ['above the 64 KiB buffer limit', 64 * 1024 + 1],
  ])('a quote size that is %s → 1 (UNEXPECTED_ERROR), never that size', async (_n, size) => {
    provider.behave.getQuoteSize = () => size;
    const r = await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID });
    expect(r.errorCode).toBe(AesmCode.UNEXPECTED_ERROR);
    expect(r.quoteSize).toBe(0);
  });

  it('a quote size of exactly 64 KiB is still answered', async () => {
    provider.behave.getQuoteSize = () => 64 * 1024;
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).quoteSize).toBe(64 * 1024);
  });

  it.each([
    ['a 511-byte target_info', { targetInfo: Buffer.alloc(TARGET_INFO_SIZE - 1), pubKeyId: PUB_KEY_ID }],
    ['a 33-byte pub_key_id', { targetInfo: QE_TARGET_INFO, pubKeyId: Buffer.alloc(33) }],
    ['no pub_key_id', { targetInfo: QE_TARGET_INFO } as { targetInfo: Buffer; pubKeyId: Buffer }],
  ])('InitQuoteEx: %s from the provider → 1, with neither target_info nor pub_key_id', async (_n, answer) => {
    provider.behave.initQuote = () => answer;
    const r = await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 32n });
    expect(r.errorCode).toBe(AesmCode.UNEXPECTED_ERROR);
    expect(r.pubKeyId).toBeUndefined();
  });

  it('GetQuoteEx: an empty quote → 1, no quote', async () => {
    provider.behave.getQuote = () => ({ quote: Buffer.alloc(0) });
    const r = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 4096 });
    expect(r.errorCode).toBe(AesmCode.UNEXPECTED_ERROR);
    expect(r.quote).toBeUndefined();
  });

  it('GetQuoteEx: a quote larger than buf_size → 3, not a truncated quote; exactly buf_size is returned whole', async () => {
    const small = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: QUOTE.length - 1 });
    expect(small.errorCode).toBe(AesmCode.PARAMETER_ERROR);
    expect(small.quote).toBeUndefined();
    const exact = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: QUOTE.length });
    expect(exact.quote).toEqual(QUOTE);
  });

  it('GetQuoteEx: a buf_size of exactly 64 KiB is served, padded (one byte more is 21: dispatch.test.ts)', async () => {
    const r = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 64 * 1024 });
    expect(r.errorCode).toBe(0);
    expect(r.quote!.length).toBe(64 * 1024);
    expect(r.quote!.subarray(0, QUOTE.length)).toEqual(QUOTE);
  });

  it('GetQuoteEx with qe_report_info: none (or a wrong size) from the provider → 49, the request\'s qe_report_info echoed', async () => {
    const qri = Buffer.alloc(QE_REPORT_INFO_SIZE, 0x07);
    for (const answer of [undefined, Buffer.alloc(QE_REPORT_INFO_SIZE - 1)]) {
      provider.behave.getQuote = () => ({ quote: QUOTE, ...(answer ? { qeReportInfo: answer } : {}) });
      const r = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 4096, qeReportInfo: qri });
      expect(r.errorCode).toBe(AesmCode.UNABLE_TO_GENERATE_QE_REPORT);
      expect(r.quote).toBeUndefined();
      expect(r.qeReportInfo).toEqual(qri);
    }
  });

  it('a provider error with an AESM code passes that code through; any other error becomes 1; both are counted', async () => {
    const before42 = await providerErrors(daemon, 'getQuoteEx', 42);
    const before1 = await providerErrors(daemon, 'getQuoteEx', 1);
    provider.behave.getQuote = () => {
      throw new AesmError(AesmCode.ATT_KEY_NOT_INITIALIZED);
    };
    expect((await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 4096 })).errorCode).toBe(42);
    provider.behave.getQuote = () => {
      throw new Error('device lost');
    };
    const r = await call(sock, { kind: 'getQuoteEx', report: REPORT, attKeyId: KEY_ID, bufSize: 4096 });
    expect(r.errorCode).toBe(AesmCode.UNEXPECTED_ERROR);
    expect(r.quote).toBeUndefined();
    expect(await providerErrors(daemon, 'getQuoteEx', 42)).toBe(before42 + 1);
    expect(await providerErrors(daemon, 'getQuoteEx', 1)).toBe(before1 + 1);
  });

  it('key ids are asked once: later calls never wait on the provider for them', async () => {
    const asked = provider.calls.filter((c) => c === 'supportedAttKeyIds').length;
    provider.behave.keyIds = () => {
      throw new Error('must not be asked again');
    };
    expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).errorCode).toBe(0);
    expect(provider.calls.filter((c) => c === 'supportedAttKeyIds').length).toBe(asked);
  });
});

describe('a provider without usable attestation keys', () => {
  let dir: string;
  let daemon: DaemonHandle;
  let provider: ScriptedProvider;
  let sock: string;
  beforeAll(async () => {
    dir = tempDir();
    provider = new ScriptedProvider();
    // Key ids of the wrong size are ignored, so this provider supports nothing until it says otherwise.
    provider.behave.keyIds = () => [Buffer.alloc(ATT_KEY_ID_EXT_SIZE - 1), Buffer.alloc(ATT_KEY_ID_EXT_SIZE + 1)];
    daemon = await startTestDaemon(dir, provider);
    sock = daemon.config.socketPath;
  });
  afterAll(async () => {
    await daemon.shutdown();
    removeDir(dir);
  });

  it('GetSupportedAttKeyIDNum / IDs → 30 (SERVICE_UNAVAILABLE); quote calls → 38 (no key matches)', async () => {
    expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(AesmCode.SERVICE_UNAVAILABLE);
    expect((await call(sock, { kind: 'getSupportedAttKeyIds', bufSize: 0 })).errorCode).toBe(AesmCode.SERVICE_UNAVAILABLE);
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).errorCode).toBe(AesmCode.UNSUPPORTED_ATT_KEY_ID);
    expect((await call(sock, { kind: 'selectAttKeyId' })).errorCode).toBe(AesmCode.UNSUPPORTED_ATT_KEY_ID);
    expect(provider.calls).not.toContain('getQuoteSize');
  });

  it('an empty answer is not cached: once the provider has a key (one valid among bad ones), it is served', async () => {
    provider.behave.keyIds = () => [Buffer.alloc(10), KEY_ID];
    const n = await call(sock, { kind: 'getSupportedAttKeyIdNum' });
    expect(n.errorCode).toBe(0);
    expect(n.attKeyIdNum).toBe(1);
    const ids = await call(sock, { kind: 'getSupportedAttKeyIds', bufSize: ATT_KEY_ID_EXT_SIZE });
    expect(ids.attKeyIds).toEqual(KEY_ID);
    expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).quoteSize).toBe(QUOTE.length);
  });
});
