import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `verify` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('(verify: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('verify is not yet available in this build', 1);
    });
}
