/**
 * Which quote provider library (QPL) Intel's DCAP library would load, and its configuration: Intel's
 * QCNL reads `$QCNL_CONF_PATH` or /etc/sgx_default_qcnl.conf (JSON with // comments since DCAP 1.13,
 * `KEY=value` lines before); Azure's az-dcap-client reads AZDCAP_* variables. The PCCS URL matters
 * most: the shipped default is https://localhost:8081, which inside a container is the container.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { QPL_LIBRARIES } from '../providers/dcap/native-binding.js';
import { findLibrary, librarySearchDirs } from './libraries.js';
import { ok, warn, type CheckResult, type DoctorRole } from './types.js';

export const CHECK_QUOTE_PROVIDER = 'quote-provider';
export const DEFAULT_QCNL_CONF = '/etc/sgx_default_qcnl.conf';
/** A configuration file larger than this is not a QCNL config. */
const MAX_CONF_BYTES = 256 * 1024;

export interface QcnlConfig {
  path: string;
  format: 'json' | 'key=value';
  pccsUrl?: string;
  collateralService?: string;
  useSecureCert?: boolean;
  /** Set when the file exists but cannot be read or parsed. */
  error?: string;
}

export interface QuoteProviderInfo {
  /** Intel's libdcap_quoteprov.so.1 (libsgx-dcap-default-qpl), when found. */
  intelQpl?: string;
  /** The legacy name, which Azure's az-dcap-client installs as /usr/lib/libdcap_quoteprov.so. */
  legacyQpl?: string;
  config?: QcnlConfig;
  /** Names of the AZDCAP_* variables set (values can carry client ids; URLs are shown by the check). */
  azdcapVars: string[];
  /** The collateral service the QCNL would use: collateral_service, else pccs_url. */
  collateralUrl?: string;
}

/** Remove // and /* *\/ comments outside JSON strings (Intel ships the file with comments). */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return out;
}

/** Parse a QCNL configuration in either format. */
export function parseQcnlConfig(text: string, file: string): QcnlConfig {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('//')) {
    try {
      const json = JSON.parse(stripJsonComments(text)) as Record<string, unknown>;
      const str = (k: string) => (typeof json[k] === 'string' ? (json[k] as string) : undefined);
      return {
        path: file,
        format: 'json',
        pccsUrl: str('pccs_url'),
        collateralService: str('collateral_service'),
        useSecureCert: typeof json.use_secure_cert === 'boolean' ? json.use_secure_cert : undefined,
      };
    } catch (e) {
      return { path: file, format: 'json', error: `not valid JSON (${(e as Error).message}); Intel's QCNL then fails with 0xE067 SGX_QL_CONFIG_INVALID_JSON` };
    }
  }
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) values.set(m[1]!.toUpperCase(), m[2]!);
  }
  const secure = values.get('USE_SECURE_CERT');
  return {
    path: file,
    format: 'key=value',
    pccsUrl: values.get('PCCS_URL'),
    useSecureCert: secure === undefined ? undefined : secure.toUpperCase() === 'TRUE',
  };
}

export function readQuoteProviderInfo(root: string, env: NodeJS.ProcessEnv): QuoteProviderInfo {
  const dirs = librarySearchDirs(env);
  const info: QuoteProviderInfo = {
    intelQpl: findLibrary(root, dirs, QPL_LIBRARIES[0]),
    legacyQpl: findLibrary(root, dirs, QPL_LIBRARIES[1]),
    azdcapVars: Object.keys(env).filter((k) => k.startsWith('AZDCAP_')).sort(),
  };
  const confPath = env.QCNL_CONF_PATH || DEFAULT_QCNL_CONF;
  try {
    const text = readFileHead(path.join(root, confPath), MAX_CONF_BYTES).toString('utf8');
    info.config = parseQcnlConfig(text, confPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') info.config = { path: confPath, format: 'json', error: `unreadable (${code ?? (e as Error).message})` };
  }
  info.collateralUrl = info.config?.collateralService || info.config?.pccsUrl;
  return info;
}

/** At most `max` bytes from the start of a file: the bound applies to the read, not to a copy of the whole file. */
function readFileHead(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    while (n < max) {
      const got = readSync(fd, buf, n, max - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** localhost, 127.0.0.0/8, ::1, 0.0.0.0: inside a container, the container itself. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.localdomain' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '0.0.0.0';
}

export interface QuoteProviderCheckInput {
  info: QuoteProviderInfo;
  role: DoctorRole;
  provider?: string;
}

export function checkQuoteProvider({ info, role, provider }: QuoteProviderCheckInput): CheckResult {
  const parts: string[] = [];
  if (info.intelQpl) parts.push(`Intel's QPL ${info.intelQpl}`);
  if (info.legacyQpl) parts.push(`${info.legacyQpl}${info.intelQpl ? " (not used: Intel's .so.1 wins)" : ' (Azure az-dcap-client or an old Intel QPL)'}`);
  if (info.azdcapVars.length) parts.push(`Azure client settings ${info.azdcapVars.join(', ')}`);
  const c = info.config;
  if (c) {
    if (c.error) parts.push(`${c.path}: ${c.error}`);
    else {
      parts.push(
        `${c.path} (${c.format}): pccs_url ${c.pccsUrl ?? '(unset)'}` +
          (c.collateralService ? `, collateral_service ${c.collateralService}` : '') +
          (c.useSecureCert === false ? ', use_secure_cert false' : ''),
      );
    }
  }
  const haveQpl = !!(info.intelQpl || info.legacyQpl);
  const usesQpl = role === 'node' ? provider !== 'sim' && provider !== 'upstream' : true;
  if (!haveQpl && !c) {
    if (role === 'node' && usesQpl) {
      return warn(
        CHECK_QUOTE_PROVIDER,
        'no quote provider library (libdcap_quoteprov.so.1 or .so) and no QCNL config',
        `install libsgx-dcap-default-qpl and set pccs_url in ${DEFAULT_QCNL_CONF} to your PCCS (or az-dcap-client on Azure); without a QPL quotes carry only an encrypted PPID and relying parties must look the PCK certificate up themselves`,
      );
    }
    const why = role === 'app' ? 'quoting through the helper does not use one here' : `the helper's ${provider} provider does not use one`;
    return ok(CHECK_QUOTE_PROVIDER, `no quote provider library or QCNL config (${why})`);
  }
  if (c?.error) return warn(CHECK_QUOTE_PROVIDER, parts.join('; '), `fix ${c.path}: Intel's sample is JSON with "pccs_url": "https://<your PCCS>:8081/sgx/certification/v4/"`);
  const loopback = [c?.pccsUrl, c?.collateralService].filter((u): u is string => !!u && isLoopbackUrl(u));
  if (loopback.length) {
    return warn(
      CHECK_QUOTE_PROVIDER,
      parts.join('; '),
      `${loopback[0]} points at this machine: inside a container that is the container itself, not a PCCS; set pccs_url in ${c!.path} to a reachable PCCS (e.g. a Service name) unless one really runs here`,
    );
  }
  if (info.intelQpl && !c && !info.legacyQpl) {
    return warn(CHECK_QUOTE_PROVIDER, `${parts.join('; ')}; no ${DEFAULT_QCNL_CONF}`, `Intel's QCNL needs ${DEFAULT_QCNL_CONF} (or QCNL_CONF_PATH) with pccs_url set to your PCCS`);
  }
  return ok(CHECK_QUOTE_PROVIDER, parts.join('; '));
}
