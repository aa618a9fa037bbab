#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { reportError } from './cli-error.js';
import { VERSION } from '../version.js';

type CommandModule = { register(program: Command): void };

/**
 * Each command lives in its own file and only parses, calls the library, prints. Files are imported
 * on demand: importing all of them (fastify, x509, sqlite, …) costs about half a second, which every
 * daemon restart would pay before it can take the socket over.
 */
const COMMAND_MODULES: Record<string, () => Promise<CommandModule>> = {
  inspect: () => import('./inspect.js'),
  sim: () => import('./sim.js'),
  serve: () => import('./serve.js'),
  verify: () => import('./verify.js'),
  collateral: () => import('./collateral.js'),
  targetinfo: () => import('./client.js'),
  keyids: () => import('./client.js'),
  quote: () => import('./client.js'),
  demo: () => import('./demo.js'),
  webhook: () => import('./webhook.js'),
  attest: () => import('./attest.js'),
  doctor: () => import('./doctor.js'),
};

/**
 * Build the command tree. With `only`, just the module that defines that command is loaded (the
 * usual case); without it (help, unknown commands) every command is registered.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('sgx-quote-helper')
    .description('Out-of-process SGX quote generation (AESM-compatible), simulated SGX platform, quote verification')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  const loaders = only && COMMAND_MODULES[only] ? [COMMAND_MODULES[only]] : [...new Set(Object.values(COMMAND_MODULES))];
  const modules = await Promise.all(loaders.map((load) => load()));
  for (const m of new Set(modules)) m.register(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    const program = await buildProgram(argv[2]);
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
