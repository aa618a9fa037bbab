/**
 * The upstream provider: forwards each operation to another AESM socket (for example Intel's aesmd
 * on the host, or another sgx-quote-helper), as an AESM client. One connection per call.
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
import { ATT_KEY_ID_EXT_SIZE, DEFAULT_ECDSA_P256_ATT_KEY_ID, attKeyIdBase } from '../../sgx/index.js';
import type { ProviderHealth, QuoteProvider } from '../provider.js';
import { roundTrip } from './upstream-transport.js';

export interface UpstreamProviderOptions {
  socketPath: string;
  /** Per round trip (default 9 s, so the daemon's 10 s provider timeout rarely fires first). */
  timeoutMs?: number;
  /** How many calls may be in flight to the upstream at once (default 4; aesmd serialises anyway). */
  maxConcurrency?: number;
}

export function createUpstreamProvider(opts: UpstreamProviderOptions): QuoteProvider {
  const timeoutMs = opts.timeoutMs ?? 9000;
  const call = async <K extends AesmResponse['kind']>(req: AesmRequest & { kind: K }): Promise<Extract<AesmResponse, { kind: K }>> => {
    // Upstream aesmd ignores `timeout`; we send Intel's value so it looks like Intel's client.
    const body = encodeRequest(req, { timeoutMs: INTEL_CLIENT_TIMEOUT_MS });
    const resBody = await roundTrip(body, { socketPath: opts.socketPath, timeoutMs });
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
    const num = (await call({ kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum ?? 0;
    if (num === 0) return [];
    const ids = (await call({ kind: 'getSupportedAttKeyIds', bufSize: num * ATT_KEY_ID_EXT_SIZE })).attKeyIds;
    if (!ids || ids.length !== num * ATT_KEY_ID_EXT_SIZE) throw new AesmError(AesmCode.UNEXPECTED_ERROR, 'upstream key id list has the wrong size');
    const out: Buffer[] = [];
    for (let i = 0; i < num; i++) out.push(Buffer.from(ids.subarray(i * ATT_KEY_ID_EXT_SIZE, (i + 1) * ATT_KEY_ID_EXT_SIZE)));
    return out;
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
    async getQuoteSize(attKeyId) {
      return (await call({ kind: 'getQuoteSizeEx', attKeyId })).quoteSize ?? 0;
    },
    async getQuote({ report, attKeyId, qeReportInfo }) {
      // Ask for the exact size first, so the upstream's answer carries no padding to strip.
      const size = (await call({ kind: 'getQuoteSizeEx', attKeyId })).quoteSize ?? 0;
      const res = await call({ kind: 'getQuoteEx', report, attKeyId, bufSize: size, ...(qeReportInfo ? { qeReportInfo } : {}) });
      if (!res.quote) throw new AesmError(AesmCode.UNEXPECTED_ERROR, 'upstream GetQuoteEx answer lacks the quote');
      return { quote: res.quote.subarray(0, size), ...(res.qeReportInfo ? { qeReportInfo: res.qeReportInfo } : {}) };
    },
    async health(): Promise<ProviderHealth> {
      try {
        const ids = await supportedAttKeyIds();
        if (ids.length === 0) return { ready: false, reason: `upstream ${opts.socketPath} supports no attestation key` };
        const ecdsa = attKeyIdBase(DEFAULT_ECDSA_P256_ATT_KEY_ID);
        const key = ids.find((k) => attKeyIdBase(k).equals(ecdsa)) ?? ids[0];
        await call({ kind: 'getQuoteSizeEx', attKeyId: key });
        return { ready: true };
      } catch (e) {
        return { ready: false, reason: `upstream ${opts.socketPath}: ${(e as Error).message}` };
      }
    },
    async close() {
      /* one connection per call: nothing held open */
    },
  };
}
