/**
 * Daemon configuration: CLI flags > environment (SQH_*) > optional config file (YAML or JSON) >
 * defaults. Everything is validated once, at start-up, and every bad value is named in the error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DaemonError } from './errors.js';
import { resolveStateDir } from '../providers/sim/state-dir.js';

import { LOG_LEVELS, type LogLevel } from '../log/index.js';
import {
  ON_REPLACED,
  PROVIDER_KINDS,
  SERVE_SETTINGS,
  describeAllowed,
  parseSettingValue,
  settingFor,
  type OpsListen,
  type SettingKey,
} from './settings.js';

export { LOG_LEVELS, type LogLevel, type OpsListen };
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
/** What an instance does after a successor took its socket: exit 0, or stay (not ready) until SIGTERM. */
export type OnReplaced = (typeof ON_REPLACED)[number];

export const DEFAULT_SOCKET_PATH = settingFor('socket').default as string;
export const DEFAULT_OPS_LISTEN = settingFor('opsListen').default as string;
/** AF_UNIX sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** Room the temporary `.<name>.<pid>.<rand>` sibling needs beyond the final path (see socket-binding.ts). */
export const SOCKET_TEMP_SUFFIX_BYTES = 24;

export interface DaemonConfig {
  provider: ProviderKind;
  stateDir: string;
  socketPath: string;
  /** null: ops HTTP server disabled (`--ops-listen off`). */
  opsListen: OpsListen | null;
  upstreamSocket?: string;
  socketMode: number;
  /** Numeric gid the socket is chowned to; undefined keeps the process's group. */
  socketGid?: number;
  drainTimeoutMs: number;
  maxConnections: number;
  requestTimeoutMs: number;
  firstByteTimeoutMs: number;
  providerTimeoutMs: number;
  maxRequestSize: number;
  logLevel: LogLevel;
  onReplaced: OnReplaced;
  /** Replace a live socket even when it is not provably another sgx-quote-helper (`--take-over`). */
  takeOver: boolean;
  /** dcap provider settings (absolute paths; undefined = the library's own lookup). */
  dcap: DcapConfig;
}

export interface DcapConfig {
  /** Directory with libsgx_dcap_ql.so.1, libsgx_qe3_logic.so, libsgx_pce_logic.so.1 (and optionally the QPL). */
  libDir?: string;
  qe3Path?: string;
  pcePath?: string;
  qplPath?: string;
  idePath?: string;
  /** Bound for the start-up warm-up (load QE3, certify the key) before the socket is published. */
  warmupTimeoutMs: number;
  /** Where the SGX device nodes are looked for; Intel's library itself always opens /dev. For tests. */
  deviceDir?: string;
}

/** A table default, parsed (the table in settings.ts is the one place defaults are written). */
function tableDefault<T>(key: SettingKey): T {
  const x = settingFor(key);
  return parseSettingValue(x, x.default as string) as T;
}

export const DEFAULTS = {
  provider: tableDefault<ProviderKind>('provider'),
  socketMode: tableDefault<number>('socketMode'),
  drainTimeoutMs: tableDefault<number>('drainTimeout'),
  // Open connections; at the cap the connection that has sent the least is evicted (docs/operations.md).
  maxConnections: tableDefault<number>('maxConnections'),
  requestTimeoutMs: tableDefault<number>('requestTimeout'),
  // Intel's client writes its whole request right after connect(); a silent connection is idle.
  firstByteTimeoutMs: tableDefault<number>('firstByteTimeout'),
  // Intel's client gives up after 15 s (spec §1.3); answering with an error before that beats a timeout.
  providerTimeoutMs: tableDefault<number>('providerTimeout'),
  maxRequestSize: tableDefault<number>('maxRequestSize'),
  logLevel: tableDefault<LogLevel>('logLevel'),
  onReplaced: tableDefault<OnReplaced>('onReplaced'),
  // Certification may go to a PCCS, which Intel's QCNL retries for about a minute (spec §4.5).
  dcapWarmupTimeoutMs: tableDefault<number>('dcapWarmupTimeout'),
  takeOver: tableDefault<boolean>('takeOver'),
};

/** Raw values as given (strings), by config-file key; one field per row of SERVE_SETTINGS. */
export type RawConfig = { [K in SettingKey]?: string };

export interface ConfigSources {
  /** Values given on the command line (undefined = not given). */
  flags?: RawConfig;
  env?: NodeJS.ProcessEnv;
  /** Config file path (`--config` / SQH_CONFIG); YAML or JSON with the camelCase keys of RawConfig. */
  configFile?: string;
  /** Group database for `--socket-group NAME` (default /etc/group). */
  groupFile?: string;
}

/** Resolve and validate. Throws DaemonError('CONFIG_INVALID') listing every bad value. */
export function resolveConfig(sources: ConfigSources = {}): DaemonConfig {
  const env = sources.env ?? process.env;
  const errors: string[] = [];
  const fileValues = sources.configFile ? readConfigFile(sources.configFile, errors) : {};
  const raw: RawConfig = {};
  // How the user named each value they gave: the flag, the env var, or the key in the config file.
  const origin: Partial<Record<SettingKey, string>> = {};
  const fromFileKeys = new Set<SettingKey>();
  for (const spec of SERVE_SETTINGS) {
    const fromFlag = sources.flags?.[spec.key];
    const fromEnv = env[spec.env];
    const fromFile = fileValues[spec.key];
    if (fromFlag !== undefined) {
      raw[spec.key] = fromFlag;
      origin[spec.key] = spec.flag;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw[spec.key] = fromEnv;
      origin[spec.key] = spec.env;
    } else if (fromFile !== undefined) {
      raw[spec.key] = fromFile;
      origin[spec.key] = spec.key;
      fromFileKeys.add(spec.key);
    }
  }
  const where = (k: SettingKey) => origin[k] ?? k;
  const bad = (k: SettingKey, why: string) =>
    errors.push(`${where(k)}=${JSON.stringify(raw[k])}${fromFileKeys.has(k) ? ` (config file ${sources.configFile})` : ''}: ${why}`);
  /** The value given, or the table default, parsed by the table's rules; a bad value is reported with what is allowed. */
  const value = <T>(k: SettingKey, fallback: T): T => {
    const spec = settingFor(k);
    const given = raw[k];
    if (given === undefined) return spec.default !== undefined ? (parseSettingValue(spec, spec.default, sources) as T) : fallback;
    try {
      return parseSettingValue(spec, String(given), sources) as T;
    } catch (e) {
      bad(k, `${(e as Error).message}; allowed: ${describeAllowed(spec)}`);
      return fallback;
    }
  };

  const provider = value<ProviderKind>('provider', DEFAULTS.provider);

  const socketPath = path.resolve(raw.socket ?? DEFAULT_SOCKET_PATH);
  if (Buffer.byteLength(socketPath) + SOCKET_TEMP_SUFFIX_BYTES > MAX_SOCKET_PATH_BYTES) {
    bad('socket', `path is ${Buffer.byteLength(socketPath)} bytes; AF_UNIX allows ${MAX_SOCKET_PATH_BYTES - SOCKET_TEMP_SUFFIX_BYTES} here (choose a shorter path)`);
  }
  // One default for every command that touches the simulated platform (serve, sim, quote, collateral).
  const stateDir = resolveStateDir(raw.stateDir, env);

  const opsListen = value<OpsListen | null>('opsListen', null);

  const upstreamSocket = raw.upstream !== undefined ? path.resolve(raw.upstream) : undefined;
  if (provider === 'upstream' && !upstreamSocket) errors.push('--provider upstream needs --upstream <socket path> (or SQH_UPSTREAM)');
  if (upstreamSocket && upstreamSocket === socketPath) bad('upstream', 'is the daemon\'s own socket; forwarding to itself would loop');

  const socketMode = value('socketMode', DEFAULTS.socketMode);
  const socketGid = value<number | undefined>('socketGroup', undefined);
  const drainTimeoutMs = value('drainTimeout', DEFAULTS.drainTimeoutMs);
  const requestTimeoutMs = value('requestTimeout', DEFAULTS.requestTimeoutMs);
  const firstByteTimeoutMs = value('firstByteTimeout', DEFAULTS.firstByteTimeoutMs);
  const takeOver = value('takeOver', DEFAULTS.takeOver);
  const providerTimeoutMs = value('providerTimeout', DEFAULTS.providerTimeoutMs);
  const maxConnections = value('maxConnections', DEFAULTS.maxConnections);
  const maxRequestSize = value('maxRequestSize', DEFAULTS.maxRequestSize);
  const logLevel = value('logLevel', DEFAULTS.logLevel);
  const onReplaced = value('onReplaced', DEFAULTS.onReplaced);

  const dcapWarmupTimeoutMs = value('dcapWarmupTimeout', DEFAULTS.dcapWarmupTimeoutMs);
  const abs = (k: SettingKey) => (raw[k] !== undefined && raw[k] !== '' ? path.resolve(String(raw[k])) : undefined);
  const dcap: DcapConfig = { warmupTimeoutMs: dcapWarmupTimeoutMs };
  for (const [k, field] of [['dcapLibDir', 'libDir'], ['dcapQe3Path', 'qe3Path'], ['dcapPcePath', 'pcePath'], ['dcapQplPath', 'qplPath'], ['dcapIdePath', 'idePath'], ['sgxDeviceDir', 'deviceDir']] as const) {
    const v = abs(k);
    if (v !== undefined) dcap[field] = v;
  }

  if (errors.length > 0) {
    throw new DaemonError('CONFIG_INVALID', `invalid configuration: ${errors.join('; ')}`);
  }
  return {
    provider,
    stateDir,
    socketPath,
    opsListen,
    ...(upstreamSocket ? { upstreamSocket } : {}),
    socketMode,
    ...(socketGid !== undefined ? { socketGid } : {}),
    drainTimeoutMs,
    maxConnections,
    requestTimeoutMs,
    firstByteTimeoutMs,
    providerTimeoutMs,
    maxRequestSize,
    logLevel,
    onReplaced,
    dcap,
    takeOver,
  };
}

/**
 * The YAML parser, loaded only when there is a config file: it is ~70 modules, and every byte of the
 * daemon's heap at start-up is multiplied by V8's heap growth under load (docs/operations.md, "Memory").
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function readConfigFile(file: string, errors: string[]): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    errors.push(`config file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return {};
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    errors.push(`config file ${file}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]})`);
    return {};
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    errors.push(`config file ${file}: must be a mapping of option names to values`);
    return {};
  }
  const known = new Set<string>(SERVE_SETTINGS.map((x) => x.key));
  const out: RawConfig = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!known.has(k)) {
      errors.push(`config file ${file}: unknown key "${k}" (known: ${[...known].join(', ')})`);
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      errors.push(`config file ${file}: "${k}" must be a string or number`);
      continue;
    }
    out[k as keyof RawConfig] = String(v);
  }
  return out;
}
