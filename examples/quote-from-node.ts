/**
 * Get an SGX quote from Node through the AESM socket, the way Intel's DCAP library does it in
 * out-of-process mode, with the TypeScript client.
 *
 * Without SGX hardware the "enclave" below is SIMULATED: it signs its REPORT with the simulated
 * platform's report-key secret, which only works against a daemon running the sim provider on the
 * same state directory. With real hardware, your enclave makes the REPORT (sgx_create_report) for
 * the target info and everything else stays the same.
 *
 *   sgx-quote-helper sim init --state-dir /tmp/sqh-sim
 *   sgx-quote-helper serve --provider sim --state-dir /tmp/sqh-sim --socket /tmp/sqh/aesm.socket &
 *   SQH_SOCKET=/tmp/sqh/aesm.socket SQH_STATE_DIR=/tmp/sqh-sim npx tsx examples/quote-from-node.ts
 *
 * In your own project import from 'sgx-quote-helper/client' (and '…/sgx', '…/providers/sim');
 * this file uses the sources so it runs from a checkout.
 */
import { createHash } from 'node:crypto';
import { AesmClient, AesmClientError, checkQeReportInfo, createQeReportInfo } from '../src/client/index.js';
import { parseAttKeyIdExt, parseQuote } from '../src/sgx/index.js';
import { readReportKey, resolveStateDir } from '../src/providers/sim/index.js';
import { DEFAULT_APP_ATTRIBUTES, SimAppEnclave } from '../src/demo/sim-app-enclave.js';

async function main(): Promise<void> {
  // Socket: the option, else SQH_SOCKET, else /var/run/aesmd/aesm.socket (SGX_AESM_ADDR plays no part).
  const client = new AesmClient({ timeoutMs: 15_000, retryDeadlineMs: 5_000 });
  console.log(`AESM socket: ${client.socketPath}`);

  const keyIds = await client.getSupportedAttKeyIds();
  console.log(`daemon offers ${keyIds.length} attestation key id(s); algorithm ids: ${keyIds.map((k) => parseAttKeyIdExt(k).base.algorithmId).join(', ')}`);

  // 1. The QE's target info: InitQuoteEx twice, exactly like sgx_qe_get_target_info.
  const qeTargetInfo = await client.getTargetInfo();

  // 2. The enclave makes a REPORT for the QE. Here: SIMULATED, with the sim platform's secret.
  const enclave = new SimAppEnclave(readReportKey(resolveStateDir()), {
    mrEnclave: createHash('sha256').update('example enclave').digest(),
    mrSigner: createHash('sha256').update('example signer').digest(),
    isvProdId: 1,
    isvSvn: 2,
    attributes: DEFAULT_APP_ATTRIBUTES,
  });
  const reportData = createHash('sha512').update('bind this, e.g. a TLS public key').digest();
  const report = enclave.report(qeTargetInfo, reportData);

  // 3. The quote (GetQuoteSizeEx + GetQuoteEx), asking for the QE's report back to the enclave.
  const sent = createQeReportInfo(enclave.targetInfo());
  const { quote, qeReportInfo } = await client.getQuote(report, { qeReportInfo: sent });

  // 4. The enclave checks that the QE report binds this quote, and that the QE report is genuine.
  const check = checkQeReportInfo(sent, qeReportInfo!, quote);
  const macOk = check.qeReport !== undefined && enclave.verifyReport(check.qeReport);
  const parsed = parseQuote(quote);
  console.log(`quote v${parsed.version}, ${quote.length} bytes, MRENCLAVE ${parsed.body.type === 'sgx' ? parsed.body.report.mrEnclave.toString('hex') : '?'}`);
  console.log(`QE report: binding ${check.ok ? 'ok' : `FAILED (${check.failure})`}, MAC ${macOk ? 'ok' : 'FAILED'}`);
  if (!check.ok || !macOk) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof AesmClientError) {
    // kind, AESM name, the sgx_status_t / quote3_error_t Intel's libraries would return, and a hint.
    console.error(e.describe());
  } else {
    console.error(e instanceof Error ? e.message : e);
  }
  process.exitCode = 1;
});
