/**
 * Intel's libraries, looked for the way ld.so would find them (LD_LIBRARY_PATH, then the usual system
 * directories, the list host-check.ts uses for `--provider auto`), under an injected filesystem root.
 * Nothing is loaded: a doctor must not crash on a broken library.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_LIBRARY_DIRS } from '../providers/dcap/host-check.js';
import { DCAP_QL_LIBRARY, PCE_LOGIC_LIBRARY, QE3_LOGIC_LIBRARY } from '../providers/dcap/native-binding.js';
import { fail, ok, warn, type CheckResult, type DoctorRole } from './types.js';

export const CHECK_LIBRARIES = 'intel-libraries';
/** What Intel's DCAP library dlopen()s in out-of-process mode (SGX_AESM_ADDR set). */
export const QUOTE_EX_LIBRARY = 'libsgx_quote_ex.so.1';

/** Debian/Ubuntu package of each library (Intel's SGX repository). */
export const LIBRARY_PACKAGES: Record<string, string> = {
  [DCAP_QL_LIBRARY]: 'libsgx-dcap-ql',
  [QE3_LOGIC_LIBRARY]: 'libsgx-qe3-logic',
  [PCE_LOGIC_LIBRARY]: 'libsgx-pce-logic',
  [QUOTE_EX_LIBRARY]: 'libsgx-quote-ex',
};

export interface LibraryCheckInput {
  root: string;
  env: NodeJS.ProcessEnv;
  role: DoctorRole;
  /** The helper's provider, when known: only dcap loads Intel's libraries in the helper. */
  provider?: string;
}

/** The directories searched, as a user would write them (LD_LIBRARY_PATH first). */
export function librarySearchDirs(env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  return [...new Set([...fromEnv, ...SYSTEM_LIBRARY_DIRS])];
}

/** Where `name` is found under `root`, as a path without the root, or undefined. */
export function findLibrary(root: string, dirs: string[], name: string): string | undefined {
  for (const d of dirs) {
    if (existsSync(path.join(root, d, name))) return path.posix.join(d, name);
  }
  return undefined;
}

export function checkIntelLibraries(input: LibraryCheckInput): CheckResult {
  const dirs = librarySearchDirs(input.env);
  const needed = input.role === 'node' ? [DCAP_QL_LIBRARY, QE3_LOGIC_LIBRARY, PCE_LOGIC_LIBRARY] : [QUOTE_EX_LIBRARY, DCAP_QL_LIBRARY];
  const found = new Map(needed.map((n) => [n, findLibrary(input.root, dirs, n)]));
  const missing = needed.filter((n) => !found.get(n));
  const present = needed.filter((n) => found.get(n)).map((n) => found.get(n)!);
  const detail = [present.length ? `found ${present.join(', ')}` : '', missing.length ? `missing ${missing.join(', ')} (searched ${dirs.join(', ')})` : '']
    .filter(Boolean)
    .join('; ');
  if (missing.length === 0) return ok(CHECK_LIBRARIES, detail);
  const packages = missing.map((n) => LIBRARY_PACKAGES[n]).join(' ');
  const install = `install ${packages} from Intel's SGX package repository (download.01.org/intel-sgx)`;

  if (input.role === 'node') {
    if (input.provider === 'sim' || input.provider === 'upstream') {
      return warn(CHECK_LIBRARIES, `${detail} (the helper's ${input.provider} provider does not load them)`, `only the dcap provider needs them: ${install} in the helper's image`);
    }
    return fail(CHECK_LIBRARIES, detail, `${install} in the helper's image, or point --dcap-lib-dir at them`);
  }
  if (missing.includes(QUOTE_EX_LIBRARY)) {
    return fail(
      CHECK_LIBRARIES,
      detail,
      `${install} in the application image: with SGX_AESM_ADDR set, Intel's DCAP library dlopen()s ${QUOTE_EX_LIBRARY} for every quote and fails with 0xE040 without it (apps with their own AESM client, e.g. ours or Gramine's, need neither)`,
    );
  }
  return warn(CHECK_LIBRARIES, detail, `apps that call sgx_qe_get_quote need ${DCAP_QL_LIBRARY}: ${install}; SDK apps calling sgx_get_quote_ex need only ${QUOTE_EX_LIBRARY}`);
}
