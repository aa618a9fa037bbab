import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The attestation service's Prometheus metrics, in a registry of their own. */
export class AttestMetrics {
  readonly registry = new Registry();
  readonly attestations: Counter<'type' | 'result'>;
  readonly attestSeconds: Histogram<'type'>;
  readonly keysPublished: Gauge;
  readonly simulatedRootsTrusted: Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.attestations = new Counter({
      name: 'sqh_attest_attestations_total',
      help: 'Attestation requests by type (SgxEnclave, OpenEnclave, TdxVm) and result (token, or the error code)',
      labelNames: ['type', 'result'],
      registers,
    });
    this.attestSeconds = new Histogram({
      name: 'sqh_attest_attestation_duration_seconds',
      help: 'Time from parsed request to signed token or error, by type',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2, 10],
      registers,
    });
    this.keysPublished = new Gauge({ name: 'sqh_attest_signing_keys_published', help: 'Keys listed in /certs', registers });
    this.simulatedRootsTrusted = new Gauge({
      name: 'sqh_attest_simulated_roots_trusted',
      help: '1 when a non-Intel (simulated) root is trusted: tokens for its quotes say SIMULATED',
      registers,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sqh_attest_' });
  }
}
