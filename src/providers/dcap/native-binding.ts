/**
 * The koffi binding to Intel's DCAP quote-generation libraries: the sgx_ql_* core family that
 * aesmd's ECDSA bundle calls (dcap-provider spec §2.4, §2.7). Every SGX structure is passed as a raw
 * byte buffer of its exact size; the layouts live in src/sgx.
 *
 * Loading (spec §1.3): `libsgx_qe3_logic.so` alone does not load (its sgx_pce_* references are
 * unresolved), so the symbols are taken from `libsgx_dcap_ql.so.1`, whose DT_NEEDED entries bring in
 * qe3_logic and pce_logic in one load. From a directory (`--dcap-lib-dir`), where the dynamic loader
 * would not look for those dependencies, the PCE library is loaded first with RTLD_GLOBAL, then
 * qe3_logic, then dcap_ql by path; the loader matches dcap_ql's DT_NEEDED names against the sonames
 * already loaded. A quote provider library in that directory is loaded too, so qe3_logic's
 * dlopen("libdcap_quoteprov.so.1") finds it by soname and it stays resident.
 *
 * Calls are `.async` (koffi worker threads): the event loop never waits on the hardware. Nothing
 * here serialises them; DcapProvider does.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ATT_KEY_ID_EXT_SIZE, QE_REPORT_INFO_SIZE, REPORT_SIZE, TARGET_INFO_SIZE } from '../../sgx/index.js';

export const DCAP_QL_LIBRARY = 'libsgx_dcap_ql.so.1';
export const QE3_LOGIC_LIBRARY = 'libsgx_qe3_logic.so';
export const PCE_LOGIC_LIBRARY = 'libsgx_pce_logic.so.1';
/** Intel's QPL name first, then the legacy name Azure's az-dcap-client uses (spec §1.5). */
export const QPL_LIBRARIES = ['libdcap_quoteprov.so.1', 'libdcap_quoteprov.so'] as const;
/** Loaded from the directory too when present there (the dependencies of qe3/pce_logic). */
const SUPPORT_LIBRARIES = ['libsgx_enclave_common.so.1', 'libsgx_urts.so.2'] as const;

/** sgx_ql_request_policy_t */
export const SGX_QL_PERSISTENT = 0;
export const SGX_QL_EPHEMERAL = 1;
/** sgx_ql_path_type_t (sgx_ql_set_path) */
export const SgxQlPathType = { QE3: 0, PCE: 1, QPL: 2, IDE: 3 } as const;
export const PUB_KEY_ID_SIZE = 32;
const MISC_ATTRIBUTE_SIZE = 24;
const LAUNCH_TOKEN_SIZE = 1024;

export class DcapLoadError extends Error {
  override readonly name = 'DcapLoadError';
  constructor(
    readonly code: 'KOFFI_MISSING' | 'LIBRARY_MISSING' | 'LOAD_FAILED',
    message: string,
  ) {
    super(message);
  }
}

export interface NativeLoadOptions {
  /** Directory holding libsgx_dcap_ql.so.1 and its dependencies; default: the system library path. */
  libDir?: string;
}

/** What the daemon calls. Every method resolves with the native return value (`code`), never rejects for a native error. */
export interface DcapNative {
  /** Where libsgx_dcap_ql.so.1 came from, and which QPL was loaded from libDir (if any). */
  readonly loadedFrom: string;
  readonly preloadedQpl?: string;
  setEnclaveLoadPolicy(policy: number): Promise<{ code: number }>;
  getKeyId(): Promise<{ code: number; keyId: Buffer }>;
  setPath(type: number, file: string): Promise<{ code: number }>;
  /** Raw sgx_status_t on failure (not translated by Intel's library). */
  loadQe(): Promise<{ code: number }>;
  /** True when a quote provider library is usable; the handle is kept, as aesmd keeps it. */
  getQplHandle(): Promise<{ code: number; loaded: boolean }>;
  /** sgx_ql_init_quote with a 32-byte pub_key_id buffer: generate or certify the attestation key. */
  initQuote(keyId: Buffer): Promise<{ code: number; targetInfo: Buffer; pubKeyId: Buffer; pubKeyIdSize: number }>;
  getQuoteSize(keyId: Buffer): Promise<{ code: number; quoteSize: number }>;
  getQuote(report: Buffer, keyId: Buffer, qeReportInfo: Buffer | undefined, quoteSize: number): Promise<{ code: number; quote: Buffer; qeReportInfo?: Buffer }>;
  /** _exit(2) without running exit handlers: the only way out while a native call is stuck (libuv joins its workers at exit). */
  exitImmediately(code: number): never;
}

type KoffiModule = typeof import('koffi');
type KoffiFn = ReturnType<import('koffi').LibraryHandle['func']>;

async function importKoffi(): Promise<KoffiModule> {
  try {
    const m = (await import('koffi')) as KoffiModule & { default?: KoffiModule };
    return m.default ?? m;
  } catch (e) {
    throw new DcapLoadError('KOFFI_MISSING', `the koffi FFI package (an optional dependency) is not installed or has no prebuilt binary for this platform: run "npm install koffi@3" (${(e as Error).message})`);
  }
}

function callAsync<T>(fn: KoffiFn, args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn.async(...args, (err: unknown, res: T) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
  });
}

export async function loadDcapNative(opts: NativeLoadOptions = {}): Promise<DcapNative> {
  const koffi = await importKoffi();
  // Handles are kept for the life of the process: koffi unloads a library once nothing refers to it.
  const handles: unknown[] = [];
  const load = (file: string, options?: { global?: boolean }) => {
    try {
      const h = options ? koffi.load(file, options) : koffi.load(file);
      handles.push(h);
      return h;
    } catch (e) {
      throw new DcapLoadError('LOAD_FAILED', `cannot load ${file}: ${(e as Error).message}`);
    }
  };
  let lib: import('koffi').LibraryHandle;
  let loadedFrom: string;
  let preloadedQpl: string | undefined;
  if (opts.libDir) {
    const dir = path.resolve(opts.libDir);
    for (const name of [DCAP_QL_LIBRARY, QE3_LOGIC_LIBRARY, PCE_LOGIC_LIBRARY]) {
      if (!existsSync(path.join(dir, name))) throw new DcapLoadError('LIBRARY_MISSING', `${name} not found in ${dir}`);
    }
    for (const name of SUPPORT_LIBRARIES) if (existsSync(path.join(dir, name))) load(path.join(dir, name));
    load(path.join(dir, PCE_LOGIC_LIBRARY), { global: true });
    load(path.join(dir, QE3_LOGIC_LIBRARY));
    const qpl = QPL_LIBRARIES.map((n) => path.join(dir, n)).find((p) => existsSync(p));
    if (qpl) {
      load(qpl);
      preloadedQpl = qpl;
    }
    loadedFrom = path.join(dir, DCAP_QL_LIBRARY);
    lib = load(loadedFrom) as import('koffi').LibraryHandle;
  } else {
    loadedFrom = DCAP_QL_LIBRARY;
    lib = load(DCAP_QL_LIBRARY) as import('koffi').LibraryHandle;
  }
  const libc = load('libc.so.6') as import('koffi').LibraryHandle;
  const exit = libc.func('void _exit(int status)');

  const fn = {
    setPolicy: lib.func('uint32_t sgx_ql_set_enclave_load_policy(uint32_t policy)'),
    getKeyId: lib.func('uint32_t sgx_ql_get_keyid(_Out_ uint8_t *att_key_id_ext)'),
    setPath: lib.func('uint32_t sgx_ql_set_path(uint32_t path_type, const char *path)'),
    loadQe: lib.func('uint32_t load_qe(_Out_ uint64_t *eid, _Out_ uint8_t *misc_attr, _Out_ uint8_t *launch_token)'),
    getQplHandle: lib.func('void *get_qpl_handle(void)'),
    initQuote: lib.func('uint32_t sgx_ql_init_quote(const uint8_t *att_key_id, _Out_ uint8_t *qe_target_info, bool refresh_att_key, _Inout_ size_t *pub_key_id_size, _Out_ uint8_t *pub_key_id)'),
    getQuoteSize: lib.func('uint32_t sgx_ql_get_quote_size(const uint8_t *att_key_id, _Out_ uint32_t *quote_size)'),
    getQuote: lib.func('uint32_t sgx_ql_get_quote(const uint8_t *app_report, const uint8_t *att_key_id, _Inout_ uint8_t *qe_report_info, _Out_ uint8_t *quote, uint32_t quote_size)'),
  };
  // Input buffers are copied: the library reads them on a worker thread, so nobody else may touch them meanwhile.
  const keyIdArg = (keyId: Buffer) => {
    if (keyId.length !== ATT_KEY_ID_EXT_SIZE) throw new RangeError(`att key id must be ${ATT_KEY_ID_EXT_SIZE} bytes`);
    return Buffer.from(keyId);
  };

  return {
    loadedFrom,
    ...(preloadedQpl ? { preloadedQpl } : {}),
    async setEnclaveLoadPolicy(policy) {
      return { code: await callAsync<number>(fn.setPolicy, [policy]) };
    },
    async getKeyId() {
      const keyId = Buffer.alloc(ATT_KEY_ID_EXT_SIZE);
      return { code: await callAsync<number>(fn.getKeyId, [keyId]), keyId };
    },
    async setPath(type, file) {
      return { code: await callAsync<number>(fn.setPath, [type, file]) };
    },
    async loadQe() {
      const eid = [0n];
      const attr = Buffer.alloc(MISC_ATTRIBUTE_SIZE);
      const token = Buffer.alloc(LAUNCH_TOKEN_SIZE);
      return { code: await callAsync<number>(fn.loadQe, [eid, attr, token]) };
    },
    async getQplHandle() {
      const handle = await callAsync<unknown>(fn.getQplHandle, []);
      const loaded = handle !== null && handle !== undefined && handle !== 0n && handle !== 0;
      return { code: 0, loaded };
    },
    async initQuote(keyId) {
      const targetInfo = Buffer.alloc(TARGET_INFO_SIZE);
      const pubKeyId = Buffer.alloc(PUB_KEY_ID_SIZE);
      const size = [PUB_KEY_ID_SIZE];
      // refresh_att_key is always false, as aesmd passes it (spec §4.2).
      const code = await callAsync<number>(fn.initQuote, [keyIdArg(keyId), targetInfo, false, size, pubKeyId]);
      return { code, targetInfo, pubKeyId, pubKeyIdSize: Number(size[0]) };
    },
    async getQuoteSize(keyId) {
      const size = [0];
      const code = await callAsync<number>(fn.getQuoteSize, [keyIdArg(keyId), size]);
      return { code, quoteSize: Number(size[0]) };
    },
    async getQuote(report, keyId, qeReportInfo, quoteSize) {
      if (report.length !== REPORT_SIZE) throw new RangeError(`report must be ${REPORT_SIZE} bytes`);
      if (qeReportInfo && qeReportInfo.length !== QE_REPORT_INFO_SIZE) throw new RangeError(`qe_report_info must be ${QE_REPORT_INFO_SIZE} bytes`);
      // A zeroed buffer of the asked size, as aesmd hands the QE (spec [WIRE] §4.2).
      const quote = Buffer.alloc(quoteSize);
      const qri = qeReportInfo ? Buffer.from(qeReportInfo) : null;
      const code = await callAsync<number>(fn.getQuote, [Buffer.from(report), keyIdArg(keyId), qri, quote, quoteSize]);
      return { code, quote, ...(qri ? { qeReportInfo: qri } : {}) };
    },
    exitImmediately(code: number): never {
      exit(code);
      throw new Error('unreachable: _exit returned');
    },
  };
}
