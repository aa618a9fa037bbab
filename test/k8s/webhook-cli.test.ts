// `sgx-quote-helper webhook serve` as a real process: flags, errors, serving, clean shutdown.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServingCert, type TestCert } from './support/certs.js';
import { httpsRequest } from './support/https-client.js';

const ENTRY = 'src/cli/main.ts';
let dir: string;
let cert: TestCert;

function run(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ENTRY, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, _stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-whcli-'));
  cert = await makeServingCert();
  writeFileSync(join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webhook serve (CLI)', () => {
  it('usage errors exit 2 with one line and no stack trace', async () => {
    const [missing, badListen, noFile, wrongKey] = await Promise.all([
      run('webhook', 'serve', '--tls-key', join(dir, 'tls.key')),
      run('webhook', 'serve', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--listen', '9443'),
      run('webhook', 'serve', '--tls-cert', join(dir, 'nope.crt'), '--tls-key', join(dir, 'tls.key')),
      run('webhook', 'serve', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.crt')),
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--tls-cert/);
    expect(badListen.status).toBe(2);
    expect(badListen.stderr).toMatch(/--listen: "9443" is not HOST:PORT/);
    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read TLS certificate .*nope\.crt \(ENOENT\)/);
    expect(wrongKey.status).toBe(2);
    expect(wrongKey.stderr).toMatch(/not a PEM or DER private key/);
    for (const r of [missing, badListen, noFile, wrongKey]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('serves /healthz and /mutate over HTTPS and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', ENTRY, 'webhook', 'serve', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /"url":"(https:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    expect((await httpsRequest(`${url}/healthz`, { ca: cert.certPem })).json).toEqual({ status: 'ok' });
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, object: { metadata: {} } } };
    const res = await httpsRequest(`${url}/mutate`, { method: 'POST', body: JSON.stringify(review), ca: cert.certPem });
    expect(res.json).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).not.toMatch(/PRIVATE KEY/);
  });
});
