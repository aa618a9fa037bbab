// Runs only the `webhook` command tree with the CLI's own error reporting, so the webhook CLI can be
// tested without loading every other command (their modules belong to other layers and change).
import { Command, CommanderError } from 'commander';
import { reportError } from '../../../src/cli/cli-error.js';
import { register } from '../../../src/cli/webhook.js';

const program = new Command().name('sgx-quote-helper').exitOverride();
register(program);
program.parseAsync(process.argv).then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    process.exitCode = err instanceof CommanderError ? (err.exitCode === 0 ? 0 : 2) : reportError(err);
  },
);
