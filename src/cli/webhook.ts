import { Option, type Command } from 'commander';
import { createJsonLogger, LOG_LEVELS, type LogLevel } from '../log/index.js';
import {
  ListenAddressError,
  TlsLoadError,
  parseListenAddress,
  startWebhookServer,
  WEBHOOK_SERVER_LIMITS,
  type ListenAddress,
} from '../k8s/index.js';
import { addServerLimitOptions, serverLimitsFrom, type ServerLimitFlags } from './http-limit-flags.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';

interface ServeOptions extends ServerLimitFlags {
  tlsCert: string;
  tlsKey: string;
  listen: string;
  opsListen?: string;
  tlsReloadInterval: string;
  logLevel: string;
}

function listenArg(flag: string, value: string): ListenAddress {
  try {
    return parseListenAddress(value);
  } catch (err) {
    if (err instanceof ListenAddressError) throw new CliError(`${flag}: ${err.message}`, EXIT_BAD_INPUT);
    throw err;
  }
}

async function serve(opts: ServeOptions): Promise<void> {
  const listen = listenArg('--listen', opts.listen);
  const opsListen = opts.opsListen ? listenArg('--ops-listen', opts.opsListen) : undefined;
  const interval = Number(opts.tlsReloadInterval);
  if (!Number.isFinite(interval) || interval <= 0 || interval > 3600) {
    throw new CliError(`--tls-reload-interval: "${opts.tlsReloadInterval}" must be seconds between 0 and 3600`, EXIT_BAD_INPUT);
  }
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
    throw new CliError(`--log-level: "${opts.logLevel}" must be one of ${LOG_LEVELS.join(', ')}`, EXIT_BAD_INPUT);
  }
  const limits = serverLimitsFrom(opts);
  const logger = createJsonLogger(opts.logLevel as LogLevel, { component: 'webhook' });

  let server;
  try {
    server = await startWebhookServer({
      certPath: opts.tlsCert,
      keyPath: opts.tlsKey,
      listen,
      opsListen,
      tlsReloadIntervalMs: interval * 1000,
      logger,
      defaultMetrics: true,
      limits,
    });
  } catch (err) {
    if (err instanceof TlsLoadError) throw new CliError(err.message, EXIT_BAD_INPUT);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen (${e.code}): ${e.message}; choose another --listen/--ops-listen`, EXIT_FAILURE);
    }
    throw err;
  }

  // Runs until SIGTERM/SIGINT; SIGHUP re-reads the certificate at once instead of waiting for the timer.
  await new Promise<void>((resolve) => {
    const onHup = () => server.reloadTls();
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGHUP', onHup);
      server.close().then(resolve, resolve);
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export function register(program: Command): void {
  const webhook = program
    .command('webhook')
    .description('Kubernetes mutating admission webhook that connects SGX pods to the node quote helper');
  const serve_ = webhook
    .command('serve')
    .description(
      'serve POST /mutate (AdmissionReview v1) and GET /healthz over HTTPS; the certificate and key are re-read when they change',
    )
    .addOption(new Option('--tls-cert <file>', 'PEM serving certificate (chain allowed)').env('SQH_WEBHOOK_TLS_CERT').makeOptionMandatory())
    .addOption(new Option('--tls-key <file>', 'PEM private key of the certificate').env('SQH_WEBHOOK_TLS_KEY').makeOptionMandatory())
    .addOption(new Option('--listen <host:port>', 'HTTPS listen address').env('SQH_WEBHOOK_LISTEN').default('0.0.0.0:9443'))
    .addOption(
      new Option('--ops-listen <host:port>', 'plain-HTTP listener for /healthz, /readyz, /metrics (off when unset)').env(
        'SQH_WEBHOOK_OPS_LISTEN',
      ),
    )
    .addOption(new Option('--tls-reload-interval <seconds>', 'how often the certificate files are checked').default('10'))
    .addOption(new Option('--log-level <level>', 'pino log level').env('SQH_LOG_LEVEL').default('info'));
  addServerLimitOptions(serve_, WEBHOOK_SERVER_LIMITS)
    .action(async (opts: ServeOptions) => {
      await serve(opts);
    });
}
