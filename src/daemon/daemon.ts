/**
 * One daemon instance: provider queue + dispatcher + AESM socket (with handover) + ops HTTP server.
 * `startDaemon` returns once the socket is published; `closed` settles after the drain.
 */
import type { Logger } from 'pino';
import { AESM_OPERATIONS } from '../aesm/index.js';
import type { QuoteProvider } from '../providers/provider.js';
import { VERSION } from '../version.js';
import { AesmSocketServer } from './aesm-socket-server.js';
import type { DaemonConfig } from './config.js';
import { AesmDispatcher } from './dispatcher.js';
import { createLogger } from './logger.js';
import { DaemonMetrics } from './metrics.js';
import { buildOpsServer, startOps, type OpsHandle } from './ops-server.js';
import { ProviderQueue } from './provider-queue.js';
import { DaemonError } from './errors.js';
import {
  SocketOwnershipWatcher,
  isOurInstance,
  probeSocketPath,
  publishSocket,
  removeIdentityRecord,
  unlinkIfOwned,
  type SocketIdentity,
} from './socket-binding.js';

/** How long start-up waits for the provider's key ids before publishing the socket anyway. */
const WARM_UP_WAIT_MS = 300;
const WARM_UP_RETRY_MS = 2000;

export type ShutdownReason = 'signal' | 'replaced' | 'removed' | 'stopped';

export interface DaemonExit {
  reason: ShutdownReason;
  /** 0 for an orderly stop or handover; 1 when the socket file vanished under us. */
  exitCode: number;
  /** Connections still open at the drain deadline, cut off. */
  cutConnections: number;
}

export interface DaemonHandle {
  readonly config: DaemonConfig;
  readonly metrics: DaemonMetrics;
  readonly logger: Logger;
  readonly socketIdentity: SocketIdentity;
  /** What was at the socket path before we published ours. */
  readonly previous: 'absent' | 'stale' | 'live';
  /** Ops server address once it listens (undefined when disabled or it never could). */
  readonly opsAddress: Promise<string | undefined>;
  readonly closed: Promise<DaemonExit>;
  readonly draining: boolean;
  shutdown(reason?: ShutdownReason): Promise<DaemonExit>;
}

export interface StartDaemonOptions {
  logger?: Logger;
  metrics?: DaemonMetrics;
  /** How long a replaced instance keeps accepting after noticing, for connect()s already aimed at its inode. */
  handoverGraceMs?: number;
  /** Why this provider was chosen (`--provider auto`), repeated in the start-up line. */
  providerReason?: string;
}

/** Start serving. The daemon owns `provider` from here on and closes it after draining. */
export async function startDaemon(config: DaemonConfig, provider: QuoteProvider, opts: StartDaemonOptions = {}): Promise<DaemonHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = opts.metrics ?? new DaemonMetrics();
  metrics.initialiseCounters([...AESM_OPERATIONS, 'legacy']);
  provider.registerMetrics?.(metrics.registry);
  const queue = new ProviderQueue(provider.maxConcurrency, config.providerTimeoutMs, (n) => metrics.providerQueue.set(n));
  const dispatcher = new AesmDispatcher({ provider, queue, metrics, logger });
  let draining = false;

  // Key ids first, so InitQuoteEx size queries never wait for the provider; but never hold up
  // publishing the socket for it (a hung upstream would otherwise keep every client out). Not fatal:
  // the provider may become available later (an upstream aesmd restarting); retried until it answers.
  let warmedUp = false;
  const warmUp = async (): Promise<void> => {
    try {
      await dispatcher.warmUp();
      warmedUp = true;
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'provider key ids not available yet; retrying');
    }
  };
  let warmUpRetry: NodeJS.Timeout | undefined;
  const keepWarmingUp = (): void => {
    if (warmedUp || draining) return;
    warmUpRetry = setTimeout(() => void warmUp().then(keepWarmingUp), WARM_UP_RETRY_MS);
    warmUpRetry.unref();
  };
  const firstWarmUp = warmUp().then(keepWarmingUp);
  await Promise.race([firstWarmUp, new Promise((r) => setTimeout(r, WARM_UP_WAIT_MS).unref())]);

  const socketServer = new AesmSocketServer({
    handler: (body, conn) => dispatcher.handle(body, conn),
    metrics,
    logger,
    maxConnections: config.maxConnections,
    requestTimeoutMs: config.requestTimeoutMs,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
    maxRequestSize: config.maxRequestSize,
  });

  let ops: OpsHandle | undefined;
  if (config.opsListen) {
    ops = await startOps(
      () => buildOpsServer({ provider, metrics, logger, version: VERSION, isDraining: () => draining }),
      config.opsListen,
      logger,
      config.drainTimeoutMs + 10_000,
    );
  }
  const opsAddress = ops ? ops.ready.then((r) => r?.address) : Promise.resolve(undefined);

  let previous: 'absent' | 'stale' | 'live';
  let identity: SocketIdentity;
  try {
    previous = await probeSocketPath(config.socketPath);
    if (previous === 'live' && !(await isOurInstance(config.socketPath))) {
      if (!config.takeOver) {
        throw new DaemonError(
          'SOCKET_FOREIGN',
          `another AESM service that is not a verifiable sgx-quote-helper (a host aesmd?) is listening on ${config.socketPath}; ` +
            'stop it (e.g. systemctl stop aesmd), or choose another --socket path, or pass --take-over to replace it anyway',
        );
      }
      logger.warn({ socket: config.socketPath }, 'replacing a foreign AESM service at the socket path (--take-over)');
    }
    identity = await publishSocket(socketServer.server, config.socketPath, { mode: config.socketMode, gid: config.socketGid });
  } catch (e) {
    await ops?.close();
    throw e;
  }
  if (previous !== 'absent') metrics.handovers.inc({ direction: 'took-over' });
  logger.info(
    {
      socket: config.socketPath,
      previous,
      provider: provider.name,
      simulated: provider.simulated,
      ...(opts.providerReason ? { providerReason: opts.providerReason } : {}),
      version: VERSION,
      mode: config.socketMode.toString(8),
      // Process start to serving, including module loading and provider start-up.
      startupMs: Math.round(process.uptime() * 1000),
      limits: {
        maxConnections: config.maxConnections,
        requestTimeoutMs: config.requestTimeoutMs,
        firstByteTimeoutMs: config.firstByteTimeoutMs,
        providerTimeoutMs: config.providerTimeoutMs,
        maxRequestSize: config.maxRequestSize,
        drainTimeoutMs: config.drainTimeoutMs,
        onReplaced: config.onReplaced,
      },
    },
    previous === 'live' ? 'took over the AESM socket from the running instance' : previous === 'stale' ? 'replaced a stale AESM socket' : 'AESM socket listening',
  );
  if (provider.simulated) logger.warn({ provider: provider.name }, 'SIMULATED provider: quotes are not backed by SGX hardware and verify only against the simulated root CA');

  let listener = socketServer.server;
  const watcher = new SocketOwnershipWatcher(config.socketPath, identity);
  let resolveClosed!: (e: DaemonExit) => void;
  const closed = new Promise<DaemonExit>((r) => (resolveClosed = r));
  let socketDrained: Promise<number> | undefined;
  let finishing: Promise<DaemonExit> | undefined;
  let firstReason: ShutdownReason | undefined;

  // Stop serving the AESM socket: once, whatever asked first.
  const drainSocket = (reason: ShutdownReason): Promise<number> => {
    socketDrained ??= (async () => {
      draining = true;
      watcher.stop();
      if (warmUpRetry) clearTimeout(warmUpRetry);
      if (reason === 'replaced') {
        // A client that resolved the path just before the rename may still be connecting to our inode.
        await new Promise((r) => setTimeout(r, opts.handoverGraceMs ?? 250));
      }
      socketServer.stopAccepting();
      if (reason !== 'replaced') {
        const removed = await unlinkIfOwned(config.socketPath, identity);
        logger.info({ removedSocket: removed }, removed ? 'removed our socket file' : 'socket file belongs to another instance; left in place');
      }
      await removeIdentityRecord(config.socketPath, identity);
      logger.info({ reason, open: socketServer.openConnections, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
      const cut = await socketServer.drain(config.drainTimeoutMs);
      if (cut > 0) logger.warn({ cutConnections: cut }, 'drain timeout: connections cut');
      await provider.close().catch((e) => logger.warn({ err: (e as Error).message }, 'provider close failed'));
      return cut;
    })();
    return socketDrained;
  };

  const shutdown = (reason: ShutdownReason = 'stopped'): Promise<DaemonExit> => {
    firstReason ??= reason;
    if (finishing) return finishing;
    if (reason === 'replaced' && config.onReplaced === 'wait') {
      // Under a supervisor that restarts exited processes (a DaemonSet's restartPolicy: Always), exiting
      // would bring this old version back to take the socket again; stay, unready, until SIGTERM.
      void drainSocket(reason).then(() => logger.info({}, 'replaced and drained; waiting for SIGTERM (--on-replaced wait)'));
      return closed;
    }
    finishing = (async () => {
      const cutConnections = await drainSocket(reason);
      await ops?.close();
      const exitReason = firstReason ?? reason;
      const exit: DaemonExit = { reason: exitReason, exitCode: exitReason === 'removed' ? 1 : 0, cutConnections };
      logger.info(exit, 'stopped');
      logger.flush?.();
      resolveClosed(exit);
      return exit;
    })();
    return finishing;
  };

  watcher.on('replaced', () => {
    metrics.handovers.inc({ direction: 'replaced' });
    logger.info({ socket: config.socketPath }, 'a new instance took over the socket; draining and exiting');
    void shutdown('replaced');
  });
  watcher.on('untrusted', (now: SocketIdentity) => {
    // Another user renamed their socket over ours (possible only in an unsafe directory, e.g. one
    // made world-writable after we started). Draining would hand our clients to them: put ours back.
    metrics.handovers.inc({ direction: 'refused-untrusted' });
    logger.error({ socket: config.socketPath, uid: now.uid }, 'the socket was replaced by a socket of another user; not draining, re-publishing ours');
    void (async () => {
      try {
        const previousIdentity = identity;
        const previousListener = listener;
        listener = socketServer.newListener();
        identity = await publishSocket(listener, config.socketPath, { mode: config.socketMode, gid: config.socketGid, allowUnsafeDir: true });
        await removeIdentityRecord(config.socketPath, previousIdentity);
        watcher.setIdentity(identity);
        // The old inode is no longer reachable by name; stop listening on it once late connects landed.
        setTimeout(() => previousListener.close(), opts.handoverGraceMs ?? 250).unref();
        logger.warn({ socket: config.socketPath }, 'AESM socket re-published');
      } catch (e) {
        watcher.setIdentity(now);
        logger.error({ socket: config.socketPath, err: (e as Error).message }, 'cannot re-publish the AESM socket; still serving connections that reach us');
      }
    })();
  });
  watcher.on('removed', () => {
    logger.error({ socket: config.socketPath }, 'the socket file was removed by someone else; clients cannot reach us, exiting so the supervisor restarts us');
    void shutdown('removed');
  });
  watcher.start();

  return {
    config,
    metrics,
    logger,
    socketIdentity: identity,
    previous,
    opsAddress,
    closed,
    get draining() {
      return draining;
    },
    shutdown,
  };
}
