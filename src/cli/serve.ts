import type { Command } from 'commander';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { DaemonError, resolveConfig, startDaemon, createLogger, type RawConfig, type DaemonHandle } from '../daemon/index.js';
import { SERVE_CLI_ONLY, SERVE_SETTINGS, helpText, type Setting } from '../daemon/settings.js';
import { chooseProvider, createProvider, DcapUnavailableError, ProviderConfigError, type QuoteProvider } from '../providers/index.js';
import { checkSimStateDir, socketPermissionError } from './serve-checks.js';

interface ServeFlags extends Omit<RawConfig, 'takeOver'> {
  config?: string;
  takeOver?: boolean;
  init?: boolean;
}

/** `serve`: the AESM-compatible quote daemon (what the DaemonSet runs on every node). */
export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('Run the AESM-compatible quote daemon (drop-in for aesmd\'s out-of-process quoting). Starting it where another instance serves hands the socket over without downtime.');
  // Every option comes from the settings table (src/daemon/settings.ts), so --help, validation and
  // docs/operations.md say the same thing. No commander defaults: resolveConfig applies them, after env and file.
  const settings: readonly Setting[] = [...SERVE_SETTINGS, ...SERVE_CLI_ONLY];
  for (const setting of settings) {
    cmd.option(setting.arg ? `${setting.flag} ${setting.arg}` : setting.flag, helpText(setting));
  }
  cmd
    .action(async (flags: ServeFlags) => {
      const code = await serve(flags);
      process.exitCode = code;
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  const { config: configFile, takeOver, init, ...rest } = flags;
  const rawFlags: RawConfig = { ...rest, ...(takeOver ? { takeOver: 'true' } : {}) };
  let config;
  try {
    config = resolveConfig({ flags: rawFlags, env: process.env, configFile: configFile ?? (process.env.SQH_CONFIG || undefined) });
  } catch (e) {
    if (e instanceof DaemonError) throw new CliError(e.message, EXIT_BAD_INPUT);
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const choice = chooseProvider(config.provider, { ...(config.upstreamSocket ? { upstreamSocket: config.upstreamSocket } : {}), dcap: config.dcap });
  const kind = choice.kind;
  if (kind === 'sim' && config.provider === 'auto') logger.warn({ provider: kind, reason: choice.reason }, `provider auto chose sim (SIMULATED): ${choice.reason}`);
  else logger.info({ provider: kind, reason: choice.reason }, `provider ${kind}: ${choice.reason}`);
  if (kind === 'sim') checkSimStateDir(config.stateDir, init === true);
  let provider: QuoteProvider;
  try {
    provider = await createProvider(kind, {
      stateDir: config.stateDir,
      ...(config.upstreamSocket ? { upstreamSocket: config.upstreamSocket } : {}),
      dcap: config.dcap,
      providerTimeoutMs: config.providerTimeoutMs,
      logger,
    });
  } catch (e) {
    if (e instanceof DcapUnavailableError) {
      const why = config.provider === 'auto' ? `${choice.reason}, so auto chose dcap, but ` : '';
      throw new CliError(`${why}${e.message}`, EXIT_FAILURE);
    }
    if (e instanceof ProviderConfigError) throw new CliError(e.message, EXIT_BAD_INPUT);
    const name = (e as Error).name;
    throw new CliError(`cannot start the ${kind} provider: ${(e as Error).message}${name === 'SimStateError' ? ` (state dir ${config.stateDir})` : ''}`, EXIT_FAILURE);
  }
  // A stuck native call (dcap) would make process.exit() wait forever; the provider knows how to leave.
  const exitProcess = (code: number): void => (provider.exitProcess ? provider.exitProcess(code) : process.exit(code));

  // Signal handlers go in before the socket is published: a SIGTERM that arrives between "serving"
  // and handler installation would otherwise kill the process without a drain.
  let daemon: DaemonHandle | undefined;
  let stopRequested = false;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal: sig }, 'second signal: exiting without waiting for the drain');
      logger.flush?.();
      exitProcess(0);
    }
    logger.info({ signal: sig }, 'signal received: stopping');
    stopRequested = true;
    if (daemon) void daemon.shutdown('signal');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    daemon = await startDaemon(config, provider, { logger, providerReason: choice.reason });
  } catch (e) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await provider.close().catch(() => undefined);
    const denied = socketPermissionError(e, config.socketPath);
    if (denied) throw denied;
    if (e instanceof DaemonError) throw new CliError(e.message, e.code === 'CONFIG_INVALID' ? EXIT_BAD_INPUT : EXIT_FAILURE);
    throw e;
  }
  if (stopRequested) void daemon.shutdown('signal');
  void daemon.opsAddress.then((address) => {
    if (address) logger.info({ address }, 'ops server listening');
  });

  const exit = await daemon.closed;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // Something (a provider worker, a stray timer) must not keep a drained daemon alive.
  setTimeout(() => exitProcess(exit.exitCode), 1000).unref();
  return exit.exitCode;
}
