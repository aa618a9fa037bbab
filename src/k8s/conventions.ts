/**
 * The names both sides of the out-of-process quoting contract agree on. Application images with
 * libsgx-quote-ex look for SGX_AESM_ADDR and connect to /var/run/aesmd/aesm.socket; the DaemonSet puts
 * the socket in the same host directory. Intel's webhook uses the same volume name and env var, so pods
 * mutated by either webhook look alike (and neither duplicates what the other added).
 */
export const INJECT_ANNOTATION = 'sgx-quote-helper.io/inject';
export const INJECT_ALL_ANNOTATION = 'sgx-quote-helper.io/inject-all';
export const INJECTED_ANNOTATION = 'sgx-quote-helper.io/injected';
export const INTEL_QUOTE_PROVIDER_ANNOTATION = 'sgx.intel.com/quote-provider';
/** Intel's annotation value that means "quote through an AESM socket, not in-process". */
export const INTEL_OUT_OF_PROCESS_VALUE = 'aesmd';
/** Intel's sidecar convention: a container with this name is the pod's own quote service. */
export const SIDECAR_CONTAINER_NAME = 'aesmd';

export const AESMD_SOCKET_DIR = '/var/run/aesmd';
export const AESMD_VOLUME_NAME = 'aesmd-socket';
export const SGX_AESM_ADDR_ENV = 'SGX_AESM_ADDR';
/** Any value selects out-of-process quoting; "1" is what Azure and Intel document. A string, always. */
export const SGX_AESM_ADDR_VALUE = '1';

export const INTEL_RESOURCE_PREFIX = 'sgx.intel.com/';
export const INTEL_EPC_RESOURCE = 'sgx.intel.com/epc';
export const INTEL_ENCLAVE_RESOURCE = 'sgx.intel.com/enclave';
export const INTEL_PROVISION_RESOURCE = 'sgx.intel.com/provision';
export const AZURE_EPC_RESOURCE = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';

/** True for the device-plugin resources of Intel's plugin and Azure's legacy EPC resource. */
export function isSgxResource(name: string): boolean {
  return name.startsWith(INTEL_RESOURCE_PREFIX) || name === AZURE_EPC_RESOURCE;
}
