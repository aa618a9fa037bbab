import { AdmissionReviewError } from './errors.js';
import type { PodLike } from './pod-types.js';
import { planPodMutation, type PodMutationResult } from './pod-mutation.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** The fields of admission.k8s.io/v1 AdmissionRequest the webhook uses. */
export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON array of RFC 6902 operations */
  patch?: string;
  status?: { code: number; message: string };
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

/** What happened to one review, for logs and metrics. */
export type ReviewOutcome = PodMutationResult['outcome'] | 'ignored';

export interface ReviewResult {
  review: AdmissionReviewOut;
  outcome: ReviewOutcome;
  request: AdmissionRequest;
  detail: string;
}

/** Validate the envelope; the API server only accepts a response whose apiVersion and kind match. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  let value = body;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      throw new AdmissionReviewError('INVALID_JSON', 'request body is not JSON');
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdmissionReviewError('NOT_AN_OBJECT', 'request body is not a JSON object');
  }
  const review = value as Record<string, unknown>;
  if (review.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionReviewError(
      'WRONG_API_VERSION',
      `apiVersion must be ${ADMISSION_API_VERSION} (got ${JSON.stringify(review.apiVersion)}); set admissionReviewVersions: [v1]`,
    );
  }
  if (review.kind !== ADMISSION_KIND) {
    throw new AdmissionReviewError('WRONG_KIND', `kind must be ${ADMISSION_KIND} (got ${JSON.stringify(review.kind)})`);
  }
  const request = review.request;
  if (!request || typeof request !== 'object' || Array.isArray(request)) {
    throw new AdmissionReviewError('MISSING_REQUEST', 'AdmissionReview has no request');
  }
  const uid = (request as Record<string, unknown>).uid;
  if (typeof uid !== 'string' || uid.length === 0) {
    throw new AdmissionReviewError('MISSING_UID', 'AdmissionReview request has no uid');
  }
  return request as AdmissionRequest;
}

function isPodCreate(req: AdmissionRequest): boolean {
  const isPod =
    (req.kind?.kind === 'Pod' && (req.kind.group ?? '') === '') ||
    (req.resource?.resource === 'pods' && (req.resource.group ?? '') === '');
  return isPod && !req.subResource && req.operation === 'CREATE';
}

function envelope(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/**
 * Answer one AdmissionReview. Anything that is not a pod CREATE is admitted untouched: the webhook is
 * registered for pod CREATE only, and a mis-registration must not block unrelated objects.
 */
export function reviewAdmission(body: unknown): ReviewResult {
  const request = parseAdmissionReview(body);
  const { uid } = request;
  if (!isPodCreate(request)) {
    return {
      review: envelope({ uid, allowed: true }),
      outcome: 'ignored',
      request,
      detail: `not a pod CREATE (${request.operation ?? '?'} ${request.resource?.resource ?? request.kind?.kind ?? '?'})`,
    };
  }
  const result = planPodMutation((request.object ?? {}) as PodLike);
  const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {};
  switch (result.outcome) {
    case 'skipped':
      return { review: envelope({ uid, allowed: true, ...warnings }), outcome: 'skipped', request, detail: result.reason };
    case 'denied':
      return {
        review: envelope({ uid, allowed: false, status: { code: 403, message: result.message }, ...warnings }),
        outcome: 'denied',
        request,
        detail: result.message,
      };
    case 'unchanged':
      return { review: envelope({ uid, allowed: true, ...warnings }), outcome: 'unchanged', request, detail: 'already in place' };
    case 'patched':
      return {
        review: envelope({
          uid,
          allowed: true,
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
          ...warnings,
        }),
        outcome: 'patched',
        request,
        detail: `injected into ${result.injected.join(', ') || 'pod volumes'}`,
      };
  }
}
