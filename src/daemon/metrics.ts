/**
 * Prometheus metrics of one daemon instance (own Registry, so several daemons can share a process,
 * as the tests do). Names are documented in docs/operations.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type FrameRejectReason =
  | 'too-large' // length prefix above --max-request-size (also what a big-endian prefix looks like)
  | 'empty' // zero length prefix
  | 'truncated' // peer closed inside a frame
  | 'disconnected' // peer closed before sending anything
  | 'idle' // no byte within --first-byte-timeout
  | 'timeout' // request not complete within --request-timeout (slowloris)
  | 'invalid-protobuf' // body is not a Request message
  | 'no-submessage'; // Request with no known sub-message

export type ConnectionRejectReason = 'limit' | 'evicted';

export interface InfoLabels {
  version: string;
  provider: string;
  simulated: string;
  fmspc: string;
  tcb_status: string;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'code' | 'result'>;
  readonly latency: Histogram<'operation'>;
  readonly inFlight: Gauge;
  readonly openConnections: Gauge;
  readonly rejectedConnections: Counter<'reason'>;
  readonly framesRejected: Counter<'reason'>;
  readonly providerErrors: Counter<'operation' | 'code'>;
  readonly providerQueue: Gauge;
  readonly info: Gauge<keyof InfoLabels>;
  readonly handovers: Counter<'direction'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'sqh_aesm_requests_total',
      help: 'AESM requests answered, by operation and AESM result code (result = Intel name of the code)',
      labelNames: ['operation', 'code', 'result'],
      registers,
    });
    this.latency = new Histogram({
      name: 'sqh_aesm_request_duration_seconds',
      help: 'Time from a complete request frame to the response write, by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers,
    });
    this.inFlight = new Gauge({ name: 'sqh_aesm_requests_in_flight', help: 'Requests being dispatched now', registers });
    this.openConnections = new Gauge({ name: 'sqh_aesm_connections_open', help: 'Open client connections', registers });
    this.rejectedConnections = new Counter({
      name: 'sqh_aesm_connections_rejected_total',
      help: 'Connections closed without service: evicted (at --max-connections, it had sent the least), limit (every open connection was being served)',
      labelNames: ['reason'],
      registers,
    });
    this.framesRejected = new Counter({
      name: 'sqh_aesm_frames_rejected_total',
      help: 'Requests closed without a reply, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.providerErrors = new Counter({
      name: 'sqh_provider_errors_total',
      help: 'Provider calls that failed, by operation and AESM code sent back (18 = timed out)',
      labelNames: ['operation', 'code'],
      registers,
    });
    this.providerQueue = new Gauge({ name: 'sqh_provider_queue_length', help: 'Provider calls waiting for a slot', registers });
    this.info = new Gauge({
      name: 'sqh_info',
      help: 'Constant 1; labels carry version, provider, simulated, FMSPC and TCB status (empty when unknown)',
      labelNames: ['version', 'provider', 'simulated', 'fmspc', 'tcb_status'],
      registers,
    });
    this.handovers = new Counter({
      name: 'sqh_socket_handovers_total',
      help: 'Socket handovers: took-over (this instance replaced a live or stale socket), replaced (a successor took ours)',
      labelNames: ['direction'],
      registers,
    });
  }

  setInfo(labels: InfoLabels): void {
    this.info.reset();
    this.info.set(labels, 1);
  }

  /** Reject counters start at 0 for every reason, so dashboards see the series before the first event. */
  initialiseCounters(operations: readonly string[]): void {
    for (const r of ['too-large', 'empty', 'truncated', 'disconnected', 'idle', 'timeout', 'invalid-protobuf', 'no-submessage'] as const) {
      this.framesRejected.inc({ reason: r }, 0);
    }
    for (const r of ['limit', 'evicted'] as const) this.rejectedConnections.inc({ reason: r }, 0);
    for (const op of operations) this.latency.zero({ operation: op });
  }
}
