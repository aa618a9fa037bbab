// The validators the chart tests rely on must catch what they claim to catch; otherwise a green chart
// test proves nothing.
import { describe, expect, it } from 'vitest';
import { validateRelease, type K8sObject } from './support/manifest-checks.js';

function goodDaemonSet(): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'qh', namespace: 'ns', labels: { 'app.kubernetes.io/name': 'qh' } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'qh' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'qh' } },
        spec: {
          containers: [
            {
              name: 'qh',
              image: 'qh:1',
              env: [{ name: 'SGX_AESM_ADDR', value: '1' }],
              ports: [{ name: 'ops', containerPort: 9464 }],
              livenessProbe: { httpGet: { path: '/healthz', port: 'ops' } },
              resources: { limits: { 'sgx.intel.com/epc': '1Mi' }, requests: { 'sgx.intel.com/epc': '1Mi' } },
              volumeMounts: [{ name: 'sock', mountPath: '/var/run/aesmd' }],
            },
          ],
          volumes: [{ name: 'sock', hostPath: { path: '/var/run/aesmd', type: 'DirectoryOrCreate' } }],
        },
      },
    },
  };
}

function problemsAfter(mutate: (ds: K8sObject) => void): string[] {
  const ds = goodDaemonSet();
  mutate(ds);
  return validateRelease([ds]);
}

describe('manifest checks', () => {
  it('accept a correct DaemonSet', () => {
    expect(validateRelease([goodDaemonSet()])).toEqual([]);
  });

  it.each<[string, (ds: K8sObject) => void, RegExp]>([
    ['env value as a number (the Azure doc bug)', (ds) => (ds.spec.template.spec.containers[0].env[0].value = 1), /must be string|not a string/],
    ['selector not matching the template', (ds) => (ds.spec.selector.matchLabels = { app: 'other' }), /selector does not match/],
    ['uppercase name', (ds) => (ds.metadata.name = 'QuoteHelper'), /DNS-1123/],
    ['probe on an undeclared port', (ds) => (ds.spec.template.spec.containers[0].livenessProbe.httpGet.port = 'metrics'), /not a declared container port/],
    ['extended resource requests != limits', (ds) => (ds.spec.template.spec.containers[0].resources.requests['sgx.intel.com/epc'] = '2Mi'), /requests 2Mi != limits 1Mi/],
    ['fractional extended resource', (ds) => (ds.spec.template.spec.containers[0].resources = { limits: { 'sgx.intel.com/enclave': '500m' } }), /not an integer/],
    ['maxSurge and maxUnavailable both 0', (ds) => (ds.spec.updateStrategy.rollingUpdate = { maxSurge: 0, maxUnavailable: 0 }), /both 0/],
    ['mount of a missing volume', (ds) => (ds.spec.template.spec.volumes = []), /missing volume/],
    ['hostPath type typo', (ds) => (ds.spec.template.spec.volumes[0].hostPath.type = 'DirOrCreate'), /hostPath/],
    ['missing selector (schema)', (ds) => delete ds.spec.selector, /selector/],
  ])('catch %s', (_name, mutate, message) => {
    const problems = problemsAfter(mutate);
    expect(problems.join('\n')).toMatch(message);
  });

  it('catch a Service that selects nothing and a webhook without a CA', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns' }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } };
    const mwc = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'm' },
      webhooks: [{ name: 'short', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { service: { name: 'svc', namespace: 'ns' } } }],
    };
    const text = validateRelease([goodDaemonSet(), svc, mwc]).join('\n');
    expect(text).toMatch(/selector matches no rendered workload/);
    expect(text).toMatch(/fully qualified/);
    expect(text).toMatch(/no port 443/);
    expect(text).toMatch(/neither a caBundle/);
  });
});
