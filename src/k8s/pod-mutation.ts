import {
  AESMD_SOCKET_DIR,
  AESMD_VOLUME_NAME,
  INJECT_ALL_ANNOTATION,
  INJECT_ANNOTATION,
  INJECTED_ANNOTATION,
  INTEL_OUT_OF_PROCESS_VALUE,
  INTEL_PROVISION_RESOURCE,
  INTEL_QUOTE_PROVIDER_ANNOTATION,
  SGX_AESM_ADDR_ENV,
  SGX_AESM_ADDR_VALUE,
  SIDECAR_CONTAINER_NAME,
  isSgxResource,
} from './conventions.js';
import { QuantityError } from './errors.js';
import { pointer } from './json-pointer.js';
import type { ContainerLike, JsonPatchAdd, PodLike, VolumeLike } from './pod-types.js';
import { isIntegral, parseQuantity, quantitiesEqual } from './quantity.js';

export type PodMutationResult =
  /** The pod did not opt in: it is admitted exactly as sent. */
  | { outcome: 'skipped'; reason: string; warnings: string[] }
  /** The pod opted in but is self-contradictory or has resources the cluster would reject. */
  | { outcome: 'denied'; message: string; warnings: string[] }
  /** The pod opted in; `patch` is empty when everything is already in place (reinvocation). */
  | { outcome: 'patched' | 'unchanged'; patch: JsonPatchAdd[]; warnings: string[]; injected: string[] };

type ContainerList = 'containers' | 'initContainers';

interface Located {
  list: ContainerList;
  index: number;
  container: ContainerLike;
}

function asArray<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function describe(loc: Located): string {
  const kind = loc.list === 'initContainers' ? 'init container' : 'container';
  return `${kind} "${loc.container.name ?? `#${loc.index}`}"`;
}

function sgxResourceNames(c: ContainerLike): string[] {
  const res = asRecord(c.resources);
  const names = new Set([...Object.keys(asRecord(res.limits)), ...Object.keys(asRecord(res.requests))]);
  return [...names].filter(isSgxResource).sort();
}

/**
 * Extended resources cannot be overcommitted, so Kubernetes requires whole-number quantities and
 * requests equal to limits. The API server would reject such a pod later with a terse message; saying
 * here which container and which value is wrong, and how to write it, saves a round of guessing.
 */
function resourceProblems(loc: Located): string[] {
  const res = asRecord(loc.container.resources);
  const limits = asRecord(res.limits);
  const requests = asRecord(res.requests);
  const problems: string[] = [];
  for (const name of sgxResourceNames(loc.container)) {
    const where = `${describe(loc)} resource ${name}`;
    const parsed: Record<'limits' | 'requests', ReturnType<typeof parseQuantity> | undefined> = {
      limits: undefined,
      requests: undefined,
    };
    for (const side of ['limits', 'requests'] as const) {
      const raw = (side === 'limits' ? limits : requests)[name];
      if (raw === undefined || raw === null) continue;
      try {
        const q = parseQuantity(raw as string | number);
        if (!isIntegral(q)) {
          problems.push(`${where}: ${side} "${raw}" is not a whole number; write an integer quantity such as "1" or "512Ki"`);
        } else if (q.num < 0n) {
          problems.push(`${where}: ${side} "${raw}" is negative`);
        } else {
          parsed[side] = q;
        }
      } catch (err) {
        if (!(err instanceof QuantityError)) throw err;
        problems.push(`${where}: ${side} ${err.message}`);
      }
    }
    const hasLimit = limits[name] !== undefined && limits[name] !== null;
    const hasRequest = requests[name] !== undefined && requests[name] !== null;
    if (hasRequest && !hasLimit) {
      problems.push(`${where}: set limits.${name} equal to its request (extended resources cannot be overcommitted)`);
    } else if (parsed.limits && parsed.requests && !quantitiesEqual(parsed.limits, parsed.requests)) {
      problems.push(
        `${where}: requests "${requests[name]}" differ from limits "${limits[name]}"; make them equal or set only limits`,
      );
    }
  }
  return problems;
}

function normalizePath(p: string | undefined): string {
  return (p ?? '').replace(/\/+$/, '') || '/';
}

/**
 * Decide what the webhook does with one pod. Pure: no I/O, the pod is not modified.
 *
 * A pod opts in with `sgx-quote-helper.io/inject: "true"` or Intel's `sgx.intel.com/quote-provider: aesmd`.
 * Targets are the containers that request an SGX resource (all regular containers with
 * `sgx-quote-helper.io/inject-all: "true"`). Each target gets SGX_AESM_ADDR="1" and a mount of
 * /var/run/aesmd; the pod gets the `aesmd-socket` volume: hostPath to the DaemonSet's socket
 * directory, or an in-memory emptyDir when the pod carries its own quote service in a container named
 * `aesmd` (Intel's sidecar layout). Everything is checked before it is added (volume by name, mount by
 * path, env by name), so a second call on the patched pod returns an empty patch.
 */
export function planPodMutation(pod: PodLike): PodMutationResult {
  const annotations = asRecord(pod.metadata?.annotations) as Record<string, unknown>;
  const warnings: string[] = [];
  const ours = annotations[INJECT_ANNOTATION];
  const intel = annotations[INTEL_QUOTE_PROVIDER_ANNOTATION];
  const injectAll = annotations[INJECT_ALL_ANNOTATION] === 'true';

  if (ours !== undefined && ours !== 'true' && ours !== 'false') {
    warnings.push(`${INJECT_ANNOTATION}: "${String(ours)}" is neither "true" nor "false"; nothing injected`);
  }
  const optedInOurs = ours === 'true';
  const optedInIntel = intel === INTEL_OUT_OF_PROCESS_VALUE;
  if (!optedInOurs && !optedInIntel) {
    return { outcome: 'skipped', reason: 'pod does not opt in', warnings };
  }
  const optInBy = optedInOurs
    ? `${INJECT_ANNOTATION}: "true"`
    : `${INTEL_QUOTE_PROVIDER_ANNOTATION}: "${INTEL_OUT_OF_PROCESS_VALUE}"`;

  const spec = asRecord(pod.spec);
  const located: Located[] = [];
  for (const list of ['containers', 'initContainers'] as const) {
    asArray(spec[list] as ContainerLike[] | null | undefined).forEach((container, index) => {
      if (container && typeof container === 'object') located.push({ list, index, container });
    });
  }

  // Contradictions first: one application cannot quote in-process and through the socket at once.
  if (optedInOurs && typeof intel === 'string' && intel !== INTEL_OUT_OF_PROCESS_VALUE) {
    return {
      outcome: 'denied',
      warnings,
      message:
        `sgx-quote-helper: the pod asks for out-of-process quoting (${INJECT_ANNOTATION}: "true") but ` +
        `${INTEL_QUOTE_PROVIDER_ANNOTATION}: "${intel}" selects in-process quoting for container "${intel}"; ` +
        `remove one of the two annotations (for out-of-process quoting keep ${INJECT_ANNOTATION} and ` +
        `drop ${INTEL_QUOTE_PROVIDER_ANNOTATION}, or set it to "${INTEL_OUT_OF_PROCESS_VALUE}")`,
    };
  }
  const provisioned = located.filter(
    (l) =>
      l.container.name !== SIDECAR_CONTAINER_NAME &&
      sgxResourceNames(l.container).includes(INTEL_PROVISION_RESOURCE),
  );
  if (provisioned.length > 0) {
    const who = provisioned.map(describe).join(', ');
    return {
      outcome: 'denied',
      warnings,
      message:
        `sgx-quote-helper: the pod asks for out-of-process quoting (${optInBy}) but ${who} requests ` +
        `${INTEL_PROVISION_RESOURCE}, which is for in-process quoting; remove ${INTEL_PROVISION_RESOURCE} from ` +
        `that container's resources to quote through the node's quote helper, or remove the annotation ` +
        `to quote in-process`,
    };
  }
  const problems = located.flatMap(resourceProblems);
  if (problems.length > 0) {
    return { outcome: 'denied', warnings, message: `sgx-quote-helper: ${problems.join('; ')}` };
  }

  const targets = located.filter(
    (l) => sgxResourceNames(l.container).length > 0 || (injectAll && l.list === 'containers'),
  );
  if (targets.length === 0) {
    warnings.push(
      `sgx-quote-helper: the pod opts in (${optInBy}) but no container requests an SGX resource; nothing ` +
        `injected (add ${INJECT_ALL_ANNOTATION}: "true" to inject into every container)`,
    );
    return { outcome: 'unchanged', patch: [], warnings, injected: [] };
  }

  const patch: JsonPatchAdd[] = [];
  const injected: string[] = [];
  let mountsVolume = false;
  for (const t of targets) {
    const base = ['spec', t.list, t.index];
    let touched = false;
    const env = t.container.env;
    if (!asArray(env).some((e) => e?.name === SGX_AESM_ADDR_ENV)) {
      const entry = { name: SGX_AESM_ADDR_ENV, value: SGX_AESM_ADDR_VALUE };
      patch.push(
        Array.isArray(env)
          ? { op: 'add', path: pointer(...base, 'env', '-'), value: entry }
          : { op: 'add', path: pointer(...base, 'env'), value: [entry] },
      );
      touched = true;
    }
    const mounts = t.container.volumeMounts;
    const existing = asArray(mounts).find((m) => normalizePath(m?.mountPath) === AESMD_SOCKET_DIR);
    if (existing) {
      if (existing.name === AESMD_VOLUME_NAME) mountsVolume = true;
    } else {
      // Read-only: connecting to a Unix socket works on a read-only mount, unlinking or replacing it
      // does not, so an application cannot take the node socket away from its neighbours. Only
      // Intel's aesmd sidecar, which creates the socket, needs to write there.
      const entry =
        t.container.name === SIDECAR_CONTAINER_NAME
          ? { name: AESMD_VOLUME_NAME, mountPath: AESMD_SOCKET_DIR }
          : { name: AESMD_VOLUME_NAME, mountPath: AESMD_SOCKET_DIR, readOnly: true };
      patch.push(
        Array.isArray(mounts)
          ? { op: 'add', path: pointer(...base, 'volumeMounts', '-'), value: entry }
          : { op: 'add', path: pointer(...base, 'volumeMounts'), value: [entry] },
      );
      mountsVolume = true;
      touched = true;
    }
    if (touched) injected.push(t.container.name ?? `#${t.index}`);
  }

  const volumes = spec.volumes as VolumeLike[] | null | undefined;
  if (mountsVolume && !asArray(volumes).some((v) => v?.name === AESMD_VOLUME_NAME)) {
    const sidecar = asArray(spec.containers as ContainerLike[] | null).some((c) => c?.name === SIDECAR_CONTAINER_NAME);
    const volume = sidecar
      ? { name: AESMD_VOLUME_NAME, emptyDir: { medium: 'Memory' } }
      : { name: AESMD_VOLUME_NAME, hostPath: { path: AESMD_SOCKET_DIR, type: 'DirectoryOrCreate' } };
    patch.push(
      Array.isArray(volumes)
        ? { op: 'add', path: pointer('spec', 'volumes', '-'), value: volume }
        : { op: 'add', path: pointer('spec', 'volumes'), value: [volume] },
    );
  }

  if (patch.length > 0 && annotations[INJECTED_ANNOTATION] !== 'true') {
    // Marks the pod for `kubectl get pod -o yaml` readers: proof the webhook saw and changed it.
    const metadataIsObject = pod.metadata && typeof pod.metadata === 'object';
    if (!metadataIsObject) {
      patch.push({ op: 'add', path: pointer('metadata'), value: { annotations: { [INJECTED_ANNOTATION]: 'true' } } });
    } else if (!pod.metadata?.annotations || typeof pod.metadata.annotations !== 'object') {
      patch.push({ op: 'add', path: pointer('metadata', 'annotations'), value: { [INJECTED_ANNOTATION]: 'true' } });
    } else {
      patch.push({ op: 'add', path: pointer('metadata', 'annotations', INJECTED_ANNOTATION), value: 'true' });
    }
  }

  return { outcome: patch.length > 0 ? 'patched' : 'unchanged', patch, warnings, injected };
}
