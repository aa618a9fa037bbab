import type { Command } from 'commander';
import { CliError, EXIT_BAD_INPUT } from './cli-error.js';
import { runDemo } from '../demo/index.js';
import { TCB_PROFILES, type TcbProfile } from '../providers/sim/index.js';

/** `demo`: the whole out-of-process flow, SIMULATED, in a temporary directory. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('End-to-end SIMULATED demo: daemon + collateral server + an application getting a quote + verification + attestation token + secret release')
    .option('--keep', 'keep the temporary directory for inspection')
    .option('--tcb <profile>', 'TCB profile of the simulated platform (default UpToDate)')
    .action(async (opts: { keep?: boolean; tcb?: string }) => {
      if (opts.tcb !== undefined && !(TCB_PROFILES as readonly string[]).includes(opts.tcb)) {
        throw new CliError(`--tcb must be one of ${TCB_PROFILES.join(', ')}, got '${opts.tcb}'`, EXIT_BAD_INPUT);
      }
      process.exitCode = await runDemo({ out: process.stdout, keep: opts.keep, tcbProfile: opts.tcb as TcbProfile | undefined });
    });
}
