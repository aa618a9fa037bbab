/**
 * Daemon configuration: CLI flags > environment (SQH_*) > optional config file (YAML or JSON) >
 * defaults. Everything is validated once, at start-up, and every bad value is named in the error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DaemonError } from './errors.js';
import { resolveStateDir } from '../providers/sim/state-dir.js';

export const PROVIDER_KINDS = ['auto', 'sim', 'upstream', 'dcap'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
import { LOG_LEVELS, type LogLevel } from '../log/index.js';
export { LOG_LEVELS, type LogLevel };
export const ON_REPLACED = ['exit', 'wait'] as const;
/** What an instance does after a successor took its socket: exit 0, or stay (not ready) until SIGTERM. */
export type OnReplaced = (typeof ON_REPLACED)[number];

export const DEFAULT_SOCKET_PATH = '/var/run/aesmd/aesm.socket';
export const DEFAULT_OPS_LISTEN = '127.0.0.1:9464';
/** AF_UNIX sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** Room the temporary `.<name>.<pid>.<rand>` sibling needs beyond the final path (see socket-binding.ts). */
export const SOCKET_TEMP_SUFFIX_BYTES = 24;

export interface OpsListen {
  host: string;
  port: number;
}

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

export const DEFAULTS = {
  provider: 'auto' as ProviderKind,
  socketMode: 0o666,
  drainTimeoutMs: 15_000,
  // Open connections; at the cap the connection that has sent the least is evicted (docs/operations.md).
  maxConnections: 512,
  requestTimeoutMs: 5_000,
  // Intel's client writes its whole request right after connect(); a silent connection is idle.
  firstByteTimeoutMs: 1_000,
  // Intel's client gives up after 15 s (spec §1.3); answering with an error before that beats a timeout.
  providerTimeoutMs: 10_000,
  maxRequestSize: 64 * 1024,
  logLevel: 'info' as LogLevel,
  onReplaced: 'exit' as OnReplaced,
  // Certification may go to a PCCS, which Intel's QCNL retries for about a minute (spec §4.5).
  dcapWarmupTimeoutMs: 60_000,
  takeOver: false,
};

/** One option: its flag, env var and config-file key. */
interface OptionSpec {
  key: keyof RawConfig;
  flag: string;
  env: string;
}

export interface RawConfig {
  provider?: string;
  stateDir?: string;
  socket?: string;
  opsListen?: string;
  upstream?: string;
  socketMode?: string;
  socketGroup?: string;
  drainTimeout?: string;
  maxConnections?: string;
  requestTimeout?: string;
  firstByteTimeout?: string;
  providerTimeout?: string;
  maxRequestSize?: string;
  logLevel?: string;
  onReplaced?: string;
  dcapLibDir?: string;
  dcapQe3Path?: string;
  dcapPcePath?: string;
  dcapQplPath?: string;
  dcapIdePath?: string;
  dcapWarmupTimeout?: string;
  sgxDeviceDir?: string;
  takeOver?: string;
}

export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'provider', flag: '--provider', env: 'SQH_PROVIDER' },
  { key: 'stateDir', flag: '--state-dir', env: 'SQH_STATE_DIR' },
  { key: 'socket', flag: '--socket', env: 'SQH_SOCKET' },
  { key: 'opsListen', flag: '--ops-listen', env: 'SQH_OPS_LISTEN' },
  { key: 'upstream', flag: '--upstream', env: 'SQH_UPSTREAM' },
  { key: 'socketMode', flag: '--socket-mode', env: 'SQH_SOCKET_MODE' },
  { key: 'socketGroup', flag: '--socket-group', env: 'SQH_SOCKET_GROUP' },
  { key: 'drainTimeout', flag: '--drain-timeout', env: 'SQH_DRAIN_TIMEOUT' },
  { key: 'maxConnections', flag: '--max-connections', env: 'SQH_MAX_CONNECTIONS' },
  { key: 'requestTimeout', flag: '--request-timeout', env: 'SQH_REQUEST_TIMEOUT' },
  { key: 'firstByteTimeout', flag: '--first-byte-timeout', env: 'SQH_FIRST_BYTE_TIMEOUT' },
  { key: 'providerTimeout', flag: '--provider-timeout', env: 'SQH_PROVIDER_TIMEOUT' },
  { key: 'maxRequestSize', flag: '--max-request-size', env: 'SQH_MAX_REQUEST_SIZE' },
  { key: 'logLevel', flag: '--log-level', env: 'SQH_LOG_LEVEL' },
  { key: 'onReplaced', flag: '--on-replaced', env: 'SQH_ON_REPLACED' },
  { key: 'dcapLibDir', flag: '--dcap-lib-dir', env: 'SQH_DCAP_LIB_DIR' },
  { key: 'dcapQe3Path', flag: '--dcap-qe3-path', env: 'SQH_DCAP_QE3_PATH' },
  { key: 'dcapPcePath', flag: '--dcap-pce-path', env: 'SQH_DCAP_PCE_PATH' },
  { key: 'dcapQplPath', flag: '--dcap-qpl-path', env: 'SQH_DCAP_QPL_PATH' },
  { key: 'dcapIdePath', flag: '--dcap-ide-path', env: 'SQH_DCAP_IDE_PATH' },
  { key: 'dcapWarmupTimeout', flag: '--dcap-warmup-timeout', env: 'SQH_DCAP_WARMUP_TIMEOUT' },
  { key: 'sgxDeviceDir', flag: '--sgx-device-dir', env: 'SQH_SGX_DEVICE_DIR' },
  { key: 'takeOver', flag: '--take-over', env: 'SQH_TAKE_OVER' },
];

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
  const origin: Partial<Record<keyof RawConfig, string>> = {};
  for (const spec of OPTION_SPECS) {
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
      origin[spec.key] = `${spec.key} in ${sources.configFile}`;
    }
  }
  const where = (k: keyof RawConfig) => origin[k] ?? k;
  const bad = (k: keyof RawConfig, why: string) => errors.push(`${where(k)}=${JSON.stringify(raw[k])}: ${why}`);

  const provider = (raw.provider ?? DEFAULTS.provider) as ProviderKind;
  if (!PROVIDER_KINDS.includes(provider)) bad('provider', `must be one of ${PROVIDER_KINDS.join(', ')}`);

  const socketPath = path.resolve(raw.socket ?? DEFAULT_SOCKET_PATH);
  if (Buffer.byteLength(socketPath) + SOCKET_TEMP_SUFFIX_BYTES > MAX_SOCKET_PATH_BYTES) {
    bad('socket', `path is ${Buffer.byteLength(socketPath)} bytes; AF_UNIX allows ${MAX_SOCKET_PATH_BYTES - SOCKET_TEMP_SUFFIX_BYTES} here (choose a shorter path)`);
  }
  // One default for every command that touches the simulated platform (serve, sim, quote, collateral).
  const stateDir = resolveStateDir(raw.stateDir, env);

  let opsListen: OpsListen | null = null;
  try {
    opsListen = parseListen(raw.opsListen ?? DEFAULT_OPS_LISTEN);
  } catch (e) {
    bad('opsListen', (e as Error).message);
  }

  const upstreamSocket = raw.upstream !== undefined ? path.resolve(raw.upstream) : undefined;
  if (provider === 'upstream' && !upstreamSocket) errors.push('--provider upstream needs --upstream <socket path> (or SQH_UPSTREAM)');
  if (upstreamSocket && upstreamSocket === socketPath) bad('upstream', 'is the daemon\'s own socket; forwarding to itself would loop');

  const num = <T>(k: keyof RawConfig, parse: (s: string) => T, dflt: T): T => {
    if (raw[k] === undefined) return dflt;
    try {
      return parse(String(raw[k]));
    } catch (e) {
      bad(k, (e as Error).message);
      return dflt;
    }
  };
  const socketMode = num('socketMode', parseMode, DEFAULTS.socketMode);
  const socketGid = raw.socketGroup !== undefined ? num('socketGroup', (s) => resolveGroup(s, sources.groupFile), undefined) : undefined;
  const drainTimeoutMs = num('drainTimeout', (s) => parseDuration(s, 0, 3_600_000), DEFAULTS.drainTimeoutMs);
  const requestTimeoutMs = num('requestTimeout', (s) => parseDuration(s, 10, 600_000), DEFAULTS.requestTimeoutMs);
  const firstByteTimeoutMs = num('firstByteTimeout', (s) => parseDuration(s, 10, 600_000), DEFAULTS.firstByteTimeoutMs);
  const takeOver = num('takeOver', parseBoolean, DEFAULTS.takeOver);
  const providerTimeoutMs = num('providerTimeout', (s) => parseDuration(s, 10, 600_000), DEFAULTS.providerTimeoutMs);
  const maxConnections = num('maxConnections', (s) => parseInteger(s, 1, 65_535), DEFAULTS.maxConnections);
  const maxRequestSize = num('maxRequestSize', (s) => parseSize(s, 4096, 16 * 1024 * 1024), DEFAULTS.maxRequestSize);
  const logLevel = (raw.logLevel ?? DEFAULTS.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) bad('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  const onReplaced = (raw.onReplaced ?? DEFAULTS.onReplaced) as OnReplaced;
  if (!ON_REPLACED.includes(onReplaced)) bad('onReplaced', `must be one of ${ON_REPLACED.join(', ')}`);

  const dcapWarmupTimeoutMs = num('dcapWarmupTimeout', (s) => parseDuration(s, 10, 3_600_000), DEFAULTS.dcapWarmupTimeoutMs);
  const abs = (k: keyof RawConfig) => (raw[k] !== undefined && raw[k] !== '' ? path.resolve(String(raw[k])) : undefined);
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

/** `true`/`false` (also 1/0, yes/no) for switches given through env or a config file. */
export function parseBoolean(s: string): boolean {
  if (/^(true|1|yes)$/i.test(s.trim())) return true;
  if (/^(false|0|no)$/i.test(s.trim())) return false;
  throw new Error('expected true or false');
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
  const known = new Set<string>(OPTION_SPECS.map((s) => s.key));
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

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` (loopback), or `off`. */
export function parseListen(s: string): OpsListen | null {
  if (s === 'off' || s === 'none' || s === 'disabled') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error('expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or "off"');
  const port = Number(m[3]);
  if (port > 65_535) throw new Error('port must be 0..65535');
  const host = m[1] ?? (m[2] || '127.0.0.1');
  return { host, port };
}

/** Durations: `500ms`, `15s`, `2m`, or a bare number of seconds. */
export function parseDuration(s: string, minMs: number, maxMs: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(s);
  if (!m) throw new Error('expected a duration like 500ms, 15s, 2m (a bare number means seconds)');
  const factor = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  const ms = Math.round(Number(m[1]) * factor);
  if (ms < minMs || ms > maxMs) throw new Error(`must be between ${minMs} ms and ${maxMs / 1000} s`);
  return ms;
}

export function parseInteger(s: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(s)) throw new Error('expected a whole number');
  const n = Number(s);
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max}`);
  return n;
}

/** Sizes: bytes, or with KiB/MiB (k/K/M accepted as the same binary units). */
export function parseSize(s: string, min: number, max: number): number {
  const m = /^\s*(\d+)\s*(KiB|MiB|k|K|M|KB|MB)?\s*$/.exec(s);
  if (!m) throw new Error('expected a size like 65536, 64KiB or 1MiB');
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : /^[kK]/.test(unit) ? 1024 : 1024 * 1024;
  const n = Number(m[1]) * factor;
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max} bytes`);
  return n;
}

/** Octal file mode: `0666`, `666`, `0o660`. */
export function parseMode(s: string): number {
  const m = /^\s*(?:0o|0)?([0-7]{3})\s*$/.exec(s);
  if (!m) throw new Error('expected an octal mode like 0666 or 0660');
  return parseInt(m[1], 8);
}

/** A group name (looked up in /etc/group) or a numeric gid. */
export function resolveGroup(s: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(s)) return Number(s);
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    throw new Error(`cannot read ${groupFile} to look up the group; give a numeric gid instead`);
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === s && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`no such group in ${groupFile}; give an existing group name or a numeric gid`);
}
