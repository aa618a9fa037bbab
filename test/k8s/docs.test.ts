// docs/kubernetes.md shows manifests users copy. Every one of them must be accepted by the Kubernetes
// schemas and our semantic checks, except the one marked "# WRONG", which must be rejected.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import fastJsonPatch from 'fast-json-patch';
import { planPodMutation } from '../../src/k8s/index.js';
import { objectProblems, schemaProblem, validateRelease, type K8sObject } from './support/manifest-checks.js';

const doc = readFileSync('docs/kubernetes.md', 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
const manifests = blocks.filter((b) => /^apiVersion:/m.test(b));

function objectsOf(block: string): K8sObject[] {
  return parseAllDocuments(block).map((d) => d.toJS());
}

describe('docs/kubernetes.md manifests', () => {
  it('has the manifests the page promises', () => {
    expect(manifests.length).toBe(3);
  });

  it('every manifest that is not marked WRONG validates', () => {
    for (const block of manifests.filter((b) => !b.includes('# WRONG'))) {
      expect(validateRelease(objectsOf(block))).toEqual([]);
    }
  });

  it("the corrected Azure sample Job sets SGX_AESM_ADDR to the string \"1\", mounts /var/run/aesmd and limits EPC", () => {
    const job = manifests.map(objectsOf).flat().find((o) => o.metadata.name === 'sgx-test')!;
    const pod = job.spec.template.spec;
    const c = pod.containers[0];
    expect(c.env).toEqual([{ name: 'SGX_AESM_ADDR', value: '1' }]);
    expect(c.volumeMounts).toEqual([{ name: 'var-run-aesmd', mountPath: '/var/run/aesmd' }]);
    expect(pod.volumes[0].hostPath.path).toBe('/var/run/aesmd');
    expect(c.resources.limits['kubernetes.azure.com/sgx_epc_mem_in_MiB']).toBe(10);
  });

  it("the WRONG example (the Azure doc's integer value) is rejected", () => {
    const wrong = manifests.find((b) => b.includes('# WRONG'))!;
    expect(validateRelease(objectsOf(wrong)).join('\n')).toMatch(/env\/0\/value must be string/);
  });

  it('the annotated Job, as the webhook would mutate its pod, gets the socket and still validates', () => {
    const job = manifests.map(objectsOf).flat().find((o) => o.metadata.name === 'sgx-test-injected')!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sgx-test-injected-abcde', ...job.spec.template.metadata }, spec: job.spec.template.spec };
    const plan = planPodMutation(pod);
    expect(plan.outcome).toBe('patched');
    if (plan.outcome !== 'patched') return;
    const out = fastJsonPatch.applyPatch(fastJsonPatch.deepClone(pod), plan.patch, true, false).newDocument;
    expect(schemaProblem(out)).toBeUndefined();
    expect(objectProblems(out)).toEqual([]);
    expect(out.spec.containers[0].env).toEqual([{ name: 'SGX_AESM_ADDR', value: '1' }]);
  });
});
