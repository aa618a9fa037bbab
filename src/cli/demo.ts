import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `demo` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('(demo: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('demo is not yet available in this build', 1);
    });
}
