import type { Command } from 'commander';
import { CliError } from './cli-error.js';

/** Placeholder: the `webhook` command(s) are not built yet. Replaced by the issue that delivers them. */
export function register(program: Command): void {
  program
    .command('webhook')
    .description('(webhook: not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('webhook is not yet available in this build', 1);
    });
}
