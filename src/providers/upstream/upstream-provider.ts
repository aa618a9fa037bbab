/**
 * The upstream provider: forwards each operation to another AESM socket (for example Intel's aesmd
 * on the host, or another sgx-quote-helper), as an AESM client. One connection per call.
 *
 * Key ids and quote sizes are fixed per platform: once the upstream has told us, they are answered
 * from memory, so a hung upstream delays only the calls that need it (InitQuoteEx with a key,
 * GetQuoteEx). Health is answered from the last successful call when it is recent, so /readyz and
 * /metrics never wait behind the upstream's queue.
 */
import {
  AesmCode,
  AesmError,
  decodeResponse,
  encodeRequest,
  INTEL_CLIENT_TIMEOUT_MS,
  type AesmRequest,
  type AesmResponse,
} from '../../aesm/index.js';
import { ATT_KEY_ID_EXT_SIZE, attKeyIdBase } from '../../sgx/index.js';
import type { ProviderHealth, QuoteProvider } from '../provider.js';
import { roundTrip } from './upstream-transport.js';

export interface UpstreamProviderOptions {
  socketPath: string;
  /** Per round trip (default 9 s, so the daemon's 10 s provider timeout rarely fires first). */
  timeoutMs?: number;
  /** How many calls may be in flight to the upstream at once (default 4; aesmd serialises anyway). */
  maxConcurrency?: number;
  /** A successful call this recent makes health() answer ready without a round trip (default 10 s). */
  healthFreshMs?: number;
  /** Round-trip deadline of a health probe (default 2 s). */
  healthTimeoutMs?: number;
}

export function createUpstreamProvider(opts: UpstreamProviderOptions): QuoteProvider {
  const timeoutMs = opts.timeoutMs ?? 9000;
  const healthFreshMs = opts.healthFreshMs ?? 10_000;
  let lastSuccess = -Infinity;
  let keyIds: Buffer[] | undefined;
  const quoteSizes = new Map<string, number>();
  let healthProbe: Promise<ProviderHealth> | undefined;
  const call = async <K extends AesmResponse['kind']>(req: AesmRequest & { kind: K }, callTimeoutMs = timeoutMs): Promise<Extract<AesmResponse, { kind: K }>> => {
    // Upstream aesmd ignores `timeout`; we send Intel's value so it looks like Intel's client.
    const body = encodeRequest(req, { timeoutMs: INTEL_CLIENT_TIMEOUT_MS });
    const resBody = await roundTrip(body, { socketPath: opts.socketPath, timeoutMs: callTimeoutMs });
    lastSuccess = performance.now();
    let res: AesmResponse;
    try {
      res = decodeResponse(resBody, req.kind as Exclude<K, 'legacy'>);
    } catch (e) {
      throw new AesmError(AesmCode.UNEXPECTED_ERROR, `upstream answer unusable: ${(e as Error).message}`);
    }
    if (res.errorCode !== 0) throw new AesmError(res.errorCode, `upstream ${req.kind}`);
    return res as Extract<AesmResponse, { kind: K }>;
  };

  const supportedAttKeyIds = async (): Promise<Buffer[]> => {
    if (keyIds) return keyIds;
    const num = (await call({ kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum ?? 0;
    if (num === 0) return [];
    const ids = (await call({ kind: 'getSupportedAttKeyIds', bufSize: num * ATT_KEY_ID_EXT_SIZE })).attKeyIds;
    if (!ids || ids.length !== num * ATT_KEY_ID_EXT_SIZE) throw new AesmError(AesmCode.UNEXPECTED_ERROR, 'upstream key id list has the wrong size');
    const out: Buffer[] = [];
    for (let i = 0; i < num; i++) out.push(Buffer.from(ids.subarray(i * ATT_KEY_ID_EXT_SIZE, (i + 1) * ATT_KEY_ID_EXT_SIZE)));
    keyIds = out;
    return out;
  };

  const quoteSize = async (attKeyId: Buffer): Promise<number> => {
    const key = attKeyIdBase(attKeyId).toString('hex');
    const known = quoteSizes.get(key);
    if (known !== undefined) return known;
    const size = (await call({ kind: 'getQuoteSizeEx', attKeyId })).quoteSize ?? 0;
    if (size > 0) quoteSizes.set(key, size);
    return size;
  };

  const probe = async (): Promise<ProviderHealth> => {
    try {
      await call({ kind: 'getSupportedAttKeyIdNum' }, opts.healthTimeoutMs ?? 2000);
      return { ready: true };
    } catch (e) {
      return { ready: false, reason: `upstream ${opts.socketPath}: ${(e as Error).message}` };
    }
  };

  return {
    name: 'upstream',
    simulated: false,
    maxConcurrency: opts.maxConcurrency ?? 4,
    supportedAttKeyIds,
    async initQuote(attKeyId) {
      const res = await call({ kind: 'initQuoteEx', attKeyId, bPubKeyId: true, bufSize: 32n });
      if (!res.targetInfo || !res.pubKeyId) throw new AesmError(AesmCode.UNEXPECTED_ERROR, 'upstream InitQuoteEx answer lacks target_info or pub_key_id');
      return { targetInfo: res.targetInfo, pubKeyId: res.pubKeyId };
    },
    getQuoteSize: quoteSize,
    async getQuote({ report, attKeyId, qeReportInfo }) {
      // Ask for the exact size, so the upstream's answer carries no padding to strip.
      const size = await quoteSize(attKeyId);
      const res = await call({ kind: 'getQuoteEx', report, attKeyId, bufSize: size, ...(qeReportInfo ? { qeReportInfo } : {}) });
      if (!res.quote) throw new AesmError(AesmCode.UNEXPECTED_ERROR, 'upstream GetQuoteEx answer lacks the quote');
      return { quote: res.quote.subarray(0, size), ...(res.qeReportInfo ? { qeReportInfo: res.qeReportInfo } : {}) };
    },
    async health(): Promise<ProviderHealth> {
      if (keyIds?.length === 0) return { ready: false, reason: `upstream ${opts.socketPath} supports no attestation key` };
      const fresh = () => performance.now() - lastSuccess < healthFreshMs;
      if (fresh()) return { ready: true };
      // One probe at a time, however many health checks ask; a call that succeeded meanwhile counts.
      healthProbe ??= probe()
        .then((h) => (!h.ready && fresh() ? { ready: true } : h))
        .finally(() => (healthProbe = undefined));
      return healthProbe;
    },
    async close() {
      /* one connection per call: nothing held open */
    },
  };
}
