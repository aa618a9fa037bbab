// Certificate rotation: the webhook re-reads its certificate and key from disk (as a Kubernetes Secret
// volume or cert-manager updates them) and serves the new pair without a restart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '../../src/k8s/index.js';
import { makeServingCert, type TestCert } from './support/certs.js';
import { httpsRequest, peerCertificate } from './support/https-client.js';

let dir: string;
let server: WebhookServer;
let first: TestCert;

const certPath = () => join(dir, 'tls.crt');
const keyPath = () => join(dir, 'tls.key');

function install(cert: TestCert, parts: 'both' | 'cert' | 'key' = 'both'): void {
  if (parts !== 'key') writeFileSync(certPath(), cert.certPem);
  if (parts !== 'cert') writeFileSync(keyPath(), cert.keyPem, { mode: 0o600 });
}

async function servedSerial(): Promise<string> {
  return (await peerCertificate('127.0.0.1', server.port)).serialNumber.toLowerCase().replace(/^0+/, '');
}

/** Wait (bounded) for the poller to pick up a change; the assertion is on what is served, not on time. */
async function waitForSerial(serial: string): Promise<string> {
  let seen = '';
  for (let i = 0; i < 100; i++) {
    seen = await servedSerial();
    if (seen === serial) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

async function metric(name: string): Promise<string> {
  return (await server.metrics.registry.getSingleMetricAsString(name)) ?? '';
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-tls-'));
  first = await makeServingCert();
  install(first);
  server = await startWebhookServer({
    certPath: certPath(),
    keyPath: keyPath(),
    listen: { host: '127.0.0.1', port: 0 },
    tlsReloadIntervalMs: 50,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webhook TLS reload', () => {
  it('serves a rotated certificate after the files change, without a restart', async () => {
    expect(await servedSerial()).toBe(first.serialNumber);
    const second = await makeServingCert();
    install(second);
    expect(await waitForSerial(second.serialNumber)).toBe(second.serialNumber);
    // A client that trusts only the new CA now succeeds; one that trusts only the old CA fails.
    expect((await httpsRequest(`${server.url}/healthz`, { ca: second.certPem })).status).toBe(200);
    await expect(httpsRequest(`${server.url}/healthz`, { ca: first.certPem })).rejects.toThrow();
    expect(await metric('sqh_webhook_tls_reloads_total')).toMatch(/result="ok"} 1/);
  });

  it('keeps the current pair while the new certificate and key do not match, then applies the pair', async () => {
    const current = await servedSerial();
    const third = await makeServingCert();
    install(third, 'cert'); // half-written rotation: new cert, old key
    expect(server.reloadTls()).toBe(false);
    expect(await servedSerial()).toBe(current);
    expect(await metric('sqh_webhook_tls_reloads_total')).toMatch(/result="error"} 1/);
    install(third, 'key');
    expect(await waitForSerial(third.serialNumber)).toBe(third.serialNumber);
  });

  it('keeps serving when the files vanish or hold garbage', async () => {
    const current = await servedSerial();
    writeFileSync(certPath(), 'not a certificate');
    expect(server.reloadTls()).toBe(false);
    rmSync(keyPath());
    expect(server.reloadTls()).toBe(false);
    expect(await servedSerial()).toBe(current);
    expect(server.tls.fingerprint).toMatch(/^[0-9A-F:]+$/);
  });
});
