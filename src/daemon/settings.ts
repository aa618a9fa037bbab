/**
 * The one definition of every `serve` setting: flag, SQH_* environment variable, config-file key,
 * type, default, allowed values and description. `serve --help` (src/cli/serve.ts), start-up
 * validation (config.ts) and the Options table of docs/operations.md (scripts/gen-docs.ts) are all
 * made from SERVE_SETTINGS, so they cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { LOG_LEVELS } from '../log/index.js';

export const PROVIDER_KINDS = ['auto', 'sim', 'upstream', 'dcap'] as const;
export const ON_REPLACED = ['exit', 'wait'] as const;

/** The value types a setting can have; each has one parser and one description of what is allowed. */
export type SettingType = 'enum' | 'duration' | 'integer' | 'size' | 'mode' | 'listen' | 'path' | 'group' | 'boolean';

export interface Setting {
  /** camelCase name: the config-file key and the field of RawConfig. */
  readonly key: string;
  readonly flag: string;
  /** Commander's placeholder (`<kind>`); absent for a switch (a flag without a value). */
  readonly arg?: string;
  readonly env: string;
  readonly type: SettingType;
  /** The default as a user would write it; absent when there is none or it is computed (see defaultText). */
  readonly default?: string;
  /** How a computed or absent default is described (docs and --help). */
  readonly defaultText?: string;
  /** enum: the accepted values. */
  readonly values?: readonly string[];
  /** duration (ms), size (bytes), integer: inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

const s = <const T extends Setting>(x: T): T => x;

export const SERVE_SETTINGS = [
  s({ key: 'provider', flag: '--provider', arg: '<kind>', env: 'SQH_PROVIDER', type: 'enum', values: PROVIDER_KINDS, default: 'auto',
    description: 'where quotes come from; auto: upstream if --upstream is set, dcap when an SGX device and libsgx_dcap_ql.so.1 are present, else sim (SIMULATED)' }),
  s({ key: 'stateDir', flag: '--state-dir', arg: '<dir>', env: 'SQH_STATE_DIR', type: 'path',
    defaultText: '/var/lib/sgx-quote-helper/sim if writable, else $XDG_STATE_HOME/sgx-quote-helper/sim',
    description: 'sim provider state directory (the same default as `sim`); serve refuses one without a platform unless --init is given' }),
  s({ key: 'socket', flag: '--socket', arg: '<path>', env: 'SQH_SOCKET', type: 'path', default: '/var/run/aesmd/aesm.socket',
    description: 'AESM socket path; at most 83 bytes (the AF_UNIX limit minus room for the temporary name)' }),
  s({ key: 'opsListen', flag: '--ops-listen', arg: '<host:port>', env: 'SQH_OPS_LISTEN', type: 'listen', default: '127.0.0.1:9464',
    description: 'ops HTTP server for /healthz, /readyz and /metrics' }),
  s({ key: 'upstream', flag: '--upstream', arg: '<path>', env: 'SQH_UPSTREAM', type: 'path', defaultText: 'none',
    description: 'AESM socket to forward to (upstream provider; needed by --provider upstream)' }),
  s({ key: 'socketMode', flag: '--socket-mode', arg: '<octal>', env: 'SQH_SOCKET_MODE', type: 'mode', default: '0666',
    description: 'file mode of the socket' }),
  s({ key: 'socketGroup', flag: '--socket-group', arg: '<name|gid>', env: 'SQH_SOCKET_GROUP', type: 'group', defaultText: 'the process group',
    description: 'group of the socket file (the daemon must be a member or have CAP_CHOWN)' }),
  s({ key: 'drainTimeout', flag: '--drain-timeout', arg: '<duration>', env: 'SQH_DRAIN_TIMEOUT', type: 'duration', default: '15s', min: 0, max: 3_600_000,
    description: 'how long SIGTERM or a handover waits for open connections' }),
  s({ key: 'maxConnections', flag: '--max-connections', arg: '<n>', env: 'SQH_MAX_CONNECTIONS', type: 'integer', default: '512', min: 1, max: 65_535,
    description: 'open connections at most; at the cap a newcomer evicts the connection that has sent the least (see "Limits and fairness")' }),
  s({ key: 'requestTimeout', flag: '--request-timeout', arg: '<duration>', env: 'SQH_REQUEST_TIMEOUT', type: 'duration', default: '5s', min: 10, max: 600_000,
    description: 'deadline to receive a complete request (and for a peer to take its reply and close)' }),
  s({ key: 'firstByteTimeout', flag: '--first-byte-timeout', arg: '<duration>', env: 'SQH_FIRST_BYTE_TIMEOUT', type: 'duration', default: '1s', min: 10, max: 600_000,
    description: "deadline for a request's first byte; Intel's client writes right after connect(), so a silent connection is closed (idle)" }),
  s({ key: 'providerTimeout', flag: '--provider-timeout', arg: '<duration>', env: 'SQH_PROVIDER_TIMEOUT', type: 'duration', default: '10s', min: 10, max: 600_000,
    description: "deadline for one provider call, answered with AESM_BUSY (18) after it; keep it below the client's 15 s" }),
  s({ key: 'maxRequestSize', flag: '--max-request-size', arg: '<bytes>', env: 'SQH_MAX_REQUEST_SIZE', type: 'size', default: '64KiB', min: 4096, max: 16 * 1024 * 1024,
    description: 'largest accepted request frame body (real ones are at most 2.6 KB)' }),
  s({ key: 'logLevel', flag: '--log-level', arg: '<level>', env: 'SQH_LOG_LEVEL', type: 'enum', values: LOG_LEVELS, default: 'info',
    description: 'lowest level written to the JSON log on stdout' }),
  s({ key: 'onReplaced', flag: '--on-replaced', arg: '<exit|wait>', env: 'SQH_ON_REPLACED', type: 'enum', values: ON_REPLACED, default: 'exit',
    description: 'after a new instance took the socket: exit 0 once drained, or wait (drained, /readyz 503) until SIGTERM; use wait under a DaemonSet' }),
  s({ key: 'takeOver', flag: '--take-over', env: 'SQH_TAKE_OVER', type: 'boolean', default: 'false',
    description: 'replace a live socket at the path even when it is not provably another sgx-quote-helper (a host aesmd); without it serve exits 1 there' }),
  s({ key: 'dcapLibDir', flag: '--dcap-lib-dir', arg: '<dir>', env: 'SQH_DCAP_LIB_DIR', type: 'path', defaultText: 'the system library path',
    description: 'dcap provider: load libsgx_dcap_ql.so.1 and its dependencies (libsgx_qe3_logic.so, libsgx_pce_logic.so.1, a QPL if present) from this directory' }),
  s({ key: 'dcapQe3Path', flag: '--dcap-qe3-path', arg: '<file>', env: 'SQH_DCAP_QE3_PATH', type: 'path', defaultText: "the library's own lookup",
    description: 'dcap provider: QE3 enclave image instead of libsgx_qe3.signed.so.1 beside libsgx_qe3_logic.so' }),
  s({ key: 'dcapPcePath', flag: '--dcap-pce-path', arg: '<file>', env: 'SQH_DCAP_PCE_PATH', type: 'path', defaultText: "the library's own lookup",
    description: 'dcap provider: PCE enclave image' }),
  s({ key: 'dcapIdePath', flag: '--dcap-ide-path', arg: '<file>', env: 'SQH_DCAP_IDE_PATH', type: 'path', defaultText: "the library's own lookup",
    description: 'dcap provider: ID enclave image' }),
  s({ key: 'dcapQplPath', flag: '--dcap-qpl-path', arg: '<file>', env: 'SQH_DCAP_QPL_PATH', type: 'path', defaultText: 'libdcap_quoteprov.so.1 / .so by name',
    description: 'dcap provider: quote provider library to use' }),
  s({ key: 'dcapWarmupTimeout', flag: '--dcap-warmup-timeout', arg: '<duration>', env: 'SQH_DCAP_WARMUP_TIMEOUT', type: 'duration', default: '60s', min: 10, max: 3_600_000,
    description: 'dcap provider: bound for loading the QE3 and certifying the key before the socket is published' }),
  s({ key: 'sgxDeviceDir', flag: '--sgx-device-dir', arg: '<dir>', env: 'SQH_SGX_DEVICE_DIR', type: 'path', default: '/dev',
    description: "where to look for the SGX device nodes; Intel's library always opens /dev, so this only serves tests" }),
] as const satisfies readonly Setting[];

export type SettingKey = (typeof SERVE_SETTINGS)[number]['key'];

/** `serve` flags that are not settings (no config-file key): how a run starts, not what it is. */
export const SERVE_CLI_ONLY: readonly Setting[] = [
  { key: 'init', flag: '--init', env: '', type: 'boolean', defaultText: 'off',
    description: 'with the sim provider: create a new simulated platform when the state dir has none (npm start and the chart pass it)' },
  { key: 'config', flag: '--config', arg: '<file>', env: 'SQH_CONFIG', type: 'path', defaultText: 'none',
    description: 'YAML or JSON file with the config keys above; flags and env win over it' },
];

const SETTING_BY_KEY = new Map<string, Setting>(SERVE_SETTINGS.map((x) => [x.key, x]));

export function settingFor(key: string): Setting {
  const found = SETTING_BY_KEY.get(key);
  if (!found) throw new Error(`no serve setting "${key}"`);
  return found;
}

/** `15s`, `500ms`, `60m`: the shortest way to write a duration that parseDuration reads back. */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `4KiB`, `16MiB`, `100`: the shortest exact way to write a size. */
export function formatSize(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}KiB`;
  return String(n);
}

/** What a setting accepts, in words: the same text for --help, the docs and a start-up error. */
export function describeAllowed(x: Setting): string {
  switch (x.type) {
    case 'enum':
      return `one of ${(x.values ?? []).join(', ')}`;
    case 'duration':
      return `a duration from ${formatDuration(x.min ?? 0)} to ${formatDuration(x.max ?? 0)} (ms, s or m; a bare number is seconds)`;
    case 'size':
      return `a size from ${formatSize(x.min ?? 0)} to ${formatSize(x.max ?? 0)} (bytes, KiB or MiB)`;
    case 'integer':
      return `a whole number from ${x.min} to ${x.max}`;
    case 'mode':
      return 'an octal file mode (0666, 0660, 0o600)';
    case 'listen':
      return 'HOST:PORT, [IPv6]:PORT, :PORT (loopback) or off';
    case 'group':
      return 'a group name from /etc/group or a numeric gid';
    case 'boolean':
      return x.arg === undefined ? 'a switch (env and config file: true/false, 1/0, yes/no)' : 'true or false';
    case 'path':
      return 'a path (relative paths are resolved against the working directory)';
  }
}

/** The default as shown to users. */
export function describeDefault(x: Setting): string {
  return x.default ?? x.defaultText ?? 'none';
}

/** The --help line of a setting: description, then env var, default and what is allowed. */
export function helpText(x: Setting): string {
  const parts = [x.env ? `env ${x.env}` : '', `default ${describeDefault(x)}`];
  if (x.type !== 'path' && x.type !== 'boolean') parts.push(describeAllowed(x));
  return `${x.description} (${parts.filter(Boolean).join('; ')})`;
}

/**
 * Parse one value of a setting; throws an Error saying what is wrong with it (the caller adds the
 * setting's name as the user gave it, the value and describeAllowed).
 */
export function parseSettingValue(x: Setting, value: string, opts: { groupFile?: string } = {}): unknown {
  switch (x.type) {
    case 'enum':
      if (!(x.values ?? []).includes(value)) throw new Error('unknown value');
      return value;
    case 'duration':
      return parseDuration(value, x.min ?? 0, x.max ?? Number.MAX_SAFE_INTEGER);
    case 'size':
      return parseSize(value, x.min ?? 0, x.max ?? Number.MAX_SAFE_INTEGER);
    case 'integer':
      return parseInteger(value, x.min ?? 0, x.max ?? Number.MAX_SAFE_INTEGER);
    case 'mode':
      return parseMode(value);
    case 'listen':
      return parseListen(value);
    case 'group':
      return resolveGroup(value, opts.groupFile);
    case 'boolean':
      return parseBoolean(value);
    case 'path':
      return value;
  }
}

export interface OpsListen {
  host: string;
  port: number;
}

/** `true`/`false` (also 1/0, yes/no) for switches given through env or a config file. */
export function parseBoolean(v: string): boolean {
  if (/^(true|1|yes)$/i.test(v.trim())) return true;
  if (/^(false|0|no)$/i.test(v.trim())) return false;
  throw new Error('expected true or false');
}

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` (loopback), or `off`. */
export function parseListen(v: string): OpsListen | null {
  if (v === 'off' || v === 'none' || v === 'disabled') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(v);
  if (!m) throw new Error('expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or "off"');
  const port = Number(m[3]);
  if (port > 65_535) throw new Error('port must be 0..65535');
  const host = m[1] ?? (m[2] || '127.0.0.1');
  return { host, port };
}

/** Durations: `500ms`, `15s`, `2m`, or a bare number of seconds. */
export function parseDuration(v: string, minMs: number, maxMs: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
  if (!m) throw new Error('expected a duration like 500ms, 15s, 2m (a bare number means seconds)');
  const factor = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  const ms = Math.round(Number(m[1]) * factor);
  if (ms < minMs || ms > maxMs) throw new Error(`must be between ${minMs} ms and ${maxMs / 1000} s`);
  return ms;
}

export function parseInteger(v: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(v)) throw new Error('expected a whole number');
  const n = Number(v);
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max}`);
  return n;
}

/** Sizes: bytes, or with KiB/MiB (k/K/M accepted as the same binary units). */
export function parseSize(v: string, min: number, max: number): number {
  const m = /^\s*(\d+)\s*(KiB|MiB|k|K|M|KB|MB)?\s*$/.exec(v);
  if (!m) throw new Error('expected a size like 65536, 64KiB or 1MiB');
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : /^[kK]/.test(unit) ? 1024 : 1024 * 1024;
  const n = Number(m[1]) * factor;
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max} bytes`);
  return n;
}

/** Octal file mode: `0666`, `666`, `0o660`. */
export function parseMode(v: string): number {
  const m = /^\s*(?:0o|0)?([0-7]{3})\s*$/.exec(v);
  if (!m) throw new Error('expected an octal mode like 0666 or 0660');
  return parseInt(m[1], 8);
}

/** A group name (looked up in /etc/group) or a numeric gid. */
export function resolveGroup(v: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(v)) return Number(v);
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    throw new Error(`cannot read ${groupFile} to look up the group; give a numeric gid instead`);
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === v && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`no such group in ${groupFile}; give an existing group name or a numeric gid`);
}
