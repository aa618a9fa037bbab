import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `serve` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('(serve: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('daemon not yet available: the serve command lands with the daemon issue', 1);
    });
}
