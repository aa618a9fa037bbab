import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimPlatform, type SimCollateral, type SimEnclaveIdentity } from '../../src/providers/sim/index.js';
import { makeServingCert } from '../k8s/support/certs.js';
import { APP } from '../verify/sim-fixtures.js';

/**
 * A simulated platform (the only SGX platform this machine has), quotes whose report data binds given
 * runtime data as MAA requires (SHA-256 in bytes 0..31), and a real serving certificate for loopback HTTPS.
 */
export { APP };

export interface SimWorld {
  dir: string;
  platform: SimPlatform;
  collateral: SimCollateral;
  rootPem: string;
  tlsCert: string;
  tlsKey: string;
  tlsCertPem: string;
  cleanup(): void;
}

export async function simWorld(prefix = 'sqh-attest-'): Promise<SimWorld> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const platform = await SimPlatform.init({ stateDir: join(dir, 'sim') });
  const collateral = await platform.collateral();
  const cert = await makeServingCert('attest.test');
  const tlsCert = join(dir, 'tls.crt');
  const tlsKey = join(dir, 'tls.key');
  writeFileSync(tlsCert, cert.certPem);
  writeFileSync(tlsKey, cert.keyPem, { mode: 0o600 });
  return {
    dir, platform, collateral, rootPem: platform.rootCertPem, tlsCert, tlsKey, tlsCertPem: cert.certPem,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Report data as MAA binds it: SHA-256(runtime data) then 32 zero bytes. */
export function bindingReportData(runtime: Buffer): Buffer {
  return Buffer.concat([createHash('sha256').update(runtime).digest(), Buffer.alloc(32)]);
}

export function simQuoteFor(platform: SimPlatform, runtime: Buffer | undefined, app: SimEnclaveIdentity = APP): Buffer {
  const reportData = runtime ? bindingReportData(runtime) : Buffer.alloc(64);
  const report = platform.ereport({ ...app, targetInfo: platform.qeTargetInfo(), reportData });
  return platform.quotingEnclave().quote(report).quote;
}

export interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One real HTTP(S) request (HTTPS trusting exactly `ca`), for what Microsoft's client cannot send. */
export async function raw(url: string, o: { method?: string; body?: string | Buffer; contentType?: string; ca?: string } = {}): Promise<RawResult> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: o.method ?? 'GET',
      ...(o.ca ? { ca: o.ca } : {}),
      agent: false,
      headers: o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export function decodePart(token: string, i: 0 | 1): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8'));
}
