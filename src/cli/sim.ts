import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `sim` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('sim')
    .description('(sim: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('sim is not yet available in this build', 1);
    });
}
