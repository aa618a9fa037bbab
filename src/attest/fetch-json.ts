import { request as httpsRequest } from 'node:https';
import { http } from '../node-http.js';

export interface GetJsonOptions {
  /** extra CA certificates (PEM) for an HTTPS issuer with a private CA */
  ca?: string | Buffer;
  timeoutMs?: number;
  maxBytes?: number;
}

/** GET a small JSON document with a deadline and a size cap (an issuer's answer is input too). */
export function getJson(url: string, o: GetJsonOptions = {}): Promise<unknown> {
  const u = new URL(url);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxBytes = o.maxBytes ?? 1024 * 1024;
  const req = u.protocol === 'https:' ? httpsRequest : u.protocol === 'http:' ? http.request : undefined;
  if (!req) return Promise.reject(new Error(`${url}: only http and https URLs are supported`));
  return new Promise((resolve, reject) => {
    const r = req(u, { method: 'GET', headers: { accept: 'application/json' }, ...(o.ca ? { ca: o.ca } : {}), timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          r.destroy(new Error(`${url}: answer larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error(`${url}: answer is not JSON`));
        }
      });
      res.on('error', reject);
    });
    const deadline = setTimeout(() => r.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    r.on('close', () => clearTimeout(deadline));
    r.on('timeout', () => r.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end();
  });
}
