// The scheduler's node filters that decide whether a DaemonSet pod can land on a node, for the fields
// our chart sets: nodeSelector, required node affinity (In, NotIn, Exists, DoesNotExist), taints
// against tolerations (NoSchedule / NoExecute), and resource requests against allocatable (extended
// resources such as sgx.intel.com/enclave exist only where a device plugin advertises them).
// No scheduler can run here; this follows the Kubernetes scheduler's NodeAffinity, TaintToleration
// and NodeResourcesFit filters for exactly these fields, and a test checks it on both outcomes.
import type { K8sObject } from './manifest-checks.js';

export interface TestNode {
  labels: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** Quantities as the node reports them; cpu/memory/pods are assumed plentiful when absent. */
  allocatable?: Record<string, string>;
}

/** A plain Linux worker with no SGX anything: what a kind/minikube/managed cluster node looks like. */
export const PLAIN_LINUX_NODE: TestNode = {
  labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'worker-1' },
};

function matchExpression(labels: Record<string, string>, e: { key: string; operator: string; values?: string[] }): boolean {
  const has = Object.hasOwn(labels, e.key);
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(labels[e.key]);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(labels[e.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      throw new Error(`operator ${e.operator} not modelled`);
  }
}

const BASIC = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods']);

/** Why `pod` (a PodSpec) cannot run on `node`; empty when it can. */
export function schedulingProblems(pod: K8sObject, node: TestNode): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries((pod.nodeSelector ?? {}) as Record<string, string>)) {
    if (node.labels[k] !== v) problems.push(`nodeSelector ${k}=${v} does not match`);
  }
  const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as
    | Array<{ matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }>
    | undefined;
  // Terms are ORed, expressions within a term ANDed.
  if (terms && !terms.some((t) => (t.matchExpressions ?? []).every((e) => matchExpression(node.labels, e)))) {
    problems.push('required node affinity does not match');
  }
  const tolerations = (pod.tolerations ?? []) as Array<{ key?: string; operator?: string; value?: string; effect?: string }>;
  for (const t of node.taints ?? []) {
    if (t.effect === 'PreferNoSchedule') continue;
    const tolerated = tolerations.some(
      (x) => (!x.key || x.key === t.key) && (!x.effect || x.effect === t.effect) && (x.operator === 'Exists' || (x.value ?? '') === (t.value ?? '')),
    );
    if (!tolerated) problems.push(`taint ${t.key}:${t.effect} not tolerated`);
  }
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])] as K8sObject[]) {
    for (const name of Object.keys(c.resources?.requests ?? {})) {
      if (BASIC.has(name)) continue;
      if (!(name in (node.allocatable ?? {}))) problems.push(`${c.name} requests ${name}, which the node does not offer`);
    }
  }
  return problems;
}
