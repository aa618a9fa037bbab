/**
 * Is this a host the dcap provider can run on? Looks for Intel's libraries and the SGX device nodes
 * without loading anything, so `--provider auto` can choose and `--provider dcap` can refuse to start
 * with one message that says what is missing and how to get it (dcap-provider spec §1.2, §5.1).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { DCAP_QL_LIBRARY, PCE_LOGIC_LIBRARY, QE3_LOGIC_LIBRARY } from './native-binding.js';

/** Where ld.so finds Intel's Debian/Ubuntu (and RPM) packages when no directory is given. */
export const SYSTEM_LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib'];

export const DCAP_PACKAGES = 'libsgx-dcap-ql (brings libsgx-qe3-logic, libsgx-pce-logic, libsgx-urts, libsgx-ae-qe3, libsgx-ae-pce, libsgx-ae-id-enclave) and a quote provider library: libsgx-dcap-default-qpl (Intel PCS/PCCS) or az-dcap-client (Azure)';

export interface DcapHostOptions {
  /** `--dcap-lib-dir`: look only there. */
  libDir?: string;
  /** Where the device nodes are looked for (default /dev). Tests point it at a directory of stand-ins. */
  deviceDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface DcapHostCheck {
  /** Path of libsgx_dcap_ql.so.1 when found (with qe3_logic and pce_logic beside it). */
  library?: string;
  librarySearched: string[];
  enclaveDevice?: string;
  provisionDevice?: string;
  /** Each entry names one missing piece and how to provide it. Empty: the host looks usable. */
  problems: string[];
}

const canOpen = (p: string) => {
  try {
    accessSync(p, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

export function checkDcapHost(opts: DcapHostOptions = {}): DcapHostCheck {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const dirs = opts.libDir
    ? [path.resolve(opts.libDir)]
    : [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...SYSTEM_LIBRARY_DIRS];
  const libDirFound = dirs.find((d) => existsSync(path.join(d, DCAP_QL_LIBRARY)));
  const check: DcapHostCheck = { librarySearched: dirs, problems };
  if (!libDirFound) {
    problems.push(`${DCAP_QL_LIBRARY} not found (searched ${dirs.join(', ')}): install the Debian/Ubuntu packages ${DCAP_PACKAGES} from Intel's SGX repository (download.01.org/intel-sgx), or give --dcap-lib-dir the directory that holds them`);
  } else {
    check.library = path.join(libDirFound, DCAP_QL_LIBRARY);
    // From a directory the dependencies must sit beside it (from the system path ld.so finds them itself).
    if (opts.libDir) {
      for (const dep of [QE3_LOGIC_LIBRARY, PCE_LOGIC_LIBRARY]) {
        if (!existsSync(path.join(libDirFound, dep))) problems.push(`${dep} not found beside ${check.library} (packages libsgx-qe3-logic and libsgx-pce-logic)`);
      }
    }
  }

  const dev = opts.deviceDir ?? '/dev';
  const enclave = [path.join(dev, 'sgx_enclave'), path.join(dev, 'sgx/enclave')].find((p) => existsSync(p));
  const provision = [path.join(dev, 'sgx_provision'), path.join(dev, 'sgx/provision')].find((p) => existsSync(p));
  if (!enclave) {
    problems.push(`no SGX enclave device (${dev}/sgx_enclave or the legacy ${dev}/sgx/enclave): needs an SGX-capable CPU with SGX enabled in firmware and Linux 5.11+; in a container, pass the device (Intel's device plugin resource sgx.intel.com/enclave, or Azure's kubernetes.azure.com/sgx_epc_mem_in_MiB)`);
  } else {
    check.enclaveDevice = enclave;
    if (!canOpen(enclave)) problems.push(`${enclave} exists but this user cannot open it read-write: run as a member of the device's group (sgx on some distributions; udev rule 91-sgx-enclave.rules makes it 0666)`);
  }
  if (!provision) {
    problems.push(`no SGX provisioning device (${dev}/sgx_provision or ${dev}/sgx/provision): Intel's QE3 and PCE need it; in a container, pass it (sgx.intel.com/provision)`);
  } else {
    check.provisionDevice = provision;
    if (!canOpen(provision)) problems.push(`${provision} exists but this user cannot open it: add the daemon's user to group sgx_prv (created by libsgx-ae-pce; in a pod, supplementalGroups with its gid), or run as root`);
  }
  return check;
}

/** The one start-up message for `--provider dcap` on a host that lacks something. */
export function dcapHostProblemMessage(check: DcapHostCheck): string {
  return `the dcap provider cannot start on this host: ${check.problems.join('; ')}. Also needed: the daemon's user in group sgx_prv (or root) to open the provisioning device (udev rules from libsgx-enclave-common and libsgx-ae-pce set the nodes' modes and group), and /dev mounted exec. On a machine without SGX use --provider sim (SIMULATED quotes).`;
}
