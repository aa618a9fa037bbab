/**
 * Typed errors of the daemon. `code` says what went wrong in a word an operator or a test can match;
 * the message says how to fix it.
 */
export type DaemonErrorCode =
  | 'CONFIG_INVALID' // a flag, env var or config-file value failed validation
  | 'SOCKET_PATH_NOT_SOCKET' // something that is not a socket sits at the socket path
  | 'SOCKET_PATH_TOO_LONG' // AF_UNIX paths are limited to 107 bytes (plus our temp suffix)
  | 'SOCKET_BIND_FAILED' // listen/chmod/chown/rename of the socket failed
  | 'SOCKET_FOREIGN' // a live socket at the path is not provably another sgx-quote-helper (use --take-over)
  | 'SOCKET_DIR_UNSAFE' // the socket directory lets other users replace the socket
  | 'OPS_LISTEN_FAILED' // the ops HTTP server could not listen
  | 'PROVIDER_UNAVAILABLE'; // the provider could not be created

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly code: DaemonErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
