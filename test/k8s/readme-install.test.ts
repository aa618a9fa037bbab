// The README's Kubernetes install, exactly as written there, rendered by the real helm binary: on a
// cluster without SGX labels its DaemonSet must be schedulable, pass the Kubernetes schemas and our
// manifest checks, and run the SIMULATED sim. The default install (provider auto) must land only on
// SGX nodes that offer the device plugin's resources. NOTES.txt must say which provider nodes run.
import { cpSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, helmBinary } from './support/helm.js';
import { validateRelease, type K8sObject } from './support/manifest-checks.js';
import { PLAIN_LINUX_NODE, schedulingProblems, type TestNode } from './support/scheduling.js';
import { removeDir } from '../daemon/helpers.js';

const CHART = 'deploy/helm/sgx-quote-helper';
const KUBE = '1.30.0';
const CRD_KINDS = ['ServiceMonitor', 'Issuer', 'Certificate'];
const readme = readFileSync('README.md', 'utf8');

const SGX_NODE: TestNode = {
  labels: { ...PLAIN_LINUX_NODE.labels, 'intel.feature.node.kubernetes.io/sgx': 'true' },
  allocatable: { 'sgx.intel.com/epc': '64Mi', 'sgx.intel.com/enclave': '110', 'sgx.intel.com/provision': '110' },
};

/** The shell commands of the README's "Deploying on Kubernetes" section, continuation lines joined. */
function readmeCommands(): string[] {
  const section = readme.slice(readme.indexOf('## Deploying on Kubernetes'), readme.indexOf('\n## ', readme.indexOf('## Deploying on Kubernetes') + 3));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].replace(/\\\n\s*/g, ' ').split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

async function render(args: string[]): Promise<K8sObject[]> {
  const r = await helm(['template', ...args, '--kube-version', KUBE]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
}
const daemonSet = (objs: K8sObject[]) => objs.find((o) => o.kind === 'DaemonSet')!;

let readmeInstall: string[];
let simObjects: K8sObject[];
let defaultObjects: K8sObject[];
beforeAll(async () => {
  helmBinary();
  const install = readmeCommands().filter((c) => c.startsWith('helm install '));
  expect(install).toHaveLength(1);
  // No quoting in the README command, so whitespace splitting is the shell's own tokenisation here.
  readmeInstall = install[0].split(/\s+/).slice(2);
  [simObjects, defaultObjects] = await Promise.all([render(readmeInstall), render(['sqh', CHART, '-n', 'sgx-system'])]);
});

describe("the README's install command (cluster without SGX)", () => {
  it('is the sim provider with the image the README tells you to build and push', () => {
    const cmds = readmeCommands();
    expect(readmeInstall).toEqual(expect.arrayContaining(['--set', 'provider.type=sim', 'image.repository=REGISTRY/sgx-quote-helper']));
    expect(cmds).toContain('docker build -t REGISTRY/sgx-quote-helper:0.1.0 .');
    expect(cmds).toContain('docker push REGISTRY/sgx-quote-helper:0.1.0');
    const c = daemonSet(simObjects).spec.template.spec.containers[0];
    expect(c.image).toBe('REGISTRY/sgx-quote-helper:0.1.0');
    expect(c.args).toEqual(expect.arrayContaining(['--provider=sim', '--state-dir=/var/lib/sgx-quote-helper/sim', '--init']));
  });

  it('renders a DaemonSet that schedules on a node without SGX labels or device plugin', () => {
    const pod = daemonSet(simObjects).spec.template.spec;
    expect(schedulingProblems(pod, PLAIN_LINUX_NODE)).toEqual([]);
    const asked = [pod.nodeSelector, ...pod.containers.map((c: K8sObject) => c.resources)];
    expect(JSON.stringify(asked)).not.toMatch(/sgx/);
    expect(validateRelease(simObjects, { crdKinds: CRD_KINDS })).toEqual([]);
  });

  it('labels the namespace with the Pod Security level its hostPath volume needs', () => {
    const cmds = readmeCommands();
    const ns = readmeInstall[readmeInstall.indexOf('-n') + 1];
    expect(cmds).toContain(`kubectl create namespace ${ns}`);
    expect(cmds).toContain(`kubectl label namespace ${ns} pod-security.kubernetes.io/enforce=privileged`);
    // Why privileged: baseline and restricted forbid hostPath volumes, and the socket lives in one.
    expect(daemonSet(simObjects).spec.template.spec.volumes.some((v: K8sObject) => v.hostPath)).toBe(true);
  });
});

describe('the default install (provider auto)', () => {
  it('runs --provider auto with the hardware image and the sim fallback state', () => {
    const c = daemonSet(defaultObjects).spec.template.spec.containers[0];
    expect(c.args).toEqual(expect.arrayContaining(['--provider=auto', '--state-dir=/var/lib/sgx-quote-helper/sim', '--init']));
    expect(c.image).toBe('sgx-quote-helper:0.1.0-dcap');
    expect(validateRelease(defaultObjects, { crdKinds: CRD_KINDS })).toEqual([]);
  });

  it("schedules on an SGX node offering Intel's device-plugin resources, not on a plain node", () => {
    const pod = daemonSet(defaultObjects).spec.template.spec;
    expect(schedulingProblems(pod, SGX_NODE)).toEqual([]);
    const plain = schedulingProblems(pod, PLAIN_LINUX_NODE);
    expect(plain).toContain('nodeSelector intel.feature.node.kubernetes.io/sgx=true does not match');
    expect(plain).toContain('quote-helper requests sgx.intel.com/provision, which the node does not offer');
    // A labelled node without the device plugin still cannot take it: the devices are requested.
    expect(schedulingProblems(pod, { labels: SGX_NODE.labels })).toHaveLength(3);
  });

  it('AKS values schedule on a DC-series node that offers the Azure EPC resource', async () => {
    const objs = await render(['sqh', CHART, '-n', 'sgx-system', '-f', `${CHART}/ci/azure-values.yaml`]);
    const pod = daemonSet(objs).spec.template.spec;
    const aks: TestNode = {
      labels: { ...PLAIN_LINUX_NODE.labels, 'node.kubernetes.io/instance-type': 'Standard_DC4s_v3' },
      taints: [{ key: 'kubernetes.azure.com/sgx_epc_mem_in_MiB', value: 'true', effect: 'NoSchedule' }],
      allocatable: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '82' },
    };
    expect(schedulingProblems(pod, aks)).toEqual([]);
    expect(schedulingProblems(pod, { ...aks, labels: { ...aks.labels, 'node.kubernetes.io/instance-type': 'Standard_D4s_v5' } })).toEqual([
      'required node affinity does not match',
    ]);
  });
});

describe('NOTES.txt says which provider each node runs', () => {
  // `helm template` never renders NOTES.txt and `helm install --dry-run` needs a cluster, so a copy of
  // the chart turns the same file into a ConfigMap that `helm template` does render.
  let chartCopy: string;
  beforeAll(() => {
    chartCopy = path.join(mkdtempSync(path.join(os.tmpdir(), 'sqh-notes-')), 'chart');
    cpSync(CHART, chartCopy, { recursive: true });
    const notes = path.join(chartCopy, 'templates', 'NOTES.txt');
    renameSync(notes, path.join(chartCopy, 'templates', '_notes.tpl'));
    const body = readFileSync(path.join(chartCopy, 'templates', '_notes.tpl'), 'utf8');
    writeFileSync(path.join(chartCopy, 'templates', '_notes.tpl'), `{{- define "test.notes" -}}\n${body}\n{{- end }}\n`);
    writeFileSync(
      path.join(chartCopy, 'templates', 'notes-configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | quote }}\n',
    );
  });
  afterAll(() => removeDir(path.dirname(chartCopy)));

  const notes = async (extra: string[]) =>
    (await render(['sqh', chartCopy, '-n', 'sgx-system', ...extra])).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'notes')!.data.notes as string;

  it('sim: every selected node runs the SIMULATED sim; the namespace needs privileged', async () => {
    const text = await notes(readmeInstall.slice(2).filter((a, i, all) => a !== '-n' && all[i - 1] !== '-n'));
    expect(text).toContain('Every selected node runs the SIMULATED sim provider');
    expect(text).toContain('Nodes selected: {"kubernetes.io/os":"linux"}');
    expect(text).toContain('pod-security.kubernetes.io/enforce=privileged');
  });

  it('auto: hardware where the devices are, SIMULATED sim elsewhere, nothing on unlabelled nodes', async () => {
    const text = await notes([]);
    expect(text).toContain('runs the hardware provider (dcap)');
    expect(text).toContain('falls back to the\n  SIMULATED sim provider');
    expect(text).toContain('"intel.feature.node.kubernetes.io/sgx":"true"');
    expect(text).toContain('Nodes without these labels run no quote helper');
    expect(text).toContain('--set provider.type=sim');
  });
});
