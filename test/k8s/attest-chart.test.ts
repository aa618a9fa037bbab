// The chart's optional attestation service (values `attest.*`, templates/attest/), rendered by the real
// helm binary and validated like the rest of the chart: kubernetes-models schemas plus the semantic
// rules of support/manifest-checks.ts, and every flag checked against the real `attest serve` command.
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { register as registerAttest } from '../../src/cli/attest.js';
import { helm, helmBinary } from './support/helm.js';
import { validateRelease, type K8sObject } from './support/manifest-checks.js';

const CHART = 'deploy/helm/sgx-quote-helper';
const NS = 'sgx-system';
const CRD_KINDS = ['ServiceMonitor', 'Issuer', 'Certificate'];
const REQUIRED = ['attest.enabled=true', 'attest.publicUrl=https://attest.example.com', 'attest.signingKey.secretName=attest-signing', 'attest.tls.secretName=attest-tls'];

async function template(set: string[]): Promise<{ code: number; objects: K8sObject[]; stderr: string }> {
  const r = await helm(['template', 'rel', CHART, '--namespace', NS, '--kube-version', '1.30.0', ...set.flatMap((s) => ['--set', s])]);
  const objects = r.code === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean) : [];
  return { code: r.code, objects, stderr: r.stderr };
}

const attestObjects = (objs: K8sObject[]) => objs.filter((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'attest');
const container = (d: any) => d.spec.template.spec.containers[0];
const args = (d: any): string[] => container(d).args;

let off: K8sObject[];
let on: K8sObject[];
let full: K8sObject[];

beforeAll(async () => {
  helmBinary();
  const [a, b, c] = await Promise.all([
    template([]),
    template(REQUIRED),
    template([
      ...REQUIRED,
      'attest.replicas=3',
      'attest.trustRoots.configMap=sim-roots',
      'attest.trustRoots.keys={sim-root.pem,intel-root.pem}',
      'attest.policy.configMap=attest-policy',
      'attest.signingKey.previousCertKeys={previous.crt}',
      'attest.collateralUrl=https://pccs.sgx-system.svc:8081',
      'attest.tokenLifetime=1h',
    ]),
  ]);
  for (const r of [a, b, c]) if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  [off, on, full] = [a.objects, b.objects, c.objects];
}, 120_000);

describe('Helm chart: attestation service (attest.*)', () => {
  it('is off by default: nothing of it is rendered', () => {
    expect(off.length).toBeGreaterThan(0);
    expect(attestObjects(off)).toEqual([]);
    expect(off.some((o) => /attest/.test(o.metadata.name))).toBe(false);
  });

  it('when enabled renders a valid Deployment (2 replicas), Service and PodDisruptionBudget', () => {
    expect(validateRelease(on, { crdKinds: CRD_KINDS })).toEqual([]);
    const kinds = attestObjects(on).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(['Deployment/rel-sgx-quote-helper-attest', 'PodDisruptionBudget/rel-sgx-quote-helper-attest', 'Service/rel-sgx-quote-helper-attest']);
    const d = on.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-attest'))!;
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('signs with the key from the Secret, serves HTTPS from the TLS Secret, and each replica has its own collateral cache', () => {
    const d = on.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-attest'))!;
    const a = args(d);
    expect(a.slice(0, 2)).toEqual(['attest', 'serve']);
    expect(a).toContain('--public-url=https://attest.example.com');
    expect(a).not.toContain('--insecure-http');
    expect(a.some((x) => x.startsWith('--state-dir'))).toBe(false); // keys never generated per pod
    const volumes = Object.fromEntries(d.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]));
    const mounts = Object.fromEntries(container(d).volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m]));
    const fileIn = (flag: string, volume: string) => {
      const v = a.find((x) => x.startsWith(`${flag}=`))?.slice(flag.length + 1);
      expect(v, flag).toBeDefined();
      expect(v!.startsWith(`${mounts[volume].mountPath}/`), `${flag}=${v} lies in volume ${volume}`).toBe(true);
      return v!.slice(mounts[volume].mountPath.length + 1);
    };
    expect(volumes.signing.secret.secretName).toBe('attest-signing');
    expect(fileIn('--signing-key', 'signing')).toBe('signing.key');
    expect(fileIn('--signing-cert', 'signing')).toBe('signing.crt');
    expect(volumes.tls.secret.secretName).toBe('attest-tls');
    expect(fileIn('--tls-cert', 'tls')).toBe('tls.crt');
    expect(fileIn('--tls-key', 'tls')).toBe('tls.key');
    // The SQLite cache is on a pod-local emptyDir (the root filesystem is read-only), never shared.
    expect(volumes['collateral-cache'].emptyDir).toEqual({ sizeLimit: '256Mi' });
    expect(fileIn('--cache', 'collateral-cache')).toBe('collateral.sqlite');
    expect(mounts['collateral-cache'].readOnly).toBeFalsy();
    expect(a).toContain('--collateral-url=https://api.trustedservices.intel.com');
    // Intel's root only unless roots are given.
    expect(a.some((x) => x.startsWith('--trust-root'))).toBe(false);
    expect(container(d).securityContext.readOnlyRootFilesystem).toBe(true);
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('the Service reaches only the attestation pods, on their HTTPS port, and probes use /readyz and /healthz', () => {
    const d = on.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-attest'))!;
    const svc = on.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-attest'))!;
    const podLabels = d.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(podLabels[k], k).toBe(v);
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(container(d).ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(args(d)).toContain('--listen=0.0.0.0:8443');
    // No other workload of the chart is selected by this Service.
    for (const w of on.filter((o) => ['Deployment', 'DaemonSet'].includes(o.kind) && o !== d)) {
      const labels = w.spec.template.metadata.labels;
      expect(Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v), w.metadata.name).toBe(false);
    }
    expect(container(d).readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(container(d).livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
  });

  it('every flag it renders is one `attest serve` has, and its required options are given', () => {
    const program = new Command();
    registerAttest(program);
    const serve = program.commands.find((c) => c.name() === 'attest')!.commands.find((c) => c.name() === 'serve')!;
    const known = serve.options.map((o) => o.long);
    for (const objs of [on, full]) {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-attest'))!;
      for (const flag of args(d).slice(2)) expect(known, flag).toContain(flag.split('=')[0]);
    }
    for (const o of serve.options.filter((x) => x.mandatory)) expect(args(on.find((x) => x.kind === 'Deployment' && x.metadata.name.endsWith('-attest'))!).some((a) => a.startsWith(`${o.long}=`))).toBe(true);
  });

  it('trust roots, policy, previous certificates and replicas come from values', () => {
    expect(validateRelease(full, { crdKinds: CRD_KINDS })).toEqual([]);
    const d = full.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-attest'))!;
    const a = args(d);
    expect(d.spec.replicas).toBe(3);
    expect(a).toEqual(expect.arrayContaining([
      '--trust-root=/etc/sgx-quote-helper/attest-roots/sim-root.pem',
      '--trust-root=/etc/sgx-quote-helper/attest-roots/intel-root.pem',
      '--policy=/etc/sgx-quote-helper/attest-policy/policy.json',
      '--previous-signing-cert=/etc/sgx-quote-helper/attest-signing/previous.crt',
      '--collateral-url=https://pccs.sgx-system.svc:8081',
      '--token-lifetime=1h',
    ]));
    const volumes = Object.fromEntries(d.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes.roots.configMap.name).toBe('sim-roots');
    expect(volumes.policy.configMap.name).toBe('attest-policy');
  });

  it('refuses incomplete or unsafe values with a message that names the value', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['attest.enabled=true'], /attest\.publicUrl is required/],
      [['attest.enabled=true', 'attest.publicUrl=https://a.example'], /attest\.signingKey\.secretName is required/],
      [['attest.enabled=true', 'attest.publicUrl=https://a.example', 'attest.signingKey.secretName=s'], /attest\.tls\.secretName is required/],
      [[...REQUIRED, 'attest.replicas=1'], /attest\.replicas: Must be greater than or equal to 2/],
      [[...REQUIRED, 'attest.publicUrl=attest.example.com'], /attest\.publicUrl/],
      [[...REQUIRED, 'attest.tokenLifetime=8 hours'], /attest\.tokenLifetime/],
    ];
    const results = await Promise.all(cases.map(([set]) => template(set)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  }, 120_000);
});
