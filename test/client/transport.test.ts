// Client behaviour on transport failures and protocol details, against a raw AESM-framed server
// (raw-aesm-server.ts) that misbehaves on purpose: never answering, closing, garbage. Everything is
// a real Unix socket. The same methods against the real daemon are in daemon.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AesmCode, type AesmRequest } from '../../src/aesm/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../../src/sgx/index.js';
import { AesmClient, AesmClientError, AesmClientOptionError, resolveSocketPath } from '../../src/client/index.js';
import { startRawServer, type RawServer } from './raw-aesm-server.js';

let dir: string;
let sock: string;
let server: RawServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-client-'));
  sock = join(dir, 'aesm.socket');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function expectClientError(p: Promise<unknown>): Promise<AesmClientError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AesmClientError);
  return err as AesmClientError;
}

const TI = Buffer.alloc(512, 0x11);
const PUB = Buffer.alloc(32, 0x22);
const QUOTE = Buffer.alloc(1100, 0x33);

function happy(req: AesmRequest) {
  switch (req.kind) {
    case 'initQuoteEx':
      return req.bPubKeyId
        ? { kind: req.kind, errorCode: 0, targetInfo: TI, pubKeyIdSize: 32n, pubKeyId: PUB }
        : { kind: req.kind, errorCode: 0, targetInfo: Buffer.alloc(512), pubKeyIdSize: 32n };
    case 'getQuoteSizeEx':
      return { kind: req.kind, errorCode: 0, quoteSize: QUOTE.length };
    case 'getQuoteEx':
      return { kind: req.kind, errorCode: 0, quote: QUOTE };
    case 'getSupportedAttKeyIdNum':
      return { kind: req.kind, errorCode: 0, attKeyIdNum: 1 };
    default:
      return { kind: 'selectAttKeyId' as const, errorCode: AesmCode.UNEXPECTED_ERROR };
  }
}

describe('AesmClient transport', () => {
  it('times out when the daemon accepts but never answers, and does not retry a sent request', async () => {
    server = await startRawServer(sock, { kind: 'never-answer' });
    const client = new AesmClient({ socketPath: sock, timeoutMs: 300, retryDeadlineMs: 2000 });
    const err = await expectClientError(client.getSupportedAttKeyIdNum());
    expect(err.kind).toBe('timeout');
    expect(err.sgxStatus).toBe(0x4002);
    expect(err.sgxStatusName).toBe('SGX_ERROR_SERVICE_TIMEOUT');
    expect(err.quote3Error).toBe(0xe042);
    expect(err.hint).toMatch(/no answer within 300 ms/);
    expect(server.connections).toBe(1);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry when the daemon closes after receiving the request', async () => {
    server = await startRawServer(sock, { kind: 'close' });
    const client = new AesmClient({ socketPath: sock, retryDeadlineMs: 2000 });
    const err = await expectClientError(client.getQuoteSize());
    expect(err.kind).toBe('closed');
    expect(err.sgxStatus).toBe(0x0001);
    expect(err.quote3Error).toBe(0xe001);
    expect(server.connections).toBe(1);
  });

  it('retries while the socket does not exist yet and succeeds once it appears', async () => {
    const client = new AesmClient({ socketPath: sock, retryDeadlineMs: 5000 });
    const pending = client.getSupportedAttKeyIdNum();
    await new Promise((r) => setTimeout(r, 400));
    expect(existsSync(sock)).toBe(false);
    server = await startRawServer(sock, { kind: 'answer', respond: happy });
    await expect(pending).resolves.toBe(1);
    expect(server.connections).toBe(1);
  });

  it('retries through ECONNREFUSED (a stale socket left by a killed daemon) until a new daemon listens', async () => {
    // A child listens on the path and is SIGKILLed, leaving the socket file with nobody behind it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(sock)).toBe(true);

    const quick = new AesmClient({ socketPath: sock, retryDeadlineMs: 0 });
    const refused = await expectClientError(quick.getSupportedAttKeyIdNum());
    expect(refused.kind).toBe('unavailable');
    expect(refused.errno).toBe('ECONNREFUSED');
    expect(refused.hint).toMatch(/nothing is listening/);

    const patient = new AesmClient({ socketPath: sock, retryDeadlineMs: 5000 });
    const pending = patient.getSupportedAttKeyIdNum();
    await new Promise((r) => setTimeout(r, 300));
    rmSync(sock); // what a restarting daemon does before it binds again
    server = await startRawServer(sock, { kind: 'answer', respond: happy });
    await expect(pending).resolves.toBe(1);
  });

  it('gives up after the retry deadline with the "is the quote helper running" hint', async () => {
    const client = new AesmClient({ socketPath: sock, retryDeadlineMs: 200 });
    const err = await expectClientError(client.getTargetInfo());
    expect(err.kind).toBe('unavailable');
    expect(err.errno).toBe('ENOENT');
    expect(err.operation).toBe('initQuoteEx');
    expect(err.sgxStatus).toBe(0x4001);
    expect(err.quote3Error).toBe(0xe040);
    expect(err.quote3ErrorName).toBe('SGX_QL_SERVICE_UNAVAILABLE');
    expect(err.hint).toMatch(/is the quote helper running/);
    expect(err.hint).toMatch(/\/var\/run\/aesmd/);
    expect(err.message).toContain(sock);
  });

  it('reports a frame that is not an AESM response as a protocol error', async () => {
    server = await startRawServer(sock, { kind: 'raw', bytes: Buffer.from([3, 0, 0, 0, 0xff, 0xff, 0xff]) });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getSupportedAttKeyIdNum());
    expect(err.kind).toBe('protocol');
    expect(err.sgxStatus).toBe(0x0001);
  });

  it('reports an answer in the wrong sub-message as a protocol error (Intel would crash)', async () => {
    server = await startRawServer(sock, { kind: 'answer', respond: () => ({ kind: 'getQuoteSizeEx', errorCode: 0, quoteSize: 5 }) });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getSupportedAttKeyIdNum());
    expect(err.kind).toBe('protocol');
    expect(err.message).toMatch(/field 16/);
  });

  it('refuses an absurd length prefix without allocating it', async () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(0xfffffff0);
    server = await startRawServer(sock, { kind: 'raw', bytes: prefix });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getSupportedAttKeyIdNum());
    expect(err.kind).toBe('protocol');
  });
});

describe('AesmClient errors from the daemon', () => {
  it('maps 42 on GetQuoteSizeEx to SGX_ERROR_ATT_KEY_UNINITIALIZED / SGX_QL_ATT_KEY_NOT_INITIALIZED with a hint', async () => {
    server = await startRawServer(sock, {
      kind: 'answer',
      respond: (req) => ({ kind: 'getQuoteSizeEx', errorCode: req.kind === 'getQuoteSizeEx' ? 42 : 1, quoteSize: 0 }),
    });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getQuoteSize());
    expect(err.kind).toBe('aesm');
    expect(err.aesmCode).toBe(42);
    expect(err.aesmName).toBe('AESM_ATT_KEY_NOT_INITIALIZED');
    expect(err.sgxStatus).toBe(0x8003);
    expect(err.quote3Error).toBe(0xe00f);
    expect(err.hint).toMatch(/initQuote/);
    expect(err.describe()).toContain('AESM_ATT_KEY_NOT_INITIALIZED (42)');
  });

  it('maps 47 on GetQuoteEx to SGX_ERROR_MAC_MISMATCH with the "not targeted at the QE" hint', async () => {
    server = await startRawServer(sock, {
      kind: 'answer',
      respond: (req) => (req.kind === 'getQuoteEx' ? { kind: 'getQuoteEx', errorCode: 47 } : happy(req)),
    });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getQuote(Buffer.alloc(432)));
    expect(err.aesmName).toBe('AESM_INVALID_REPORT');
    expect(err.sgxStatus).toBe(0x3001);
    expect(err.quote3Error).toBe(0xe001);
    expect(err.hint).toMatch(/not targeted at the QE/);
  });
});

describe('AesmClient wire sequence', () => {
  it('getTargetInfo + getQuote(report) send what Intel’s DCAP library sends out-of-process (#15 false, #15 true 32, #16, #17)', async () => {
    server = await startRawServer(sock, { kind: 'answer', respond: happy });
    const client = new AesmClient({ socketPath: sock });
    expect((await client.getTargetInfo()).equals(TI)).toBe(true);
    const report = Buffer.alloc(432, 0x44);
    const { quote, qeReportInfo } = await client.getQuote(report);
    expect(quote.equals(QUOTE)).toBe(true);
    expect(qeReportInfo).toBeUndefined();
    expect(server.connections).toBe(4);
    const [a, b, c, d] = server.requests;
    expect(a).toMatchObject({ kind: 'initQuoteEx', bPubKeyId: false });
    expect(a?.kind === 'initQuoteEx' && a.attKeyId?.equals(DEFAULT_ECDSA_P256_ATT_KEY_ID)).toBe(true);
    expect(b).toMatchObject({ kind: 'initQuoteEx', bPubKeyId: true, bufSize: 32n });
    expect(c).toMatchObject({ kind: 'getQuoteSizeEx' });
    expect(d).toMatchObject({ kind: 'getQuoteEx', bufSize: QUOTE.length });
    expect(d?.kind === 'getQuoteEx' && d.report.equals(report) && d.qeReportInfo === undefined).toBe(true);
  });

  it('rejects a wrong-sized report before sending anything', async () => {
    server = await startRawServer(sock, { kind: 'answer', respond: happy });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).getQuote(Buffer.alloc(431), { quoteSize: 2000 }));
    expect(err.kind).toBe('invalid-argument');
    expect(err.sgxStatus).toBe(0x0002);
    expect(server.connections).toBe(0);
  });

  it('rejects a pub_key_id answer that does not match pub_key_id_size', async () => {
    server = await startRawServer(sock, {
      kind: 'answer',
      respond: () => ({ kind: 'initQuoteEx', errorCode: 0, targetInfo: TI, pubKeyIdSize: 32n, pubKeyId: Buffer.alloc(31) }),
    });
    const err = await expectClientError(new AesmClient({ socketPath: sock }).initQuote());
    expect(err.kind).toBe('protocol');
  });
});

describe('socket path and options', () => {
  it('takes the option, then SQH_SOCKET, then /var/run/aesmd/aesm.socket; SGX_AESM_ADDR never changes it', () => {
    expect(resolveSocketPath('/x.sock', { SQH_SOCKET: '/y.sock' })).toBe('/x.sock');
    expect(resolveSocketPath(undefined, { SQH_SOCKET: '/y.sock', SGX_AESM_ADDR: '/z.sock' })).toBe('/y.sock');
    expect(resolveSocketPath(undefined, { SGX_AESM_ADDR: '/z.sock' })).toBe('/var/run/aesmd/aesm.socket');
    expect(new AesmClient({ env: { SQH_SOCKET: '/y.sock' } }).socketPath).toBe('/y.sock');
  });

  it('rejects a bad timeout with a typed error', () => {
    expect(() => new AesmClient({ timeoutMs: -1 })).toThrow(AesmClientOptionError);
    expect(() => new AesmClient({ retryDeadlineMs: 1.5 })).toThrow(/retryDeadlineMs/);
  });
});
