import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `client` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('quote')
    .description('(client: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('client is not yet available in this build', 1);
    });
}
