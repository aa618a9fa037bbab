import type { QuoteBody } from '../sgx/index.js';
import type { EnclaveIdentityResult, TdIdentityResult } from './result.js';

const hex = (b: Buffer) => b.toString('hex');

/** One scratch buffer for the u64 → hex conversions (synchronous: nothing else can run in between). */
const u64Scratch = Buffer.alloc(8);

function u64le(v: bigint): string {
  u64Scratch.writeBigUInt64LE(v);
  return u64Scratch.toString('hex');
}

/** The enclave's identity as the relying party sees it (hex as laid out in the report). */
export function enclaveIdentityOf(body: QuoteBody): EnclaveIdentityResult | undefined {
  if (body.type !== 'sgx') return undefined;
  const r = body.report;
  return {
    mrEnclave: hex(r.mrEnclave),
    mrSigner: hex(r.mrSigner),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    attributes: u64le(r.attributes.flags) + u64le(r.attributes.xfrm),
    miscSelect: r.miscSelect,
    debug: (r.attributes.flags & 0x2n) !== 0n,
    reportData: hex(r.reportData),
    configSvn: r.configSvn,
    cpuSvn: hex(r.cpuSvn),
  };
}

export function tdIdentityOf(body: QuoteBody): TdIdentityResult | undefined {
  if (body.type === 'sgx') return undefined;
  const r = body.report;
  const out: TdIdentityResult = {
    teeTcbSvn: hex(r.teeTcbSvn),
    mrSeam: hex(r.mrSeam),
    mrSignerSeam: hex(r.mrSignerSeam),
    seamAttributes: u64le(r.seamAttributes),
    tdAttributes: u64le(r.tdAttributes),
    xfam: u64le(r.xfam),
    mrTd: hex(r.mrTd),
    mrConfigId: hex(r.mrConfigId),
    mrOwner: hex(r.mrOwner),
    mrOwnerConfig: hex(r.mrOwnerConfig),
    rtMr: r.rtMr.map(hex),
    reportData: hex(r.reportData),
    debug: (r.tdAttributes & 0x1n) !== 0n,
  };
  if (body.type === 'td15') {
    out.teeTcbSvn2 = hex(body.report.teeTcbSvn2);
    out.mrServiceTd = hex(body.report.mrServiceTd);
  }
  return out;
}
