/**
 * Where the AESM socket lives. Intel compiles this path into libsgx_quote_ex with no runtime
 * override (wire spec §1.1), so containers bind-mount the host's socket at exactly this place.
 */
export const DEFAULT_AESM_SOCKET = '/var/run/aesmd/aesm.socket';

/** Environment variable that points our tools (not Intel's library) at another socket. */
export const SOCKET_ENV = 'SQH_SOCKET';

/**
 * Resolve the socket path: explicit option, then `SQH_SOCKET`, then `/var/run/aesmd/aesm.socket`.
 *
 * `SGX_AESM_ADDR` is deliberately NOT consulted: Intel's DCAP library only tests whether it is set
 * (any value, even empty, switches to out-of-process mode) and never reads it as an address
 * (wire spec §1.4). Treating it as a path here would make our client disagree with Intel's.
 */
export function resolveSocketPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (option !== undefined && option !== '') return option;
  const fromEnv = env[SOCKET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_AESM_SOCKET;
}
