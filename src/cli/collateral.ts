import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `collateral` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('collateral')
    .description('(collateral: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('collateral is not yet available in this build', 1);
    });
}
