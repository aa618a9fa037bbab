import type { Command } from 'commander';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { DaemonError, resolveConfig, startDaemon, createLogger, type RawConfig, type DaemonHandle } from '../daemon/index.js';
import { chooseProvider, createProvider, DcapUnavailableError, ProviderConfigError, type QuoteProvider } from '../providers/index.js';
import { checkSimStateDir, socketPermissionError } from './serve-checks.js';

interface ServeFlags extends Omit<RawConfig, 'takeOver'> {
  config?: string;
  takeOver?: boolean;
  init?: boolean;
}

/** `serve`: the AESM-compatible quote daemon (what the DaemonSet runs on every node). */
export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the AESM-compatible quote daemon (drop-in for aesmd\'s out-of-process quoting). Starting it where another instance serves hands the socket over without downtime.')
    .option('--provider <kind>', 'auto | sim | upstream | dcap (env SQH_PROVIDER; default auto: upstream if --upstream, dcap on SGX hardware, else sim)')
    .option('--state-dir <dir>', 'sim provider state directory (env SQH_STATE_DIR; default /var/lib/sgx-quote-helper/sim if writable, else $XDG_STATE_HOME/sgx-quote-helper/sim)')
    .option('--init', 'with the sim provider: create a new simulated platform when the state dir has none (otherwise serve refuses to start)')
    .option('--socket <path>', 'AESM socket path (env SQH_SOCKET; default /var/run/aesmd/aesm.socket)')
    .option('--ops-listen <host:port>', 'ops HTTP server for /healthz /readyz /metrics, or "off" (env SQH_OPS_LISTEN; default 127.0.0.1:9464)')
    .option('--upstream <path>', 'AESM socket to forward to with --provider upstream (env SQH_UPSTREAM)')
    .option('--socket-mode <octal>', 'socket file mode (env SQH_SOCKET_MODE; default 0666)')
    .option('--socket-group <name|gid>', 'socket file group (env SQH_SOCKET_GROUP)')
    .option('--drain-timeout <duration>', 'how long to finish in-flight requests on SIGTERM or handover (env SQH_DRAIN_TIMEOUT; default 15s)')
    .option('--max-connections <n>', 'open connections at most; at the cap the one that has sent the least is evicted (env SQH_MAX_CONNECTIONS; default 512)')
    .option('--request-timeout <duration>', 'deadline for receiving a request on a connection (env SQH_REQUEST_TIMEOUT; default 5s)')
    .option('--first-byte-timeout <duration>', 'deadline for the first byte of a request; silent connections are closed (env SQH_FIRST_BYTE_TIMEOUT; default 1s)')
    .option('--take-over', 'replace a live socket even if it is not another sgx-quote-helper (a host aesmd); without it serve exits 1 there (env SQH_TAKE_OVER)')
    .option('--provider-timeout <duration>', 'deadline for a provider call, answered with AESM_BUSY after it (env SQH_PROVIDER_TIMEOUT; default 10s)')
    .option('--max-request-size <bytes>', 'largest request frame body (env SQH_MAX_REQUEST_SIZE; default 64KiB)')
    .option('--on-replaced <exit|wait>', 'after a new instance took the socket: exit 0, or stay unready until SIGTERM (use wait under a DaemonSet) (env SQH_ON_REPLACED; default exit)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env SQH_LOG_LEVEL; default info)')
    .option('--dcap-lib-dir <dir>', 'dcap provider: load libsgx_dcap_ql.so.1 and its dependencies (libsgx_qe3_logic.so, libsgx_pce_logic.so.1, a QPL if present) from this directory (env SQH_DCAP_LIB_DIR; default: the system library path)')
    .option('--dcap-qe3-path <file>', 'dcap provider: QE3 enclave image instead of libsgx_qe3.signed.so.1 beside libsgx_qe3_logic.so (env SQH_DCAP_QE3_PATH)')
    .option('--dcap-pce-path <file>', 'dcap provider: PCE enclave image (env SQH_DCAP_PCE_PATH)')
    .option('--dcap-ide-path <file>', 'dcap provider: ID enclave image (env SQH_DCAP_IDE_PATH)')
    .option('--dcap-qpl-path <file>', 'dcap provider: quote provider library to use instead of libdcap_quoteprov.so.1 / .so (env SQH_DCAP_QPL_PATH)')
    .option('--dcap-warmup-timeout <duration>', 'dcap provider: bound for loading the QE3 and certifying the key before serving (env SQH_DCAP_WARMUP_TIMEOUT; default 60s)')
    .option('--sgx-device-dir <dir>', 'where to look for the SGX device nodes (env SQH_SGX_DEVICE_DIR; default /dev; Intel\'s library always opens /dev, so this only serves tests)')
    .option('--config <file>', 'YAML/JSON file with the same options in camelCase (env SQH_CONFIG); flags and env win')
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
