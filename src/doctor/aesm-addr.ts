/**
 * SGX_AESM_ADDR as Intel's DCAP library reads it: set to anything (even empty) means out-of-process,
 * quotes go to the compiled-in /var/run/aesmd/aesm.socket; unset means in-process, the app loads QE3
 * and PCE itself and needs both SGX devices. The value is never read as an address.
 */
import { DEFAULT_AESM_SOCKET } from '../client/index.js';
import { fail, ok, warn, type CheckResult, type DoctorRole } from './types.js';

export const CHECK_AESM_ADDR = 'sgx-aesm-addr';
export const AESM_ADDR_ENV = 'SGX_AESM_ADDR';

export interface AesmAddrCheckInput {
  env: NodeJS.ProcessEnv;
  role: DoctorRole;
  /** Both SGX devices are usable here (for the in-process case). */
  inProcessDevicesUsable: boolean;
}

export function isOutOfProcess(env: NodeJS.ProcessEnv): boolean {
  return env[AESM_ADDR_ENV] !== undefined;
}

export function checkSgxAesmAddr({ env, role, inProcessDevicesUsable }: AesmAddrCheckInput): CheckResult {
  const value = env[AESM_ADDR_ENV];
  if (value !== undefined) {
    const shown = JSON.stringify(value);
    if (role === 'node') {
      return ok(CHECK_AESM_ADDR, `set (${shown}); the helper's dcap provider removes it before loading Intel's library, so it does not matter here`);
    }
    const detail = `set (${shown}): Intel's DCAP library works out-of-process, sending every quote request to ${DEFAULT_AESM_SOCKET}`;
    if (value.startsWith('/') && value !== DEFAULT_AESM_SOCKET) {
      return warn(CHECK_AESM_ADDR, `${detail}; the value looks like a path, but it is never read as one`, `mount the helper's socket directory at /var/run/aesmd (Intel's library cannot be pointed elsewhere); any value, e.g. 1, means the same`);
    }
    return ok(CHECK_AESM_ADDR, detail);
  }
  if (role === 'node') return ok(CHECK_AESM_ADDR, 'unset (the helper does not need it)');
  const detail = `unset: Intel's DCAP library works in-process, loading QE3/PCE in this process, which needs /dev/sgx_enclave and /dev/sgx_provision here and never uses the helper`;
  const hint = `set ${AESM_ADDR_ENV}=1 in the container's environment (the helper's webhook adds it) so it is there before the process starts; the library reads it once, when it is loaded, so setenv() in main() is too late`;
  return inProcessDevicesUsable ? warn(CHECK_AESM_ADDR, `${detail} (both devices are usable, so in-process quoting may work)`, hint) : fail(CHECK_AESM_ADDR, `${detail}, and they are not usable: quotes will fail`, hint);
}
