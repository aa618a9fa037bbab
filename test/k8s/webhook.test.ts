// The admission webhook over real HTTPS on loopback, driven the way the API server drives it:
// AdmissionReview v1 in, AdmissionReview v1 out, the JSONPatch applied with fast-json-patch and the
// resulting pod validated with kubernetes-models.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '../../src/k8s/index.js';
import { makeServingCert } from './support/certs.js';
import { httpsRequest } from './support/https-client.js';
import { objectProblems, schemaProblem } from './support/manifest-checks.js';
import {
  admissionReview,
  appWithPlainSidecarPod,
  azureDocumentedPod,
  barePod,
  intelAesmdSidecarPod,
  intelStylePod,
  nativeSidecarPod,
  notOptedInSgxPod,
  ourAnnotationAzurePod,
  podWithNothing,
  type Pod,
} from './fixtures/pods.js';

const { applyPatch, deepClone } = fastJsonPatch;

let dir: string;
let server: WebhookServer;
let ca: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-webhook-'));
  const cert = await makeServingCert();
  ca = cert.certPem;
  writeFileSync(join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
  server = await startWebhookServer({
    certPath: join(dir, 'tls.crt'),
    keyPath: join(dir, 'tls.key'),
    listen: { host: '127.0.0.1', port: 0 },
    opsListen: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  review: any;
  patch: any[] | undefined;
}

async function admit(pod: Pod, overrides: Record<string, unknown> = {}): Promise<Answer & { sent: any }> {
  const sent = admissionReview(pod, overrides);
  const res = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: JSON.stringify(sent), ca });
  const review = res.json as any;
  const b64 = review?.response?.patch;
  return {
    status: res.status,
    review,
    sent,
    patch: b64 === undefined ? undefined : JSON.parse(Buffer.from(b64, 'base64').toString('utf8')),
  };
}

function patched(pod: Pod, patch: any[] | undefined): Pod {
  return patch ? applyPatch(deepClone(pod), patch, true, false).newDocument : pod;
}

/** The patched pod must still be a valid Pod for the API server's schema and our semantic rules. */
function expectValidPod(pod: Pod): void {
  expect(schemaProblem(pod)).toBeUndefined();
  expect(objectProblems(pod)).toEqual([]);
}

function envOf(c: any): Record<string, unknown> {
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
}

describe('webhook: AdmissionReview envelope', () => {
  it('echoes the uid with apiVersion/kind admission.k8s.io/v1 AdmissionReview', async () => {
    const a = await admit(intelStylePod());
    expect(a.status).toBe(200);
    expect(a.review.apiVersion).toBe('admission.k8s.io/v1');
    expect(a.review.kind).toBe('AdmissionReview');
    expect(a.review.response.uid).toBe(a.sent.request.uid);
  });

  it('answers a malformed review with HTTP 400 and a reason, and counts it', async () => {
    const bad = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}', ca });
    expect(bad.status).toBe(400);
    expect((bad.json as any).error).toBe('WRONG_API_VERSION');
    const garbage = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: '{not json', ca });
    expect(garbage.status).toBe(400);
    expect((garbage.json as any).error).toBe('INVALID_JSON');
    const noUid = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}', ca });
    expect((noUid.json as any).error).toBe('MISSING_UID');
    const metrics = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/sqh_webhook_bad_requests_total\{code="INVALID_JSON"\} 1/);
  });

  it('leaves anything but a pod CREATE alone', async () => {
    const update = await admit(intelStylePod(), { operation: 'UPDATE' });
    expect(update.review.response).toEqual({ uid: update.sent.request.uid, allowed: true });
    const cm = await admit({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, {
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    expect(cm.review.response.allowed).toBe(true);
    expect(cm.patch).toBeUndefined();
  });
});

describe('webhook: pods that opt in', () => {
  it("Intel's convention: env, mount and hostPath volume appended to existing lists", async () => {
    const pod = intelStylePod();
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(true);
    expect(a.review.response.patchType).toBe('JSONPatch');
    const out = patched(pod, a.patch);
    expectValidPod(out);
    const app = out.spec.containers[0];
    expect(envOf(app)).toEqual({ LOG_LEVEL: 'debug', SGX_AESM_ADDR: '1' });
    expect(app.volumeMounts).toEqual([
      { name: 'data', mountPath: '/data' },
      { name: 'aesmd-socket', mountPath: '/var/run/aesmd', readOnly: true },
    ]);
    expect(out.spec.volumes).toContainEqual({ name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'DirectoryOrCreate' } });
    // The existing lists were appended to, not replaced.
    expect(a.patch!.map((o) => o.path)).toContain('/spec/containers/0/env/-');
    expect(out.metadata.annotations['sgx-quote-helper.io/injected']).toBe('true');
    // Key with a slash reached through a JSON pointer escaped as ~1.
    expect(a.patch!.map((o) => o.path)).toContain('/metadata/annotations/sgx-quote-helper.io~1injected');
    // Resources are not touched.
    expect(app.resources).toEqual(pod.spec.containers[0].resources);
  });

  it('our annotation with Azure legacy EPC resource; SGX_AESM_ADDR is the string "1"', async () => {
    const pod = ourAnnotationAzurePod();
    const a = await admit(pod);
    const out = patched(pod, a.patch);
    expectValidPod(out);
    const env = out.spec.containers[0].env;
    expect(env).toEqual([{ name: 'SGX_AESM_ADDR', value: '1' }]);
    expect(typeof env[0].value).toBe('string');
  });

  it('sidecar without SGX resources is left alone; inject-all reaches it too', async () => {
    const pod = appWithPlainSidecarPod();
    const out = patched(pod, (await admit(pod)).patch);
    expectValidPod(out);
    const [shipper, app] = out.spec.containers;
    expect(envOf(shipper)).toEqual({ TARGET: 'stdout' });
    expect(shipper.volumeMounts).toBeUndefined();
    expect(envOf(app)).toEqual({ SGX_AESM_ADDR: '1' });

    const all = appWithPlainSidecarPod(true);
    const outAll = patched(all, (await admit(all)).patch);
    expectValidPod(outAll);
    for (const c of outAll.spec.containers) {
      expect(envOf(c).SGX_AESM_ADDR).toBe('1');
      expect(c.volumeMounts).toContainEqual({ name: 'aesmd-socket', mountPath: '/var/run/aesmd', readOnly: true });
    }
    expect(outAll.spec.volumes).toHaveLength(1);
  });

  it("Intel's sidecar layout (a container named aesmd): in-memory emptyDir, provision allowed for aesmd", async () => {
    const pod = intelAesmdSidecarPod();
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(true);
    const out = patched(pod, a.patch);
    expectValidPod(out);
    expect(out.spec.volumes).toEqual([{ name: 'aesmd-socket', emptyDir: { medium: 'Memory' } }]);
    for (const c of out.spec.containers) {
      expect(envOf(c).SGX_AESM_ADDR).toBe('1');
      // The aesmd sidecar creates the socket, so only its mount is writable.
      const m = (c.volumeMounts ?? []).find((v: { mountPath: string }) => v.mountPath === '/var/run/aesmd');
      if (m) expect(!!m.readOnly, c.name).toBe(c.name !== 'aesmd');
    }
  });

  it('pod with no env, no volumeMounts, no volumes: parents are created first', async () => {
    const pod = barePod();
    const a = await admit(pod);
    expect(a.patch!.map((o) => o.path)).toEqual([
      '/spec/containers/0/env',
      '/spec/containers/0/volumeMounts',
      '/spec/volumes',
      '/metadata/annotations/sgx-quote-helper.io~1injected',
    ]);
    const out = patched(pod, a.patch);
    expectValidPod(out);
    expect(out.spec.volumes).toHaveLength(1);
  });

  it('native sidecar (init container with SGX resources) is injected', async () => {
    const pod = nativeSidecarPod();
    const out = patched(pod, (await admit(pod)).patch);
    expectValidPod(out);
    expect(envOf(out.spec.initContainers[0]).SGX_AESM_ADDR).toBe('1');
    expect(out.spec.containers[0].env).toBeUndefined();
  });

  it('reinvocation: an already mutated pod gets no patch at all', async () => {
    for (const make of [intelStylePod, ourAnnotationAzurePod, barePod, intelAesmdSidecarPod, () => appWithPlainSidecarPod(true)]) {
      const pod = make();
      const once = patched(pod, (await admit(pod)).patch);
      const again = await admit(once);
      expect(again.review.response.allowed).toBe(true);
      expect(again.review.response.patch).toBeUndefined();
      expect(again.review.response.patchType).toBeUndefined();
    }
  });

  it("Azure's documented hand-written contract is already complete: nothing duplicated", async () => {
    const pod = azureDocumentedPod();
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(true);
    expect(a.patch).toBeUndefined();
  });

  it('opting in without any SGX container admits unchanged, with a warning that says what to do', async () => {
    const pod = podWithNothing();
    pod.metadata.annotations = { 'sgx-quote-helper.io/inject': 'true' };
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(true);
    expect(a.patch).toBeUndefined();
    expect(a.review.response.warnings[0]).toMatch(/inject-all/);
  });
});

describe('webhook: pods that do not opt in', () => {
  it('no annotations, env, volumes at all: allowed untouched', async () => {
    const a = await admit(podWithNothing());
    expect(a.review.response).toEqual({ uid: a.sent.request.uid, allowed: true });
  });

  it('SGX resources without the opt-in annotation: untouched', async () => {
    const a = await admit(notOptedInSgxPod());
    expect(a.review.response).toEqual({ uid: a.sent.request.uid, allowed: true });
  });

  it('inject: "false" is respected; a typo is reported as a warning', async () => {
    const off = barePod();
    off.metadata.annotations['sgx-quote-helper.io/inject'] = 'false';
    expect((await admit(off)).review.response).toEqual(expect.objectContaining({ allowed: true }));
    const typo = barePod();
    typo.metadata.annotations['sgx-quote-helper.io/inject'] = 'yes';
    const a = await admit(typo);
    expect(a.patch).toBeUndefined();
    expect(a.review.response.warnings[0]).toMatch(/neither "true" nor "false"/);
  });
});

describe('webhook: denials with a fix', () => {
  it('out-of-process opt-in plus in-process provisioning in an app container', async () => {
    const pod = ourAnnotationAzurePod();
    pod.spec.containers[0].resources = {
      limits: { 'sgx.intel.com/epc': '1Mi', 'sgx.intel.com/provision': '1' },
      requests: { 'sgx.intel.com/epc': '1Mi', 'sgx.intel.com/provision': '1' },
    };
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(false);
    expect(a.review.response.status.code).toBe(403);
    expect(a.review.response.status.message).toMatch(/container "oe-attest" requests sgx\.intel\.com\/provision/);
    expect(a.review.response.status.message).toMatch(/remove sgx\.intel\.com\/provision/);
    expect(a.review.response.patch).toBeUndefined();
  });

  it("our annotation together with Intel's in-process quote-provider value", async () => {
    const pod = barePod();
    pod.metadata.annotations['sgx.intel.com/quote-provider'] = 'app';
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(false);
    expect(a.review.response.status.message).toMatch(/remove one of the two annotations/);
  });

  it.each([
    ['non-integer enclave count', { 'sgx.intel.com/enclave': '0.5' }, { 'sgx.intel.com/enclave': '0.5' }, /not a whole number/],
    ['milli-units', { 'sgx.intel.com/epc': '100m' }, { 'sgx.intel.com/epc': '100m' }, /not a whole number/],
    ['requests differ from limits', { 'sgx.intel.com/epc': '1Mi' }, { 'sgx.intel.com/epc': '512Ki' }, /differ from limits/],
    ['request without a limit', {}, { 'sgx.intel.com/epc': '1Mi' }, /set limits\.sgx\.intel\.com\/epc equal/],
    ['not a quantity', { 'sgx.intel.com/epc': 'lots' }, { 'sgx.intel.com/epc': 'lots' }, /not a valid Kubernetes quantity/],
  ])('%s', async (_name, limits, requests, message) => {
    const pod = barePod();
    pod.spec.containers[0].resources = { limits, requests };
    const a = await admit(pod);
    expect(a.review.response.allowed).toBe(false);
    expect(a.review.response.status.message).toMatch(message);
    expect(a.review.response.status.message).toMatch(/container "app"/);
  });

  it('equal values written differently are fine (1Mi == 1048576, 1.5Ki is whole bytes)', async () => {
    const pod = barePod();
    pod.spec.containers[0].resources = { limits: { 'sgx.intel.com/epc': '1Mi' }, requests: { 'sgx.intel.com/epc': '1048576' } };
    expect((await admit(pod)).review.response.allowed).toBe(true);
    const half = barePod();
    half.spec.containers[0].resources = { limits: { 'sgx.intel.com/epc': '1.5Ki' } };
    expect((await admit(half)).review.response.allowed).toBe(true);
  });

  it('counts outcomes in /metrics and answers /healthz on both listeners', async () => {
    const body = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(body).toMatch(/sqh_webhook_admission_reviews_total\{outcome="denied"\} [1-9]/);
    expect(body).toMatch(/sqh_webhook_admission_reviews_total\{outcome="patched"\} [1-9]/);
    expect((await httpsRequest(`${server.url}/healthz`, { ca })).json).toEqual({ status: 'ok' });
    expect((await fetch(`${server.opsUrl}/readyz`)).status).toBe(200);
  });
});
