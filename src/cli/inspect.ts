import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `inspect` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('inspect')
    .description('(inspect: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('inspect is not yet available in this build', 1);
    });
}
