/**
 * The parts of a core/v1 Pod the webhook reads. Everything is optional because admission sees pods
 * before defaulting of some fields and clients send sparse objects; the mutation must not assume any
 * map or list exists.
 */
export interface EnvVarLike {
  name?: string;
  value?: string;
  valueFrom?: unknown;
}

export interface VolumeMountLike {
  name?: string;
  mountPath?: string;
  readOnly?: boolean;
}

export interface ResourceRequirementsLike {
  limits?: Record<string, string | number> | null;
  requests?: Record<string, string | number> | null;
}

export interface ContainerLike {
  name?: string;
  env?: EnvVarLike[] | null;
  volumeMounts?: VolumeMountLike[] | null;
  resources?: ResourceRequirementsLike | null;
  [key: string]: unknown;
}

export interface VolumeLike {
  name?: string;
  [key: string]: unknown;
}

export interface PodLike {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    annotations?: Record<string, string> | null;
    [key: string]: unknown;
  } | null;
  spec?: {
    containers?: ContainerLike[] | null;
    initContainers?: ContainerLike[] | null;
    volumes?: VolumeLike[] | null;
    [key: string]: unknown;
  } | null;
}

/** One RFC 6902 operation; the webhook only ever adds. */
export interface JsonPatchAdd {
  op: 'add';
  path: string;
  value: unknown;
}
