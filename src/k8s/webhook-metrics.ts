import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The webhook's Prometheus metrics, in a registry of their own (never the global one). */
export class WebhookMetrics {
  readonly registry: Registry;
  readonly reviews: Counter<'outcome'>;
  readonly reviewSeconds: Histogram;
  readonly badRequests: Counter<'code'>;
  readonly tlsReloads: Counter<'result'>;
  readonly certExpiry: Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.reviews = new Counter({
      name: 'sqh_webhook_admission_reviews_total',
      help: 'AdmissionReviews answered, by outcome (patched, unchanged, skipped, denied, ignored)',
      labelNames: ['outcome'],
      registers,
    });
    this.reviewSeconds = new Histogram({
      name: 'sqh_webhook_admission_review_duration_seconds',
      help: 'Time to answer one AdmissionReview, from parsed body to response',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.badRequests = new Counter({
      name: 'sqh_webhook_bad_requests_total',
      help: 'Requests to /mutate that were not a usable AdmissionReview v1, by reason',
      labelNames: ['code'],
      registers,
    });
    this.tlsReloads = new Counter({
      name: 'sqh_webhook_tls_reloads_total',
      help: 'Serving-certificate reload attempts after the files changed, by result (ok, error)',
      labelNames: ['result'],
      registers,
    });
    this.certExpiry = new Gauge({
      name: 'sqh_webhook_tls_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in use, as a Unix timestamp',
      registers,
    });
    for (const outcome of ['patched', 'unchanged', 'skipped', 'denied', 'ignored']) this.reviews.inc({ outcome }, 0);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sqh_webhook_' });
  }
}
