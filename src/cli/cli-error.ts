/**
 * Errors the CLI reports as one clear line and a non-zero exit code, never a stack trace.
 * Exit codes: 1 = the operation failed (e.g. verification rejected, daemon error),
 * 2 = bad input or usage (unreadable file, malformed quote, bad flag value),
 * 3 = `verify` could not fetch collateral (see EXIT_COLLATERAL).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code for bad input: a malformed file, a bad flag value. */
export const EXIT_BAD_INPUT = 2;
/** Exit code for an operation that ran but did not succeed. */
export const EXIT_FAILURE = 1;
/** `verify`: collateral could not be fetched (service unreachable, timeout, not found), so nothing was judged. */
export const EXIT_COLLATERAL = 3;

/** Print an error the way every command does: `sgx-quote-helper: <message>` on stderr. */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`sgx-quote-helper: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`sgx-quote-helper: unexpected error: ${message}\n`);
  if (process.env.SQH_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return EXIT_FAILURE;
}
