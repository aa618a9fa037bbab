/**
 * Typed errors of the simulated platform. Callers (CLI, daemon) map them to exit codes / AESM codes;
 * every message names the file or argument at fault so an operator can act on it.
 */

export type SimStateErrorCode =
  | 'NOT_INITIALIZED' // no state in the directory: run `sim init`
  | 'ALREADY_INITIALIZED' // init without --force over an existing state
  | 'CORRUPT' // a file is unreadable, truncated, or inconsistent with the others
  | 'PARTIAL' // some files exist but the commit marker (platform.json) does not
  | 'UNSUPPORTED_VERSION' // written by a newer/older format
  | 'IO'; // permission or filesystem error

export class SimStateError extends Error {
  constructor(
    readonly code: SimStateErrorCode,
    message: string,
    /** The file (or directory) the error is about. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'SimStateError';
  }
}

export type SimInputErrorCode = 'INVALID_ARGUMENT' | 'INVALID_SIZE' | 'UNKNOWN_PROFILE';

/** Bad input to a library call (wrong size, bad hex, unknown profile). */
export class SimInputError extends Error {
  constructor(
    readonly code: SimInputErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SimInputError';
  }
}
