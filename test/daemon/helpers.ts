// Shared test helpers for the daemon: a test-double QuoteProvider (stands in for SGX hardware, an
// external boundary), a raw-frame AESM client over a real Unix socket, and an in-process daemon.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { AesmCode, AesmError, encodeFrame, encodeRequest, decodeResponse, type AesmRequest, type AesmResponse } from '../../src/aesm/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID, QeReportInfoOffsets, QE_REPORT_INFO_SIZE, TARGET_INFO_SIZE } from '../../src/sgx/index.js';
import type { ProviderHealth, QuoteProvider } from '../../src/providers/provider.js';
import { resolveConfig, startDaemon, type DaemonConfig, type DaemonHandle, type RawConfig } from '../../src/daemon/index.js';

export const KEY_ID = DEFAULT_ECDSA_P256_ATT_KEY_ID;
export const QE_TARGET_INFO = Buffer.alloc(TARGET_INFO_SIZE, 0x5a);
export const PUB_KEY_ID = Buffer.alloc(32, 0x33);
export const FAKE_QUOTE_SIZE = 1500;

export interface FakeProviderOptions {
  /** Delay for getQuote, to model a slow provider. */
  getQuoteDelayMs?: number;
  /** A promise getQuote waits on (lets a test hold a call open as long as it wants). */
  gate?: Promise<void>;
  maxConcurrency?: number;
  keyIds?: Buffer[];
  /** Return AESM 42 from getQuote until initQuote is called again (key rotation). */
  requireInitAfterRotation?: boolean;
  ready?: boolean;
}

/**
 * TEST DOUBLE standing in for quoting hardware. Its "quote" is a deterministic byte pattern, not
 * a real SGX quote; the end-to-end tests use the sim provider for real quotes.
 */
export class FakeProvider implements QuoteProvider {
  readonly name = 'fake';
  readonly simulated = true;
  readonly maxConcurrency: number;
  calls: string[] = [];
  active = 0;
  maxActive = 0;
  keyInitialised = true;
  closed = false;

  constructor(private readonly opts: FakeProviderOptions = {}) {
    this.maxConcurrency = opts.maxConcurrency ?? 1;
  }

  rotateKey(): void {
    this.keyInitialised = false;
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    this.calls.push('supportedAttKeyIds');
    return this.opts.keyIds ?? [KEY_ID];
  }

  async initQuote(): Promise<{ targetInfo: Buffer; pubKeyId: Buffer }> {
    this.calls.push('initQuote');
    this.keyInitialised = true;
    return { targetInfo: QE_TARGET_INFO, pubKeyId: PUB_KEY_ID };
  }

  async getQuoteSize(): Promise<number> {
    this.calls.push('getQuoteSize');
    if (this.opts.requireInitAfterRotation && !this.keyInitialised) throw new AesmError(AesmCode.ATT_KEY_NOT_INITIALIZED);
    return FAKE_QUOTE_SIZE;
  }

  async getQuote(req: { report: Buffer; attKeyId: Buffer; qeReportInfo?: Buffer }): Promise<{ quote: Buffer; qeReportInfo?: Buffer }> {
    this.calls.push('getQuote');
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.opts.getQuoteDelayMs) await new Promise((r) => setTimeout(r, this.opts.getQuoteDelayMs));
      if (this.opts.gate) await this.opts.gate;
      if (this.opts.requireInitAfterRotation && !this.keyInitialised) throw new AesmError(AesmCode.ATT_KEY_NOT_INITIALIZED);
      const quote = fakeQuote(req.report);
      if (!req.qeReportInfo) return { quote };
      const qri = Buffer.from(req.qeReportInfo);
      qri.fill(0x71, QeReportInfoOffsets.qeReport, QE_REPORT_INFO_SIZE);
      return { quote, qeReportInfo: qri };
    } finally {
      this.active--;
    }
  }

  async health(): Promise<ProviderHealth> {
    return this.opts.ready === false ? { ready: false, reason: 'fake not ready' } : { ready: true, fmspc: '00906ED50000', tcbStatus: 'UpToDate' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The fake quote: a pattern that starts with the report's first 16 bytes, FAKE_QUOTE_SIZE long. */
export function fakeQuote(report: Buffer): Buffer {
  const q = Buffer.alloc(FAKE_QUOTE_SIZE, 0xab);
  report.copy(q, 0, 0, 16);
  return q;
}

export function tempDir(prefix = 'sqh-d-'): string {
  // Short base so socket paths stay well below the AF_UNIX limit.
  return mkdtempSync(path.join('/tmp', prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const silentLogger = pino({ level: 'silent' });

export function testConfig(dir: string, overrides: RawConfig = {}): DaemonConfig {
  return resolveConfig({
    env: {},
    flags: { socket: path.join(dir, 'aesm.socket'), stateDir: path.join(dir, 'state'), opsListen: '127.0.0.1:0', provider: 'sim', ...overrides },
  });
}

export async function startTestDaemon(dir: string, provider: QuoteProvider, overrides: RawConfig = {}): Promise<DaemonHandle> {
  return startDaemon(testConfig(dir, overrides), provider, { logger: silentLogger });
}

export interface RawResult {
  /** Everything the daemon sent before closing. */
  bytes: Buffer;
  /** The frame body, if a complete frame arrived. */
  body?: Buffer;
  /** True when the connection closed without any byte from the daemon. */
  closedWithoutReply: boolean;
  error?: string;
}

/** Send raw bytes on a fresh connection and collect everything until the daemon closes. */
export function rawExchange(socketPath: string, data: Buffer | Buffer[], opts: { endAfterWrite?: boolean; timeoutMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(socketPath);
    let error: string | undefined;
    const timer = setTimeout(() => sock.destroy(new Error('test timeout')), opts.timeoutMs ?? 10_000);
    sock.on('connect', () => {
      for (const d of Array.isArray(data) ? data : [data]) sock.write(d);
      if (opts.endAfterWrite) sock.end();
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      const res: RawResult = { bytes, closedWithoutReply: bytes.length === 0 };
      if (bytes.length >= 4 && bytes.length >= 4 + bytes.readUInt32LE(0)) res.body = bytes.subarray(4, 4 + bytes.readUInt32LE(0));
      if (error) res.error = error;
      resolve(res);
    });
  });
}

/** Encode like Intel's client (timeout field 15000), send, decode the answer in the request's field. */
export async function call<K extends Exclude<AesmRequest['kind'], 'legacy'>>(socketPath: string, req: AesmRequest & { kind: K }): Promise<Extract<AesmResponse, { kind: K }> & { raw: Buffer }> {
  const r = await rawExchange(socketPath, encodeFrame(encodeRequest(req, { timeoutMs: 15000 })));
  if (!r.body) throw new Error(`no response (${r.bytes.length} bytes, ${r.error ?? 'closed'})`);
  // Exactly one frame, nothing after it.
  if (r.bytes.length !== 4 + r.body.length) throw new Error('trailing bytes after the response frame');
  return Object.assign(decodeResponse(r.body, req.kind) as Extract<AesmResponse, { kind: K }>, { raw: r.body });
}

export function openFdCount(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** GET on the ops server over a fresh connection (no keep-alive pool, so fd counts stay comparable). */
export function scrape(address: string, route = '/metrics'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${address}${route}`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

/** Value of one Prometheus sample, e.g. metric('sqh_aesm_frames_rejected_total', {reason:'empty'}). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}
