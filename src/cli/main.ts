#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { reportError } from './cli-error.js';
import { register as registerInspect } from './inspect.js';
import { register as registerSim } from './sim.js';
import { register as registerServe } from './serve.js';
import { register as registerVerify } from './verify.js';
import { register as registerCollateral } from './collateral.js';
import { register as registerClient } from './client.js';
import { register as registerDemo } from './demo.js';
import { register as registerWebhook } from './webhook.js';
import { VERSION } from '../version.js';

/** Build the command tree. Each command lives in its own file and only parses, calls the library, prints. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sgx-quote-helper')
    .description('Out-of-process SGX quote generation (AESM-compatible), simulated SGX platform, quote verification')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerInspect(program);
  registerSim(program);
  registerServe(program);
  registerVerify(program);
  registerCollateral(program);
  registerClient(program);
  registerDemo(program);
  registerWebhook(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed usage or help; help/version exit 0, usage errors 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(err);
  }
}

main().then((code) => {
  process.exitCode = code;
});
