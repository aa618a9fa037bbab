// Validation of rendered Kubernetes objects: the OpenAPI-derived schemas of kubernetes-models@4.5.1
// plus the semantic rules the schemas do not encode (the API server or controllers enforce them, and no
// API server can run here: see docs/kubernetes.md).
import * as km from 'kubernetes-models';
import { isIntegral, parseQuantity, quantitiesEqual, QuantityError } from '../../../src/k8s/index.js';

export type K8sObject = Record<string, any>;

const GROUPS: Record<string, Record<string, unknown>> = {
  v1: km.v1,
  'apps/v1': km.apps.v1,
  'batch/v1': km.batch.v1,
  'policy/v1': km.policy.v1,
  'admissionregistration.k8s.io/v1': km.admissionregistrationK8sIo.v1,
  'rbac.authorization.k8s.io/v1': km.rbacAuthorizationK8sIo.v1,
  'networking.k8s.io/v1': km.networkingK8sIo.v1,
  'scheduling.k8s.io/v1': km.schedulingK8sIo.v1,
};

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$/;
const NATIVE_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods']);
const HOSTPATH_TYPES = new Set(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']);

export function isDns1123Subdomain(s: unknown): boolean {
  return typeof s === 'string' && s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

/** The kubernetes-models class for an object, or undefined for kinds it does not know (CRDs). */
export function modelFor(obj: K8sObject): (new (data: unknown) => { validate(): void }) | undefined {
  const group = GROUPS[obj.apiVersion];
  const cls = group?.[obj.kind];
  return typeof cls === 'function' ? (cls as new (data: unknown) => { validate(): void }) : undefined;
}

/** Schema validation; returns the validator's message, or undefined when valid. */
export function schemaProblem(obj: K8sObject): string | undefined {
  const Model = modelFor(obj);
  if (!Model) return `no kubernetes-models schema for ${obj.apiVersion} ${obj.kind}`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function checkLabels(where: string, labels: unknown, out: string[]): void {
  if (labels === undefined) return;
  for (const [k, v] of Object.entries((labels ?? {}) as Record<string, unknown>)) {
    const [prefix, name] = k.includes('/') ? [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)] : [undefined, k];
    if (prefix !== undefined && !isDns1123Subdomain(prefix)) out.push(`${where}: label key prefix "${prefix}" is not DNS-1123`);
    if (!(name.length <= 63 && LABEL_NAME.test(name))) out.push(`${where}: label key "${k}" is invalid`);
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) out.push(`${where}: label ${k}=${String(v)} has an invalid value`);
  }
}

function isExtendedResource(name: string): boolean {
  if (NATIVE_RESOURCES.has(name) || name.startsWith('hugepages-')) return false;
  const domain = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
  return domain !== '' && !domain.endsWith('kubernetes.io');
}

function checkResources(where: string, res: any, out: string[]): void {
  const limits = (res?.limits ?? {}) as Record<string, unknown>;
  const requests = (res?.requests ?? {}) as Record<string, unknown>;
  for (const name of new Set([...Object.keys(limits), ...Object.keys(requests)])) {
    for (const [side, raw] of [['limits', limits[name]], ['requests', requests[name]]] as const) {
      if (raw === undefined) continue;
      if (typeof raw !== 'string' && typeof raw !== 'number') out.push(`${where}: ${side}.${name} is not a quantity`);
      else {
        try {
          parseQuantity(raw);
        } catch (err) {
          if (err instanceof QuantityError) out.push(`${where}: ${side}.${name}: ${err.message}`);
          else throw err;
        }
      }
    }
    if (!isExtendedResource(name)) continue;
    const l = limits[name];
    const r = requests[name];
    if (l === undefined) {
      out.push(`${where}: extended resource ${name} has a request but no limit`);
      continue;
    }
    const lq = parseQuantity(l as string);
    if (!isIntegral(lq)) out.push(`${where}: extended resource ${name} limit ${String(l)} is not an integer`);
    if (r !== undefined && !quantitiesEqual(lq, parseQuantity(r as string))) {
      out.push(`${where}: extended resource ${name} requests ${String(r)} != limits ${String(l)}`);
    }
  }
}

function probePortOk(port: unknown, ports: any[]): boolean {
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port);
  return ports.some((p) => p.name === port);
}

/** Rules for a pod spec that no schema states. */
export function podSpecProblems(where: string, spec: any): string[] {
  const out: string[] = [];
  const volumes = new Set<string>();
  for (const v of spec?.volumes ?? []) {
    if (volumes.has(v.name)) out.push(`${where}: duplicate volume ${v.name}`);
    volumes.add(v.name);
    if (!DNS1123_LABEL.test(v.name ?? '')) out.push(`${where}: volume name "${v.name}" is not a DNS-1123 label`);
    if (v.hostPath && !HOSTPATH_TYPES.has(v.hostPath.type ?? '')) out.push(`${where}: hostPath type ${v.hostPath.type}`);
  }
  const names = new Set<string>();
  const all = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const c of all) {
    const cw = `${where} container ${c.name}`;
    if (!DNS1123_LABEL.test(c.name ?? '') || c.name.length > 63) out.push(`${cw}: name is not a DNS-1123 label`);
    if (names.has(c.name)) out.push(`${cw}: duplicate container name`);
    names.add(c.name);
    for (const e of c.env ?? []) {
      if (e.value !== undefined && typeof e.value !== 'string') out.push(`${cw}: env ${e.name} value ${JSON.stringify(e.value)} is not a string`);
    }
    const ports: any[] = c.ports ?? [];
    for (const p of ports) {
      if (p.name !== undefined && !(p.name.length <= 15 && IANA_SVC_NAME.test(p.name))) out.push(`${cw}: port name ${p.name} is not an IANA service name`);
    }
    for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const probe = c[probeName];
      if (!probe) continue;
      const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
      if (port !== undefined && !probePortOk(port, ports)) out.push(`${cw}: ${probeName} port ${port} is not a declared container port`);
    }
    const mountPaths = new Set<string>();
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) out.push(`${cw}: mount ${m.mountPath} refers to missing volume ${m.name}`);
      if (mountPaths.has(m.mountPath)) out.push(`${cw}: duplicate mount path ${m.mountPath}`);
      mountPaths.add(m.mountPath);
    }
    checkResources(cw, c.resources, out);
  }
  return out;
}

function podTemplateOf(obj: K8sObject): any {
  if (['DaemonSet', 'Deployment', 'StatefulSet', 'ReplicaSet', 'Job'].includes(obj.kind)) return obj.spec?.template;
  if (obj.kind === 'CronJob') return obj.spec?.jobTemplate?.spec?.template;
  return undefined;
}

function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function intOrPercentIsZero(v: unknown): boolean {
  return v === 0 || v === '0' || v === '0%';
}

/** Per-object rules. */
export function objectProblems(obj: K8sObject): string[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const out: string[] = [];
  // A pod created with generateName has no name yet when admission sees it.
  const name = obj.metadata?.name ?? (obj.kind === 'Pod' ? `${obj.metadata?.generateName ?? ''}x` : undefined);
  if (!isDns1123Subdomain(name)) out.push(`${where}: name is not a DNS-1123 subdomain`);
  if (obj.kind === 'Service' && !(obj.metadata.name.length <= 63 && DNS1035_LABEL.test(obj.metadata.name))) {
    out.push(`${where}: Service names must be DNS-1035 labels`);
  }
  checkLabels(where, obj.metadata?.labels, out);
  const template = podTemplateOf(obj);
  if (template) {
    checkLabels(`${where} template`, template.metadata?.labels, out);
    if (obj.kind !== 'Job' && obj.kind !== 'CronJob') {
      const sel = obj.spec?.selector?.matchLabels;
      if (!selectorMatches(sel, template.metadata?.labels)) out.push(`${where}: selector does not match the template labels`);
      const rp = template.spec?.restartPolicy;
      if (rp !== undefined && rp !== 'Always') out.push(`${where}: restartPolicy must be Always`);
    }
    out.push(...podSpecProblems(where, template.spec));
  }
  if (obj.kind === 'Pod') out.push(...podSpecProblems(where, obj.spec));
  const ru = obj.spec?.updateStrategy?.rollingUpdate ?? obj.spec?.strategy?.rollingUpdate;
  if (ru && intOrPercentIsZero(ru.maxSurge ?? 0) && intOrPercentIsZero(ru.maxUnavailable ?? 1)) {
    out.push(`${where}: maxSurge and maxUnavailable are both 0 (the rollout could never progress)`);
  }
  if (obj.kind === 'MutatingWebhookConfiguration' || obj.kind === 'ValidatingWebhookConfiguration') {
    for (const w of obj.webhooks ?? []) {
      if (!(isDns1123Subdomain(w.name) && w.name.split('.').length >= 3)) out.push(`${where}: webhook name ${w.name} must be a fully qualified name`);
      if (!(w.admissionReviewVersions ?? []).includes('v1')) out.push(`${where}: webhook ${w.name} must accept AdmissionReview v1`);
    }
  }
  return out;
}

/** Rules that relate objects to each other within one rendered release. */
export function crossObjectProblems(objs: K8sObject[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const o of objs) {
    const key = `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    if (seen.has(key)) out.push(`duplicate object ${key}`);
    seen.add(key);
  }
  const workloads = objs.filter((o) => podTemplateOf(o));
  for (const svc of objs.filter((o) => o.kind === 'Service')) {
    const selected = workloads.filter((w) => selectorMatches(svc.spec?.selector, podTemplateOf(w).metadata?.labels));
    if (selected.length === 0) {
      out.push(`Service/${svc.metadata.name}: selector matches no rendered workload`);
      continue;
    }
    for (const port of svc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const ok = selected.every((w) =>
        (podTemplateOf(w).spec?.containers ?? []).some((c: any) =>
          (c.ports ?? []).some((p: any) => (typeof target === 'number' ? p.containerPort === target : p.name === target)),
        ),
      );
      if (!ok) out.push(`Service/${svc.metadata.name}: targetPort ${target} is not a container port of the selected pods`);
    }
  }
  for (const mwc of objs.filter((o) => o.kind === 'MutatingWebhookConfiguration')) {
    for (const w of mwc.webhooks ?? []) {
      const ref = w.clientConfig?.service;
      if (!ref) continue;
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === ref.name);
      if (!svc) out.push(`MWC webhook ${w.name}: service ${ref.name} is not rendered`);
      else if (!(svc.spec.ports ?? []).some((p: any) => p.port === (ref.port ?? 443))) {
        out.push(`MWC webhook ${w.name}: service ${ref.name} has no port ${ref.port ?? 443}`);
      }
      if (!w.clientConfig.caBundle && !mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']) {
        out.push(`MWC webhook ${w.name}: neither a caBundle nor cert-manager CA injection`);
      }
    }
  }
  for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor')) {
    const svcs = objs.filter((o) => o.kind === 'Service' && selectorMatches(sm.spec?.selector?.matchLabels, o.metadata.labels));
    if (svcs.length === 0) out.push(`ServiceMonitor/${sm.metadata.name}: selects no rendered Service`);
    for (const ep of sm.spec?.endpoints ?? []) {
      if (!svcs.every((s) => (s.spec.ports ?? []).some((p: any) => p.name === ep.port))) {
        out.push(`ServiceMonitor/${sm.metadata.name}: endpoint port ${ep.port} is not a Service port name`);
      }
    }
  }
  return out;
}

/** Everything: schema (where a schema exists), per-object and cross-object rules. */
export function validateRelease(objs: K8sObject[], opts: { crdKinds?: string[] } = {}): string[] {
  const problems: string[] = [];
  for (const o of objs) {
    if (!modelFor(o)) {
      if (!(opts.crdKinds ?? []).includes(o.kind)) problems.push(`${o.apiVersion} ${o.kind}: unexpected kind without a schema`);
    } else {
      const p = schemaProblem(o);
      if (p) problems.push(`${o.kind}/${o.metadata?.name}: ${p}`);
    }
    problems.push(...objectProblems(o));
  }
  problems.push(...crossObjectProblems(objs));
  return problems;
}
