import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { http } from '../node-http.js';
import { PcsError } from './errors.js';

/**
 * One HTTP(S) GET with every input bounded, for the collateral client: a whole-request deadline, a cap
 * on the bytes on the wire and a separate cap on the bytes after Content-Encoding (a small gzip body
 * can inflate a thousandfold), the stream aborted the moment either cap is passed. Redirects are not
 * followed here; the caller decides (see pcs-client.ts).
 */

export interface HttpClientLimits {
  /** Whole request, connect to last body byte; default 30 s. */
  timeoutMs: number;
  /** Body bytes as received (compressed); default 8 MiB. */
  maxBodyBytes: number;
  /** Body bytes after gzip/deflate/br decoding; default 16 MiB. */
  maxDecodedBodyBytes: number;
}

export const DEFAULT_HTTP_CLIENT_LIMITS: HttpClientLimits = {
  timeoutMs: 30_000,
  maxBodyBytes: 8 * 1024 * 1024,
  maxDecodedBodyBytes: 16 * 1024 * 1024,
};

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** A URL safe to show to anyone: origin and path, never the query (Azure and PCCS keys can sit there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null | undefined {
  switch (encoding) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
  }
  return h;
}

export function boundedGet(target: string, headers: Record<string, string>, limits: HttpClientLimits): Promise<RawAnswer> {
  const shown = displayUrl(target);
  return new Promise<RawAnswer>((resolve, reject) => {
    const u = new URL(target);
    const mod = u.protocol === 'https:' ? https : http;
    let settled = false;
    let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null = null;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (e: PcsError) =>
      settle(() => {
        req.destroy();
        decoder?.destroy();
        reject(e);
      });
    const tooLarge = (what: string, cap: number) =>
      fail(new PcsError('BAD_RESPONSE', `${shown}: answer body is larger than ${cap} bytes ${what}; aborted`, { url: target }));
    const timer = setTimeout(
      () => fail(new PcsError('TIMEOUT', `no complete answer from ${shown} within ${limits.timeoutMs} ms`, { url: target })),
      limits.timeoutMs,
    );
    const req = mod.request(u, { method: 'GET', headers: { 'accept-encoding': 'gzip, deflate, br', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBodyBytes) return tooLarge('on the wire (Content-Length)', limits.maxBodyBytes);
      const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
      const d = decoderFor(encoding);
      if (d === undefined) {
        return fail(new PcsError('BAD_RESPONSE', `${shown}: unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 40))}`, { url: target }));
      }
      decoder = d;
      let wire = 0;
      let decoded = 0;
      const chunks: Buffer[] = [];
      const onDecoded = (c: Buffer) => {
        if (settled) return;
        decoded += c.length;
        if (decoded > limits.maxDecodedBodyBytes) return tooLarge(`after ${encoding || 'no'} decoding`, limits.maxDecodedBodyBytes);
        chunks.push(c);
      };
      const finish = () =>
        settle(() => {
          let h: Headers;
          try {
            h = toHeaders(res.headers);
          } catch {
            reject(new PcsError('BAD_RESPONSE', `${shown}: answer carries malformed headers`, { url: target }));
            return;
          }
          resolve({ status, headers: h, body: Buffer.concat(chunks) });
        });
      res.on('data', (c: Buffer) => {
        if (settled) return;
        wire += c.length;
        if (wire > limits.maxBodyBytes) return tooLarge('on the wire', limits.maxBodyBytes);
        if (decoder) decoder.write(c);
        else onDecoded(c);
      });
      let ended = false;
      const lost = () => fail(new PcsError('NETWORK', `${shown}: connection lost while reading the answer`, { url: target }));
      res.on('end', () => {
        ended = true;
        if (decoder) decoder.end();
        else finish();
      });
      res.on('error', lost);
      res.on('close', () => {
        if (!ended) lost();
      });
      if (decoder) {
        decoder.on('data', onDecoded);
        decoder.on('end', finish);
        decoder.on('error', (e) => fail(new PcsError('BAD_RESPONSE', `${shown}: body is not valid ${encoding} (${e.message})`, { url: target })));
      }
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      fail(new PcsError('NETWORK', `cannot reach ${shown}: ${e.code ?? e.message}`, { url: target, cause: e })),
    );
    req.end();
  });
}

/** Read a fetch Response body with the decoded-bytes cap (an injected fetch hides the wire bytes). */
export async function boundedBody(res: Response, target: string, maxBytes: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PcsError('BAD_RESPONSE', `${displayUrl(target)}: answer body is larger than ${maxBytes} bytes; aborted`, { url: target });
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
