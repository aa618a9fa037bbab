import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type Attributes,
  CERT_TYPE_NAMES,
  type CertificationData,
  describeAttributeFlags,
  describeTdAttributes,
  INTEL_QE_VENDOR_ID,
  isDebug,
  parseQuote,
  pckCertChainPem,
  pckExtensionFromCertificate,
  type Quote,
  type ReportBody,
  SGX_TYPE_NAMES,
  SgxParseError,
  TdAttributeFlags,
  type TdReportBody10,
  TEE_TYPE_SGX,
} from '../sgx/index.js';
import { CliError, EXIT_BAD_INPUT } from './cli-error.js';
import { SIMULATED_SERIAL_PREFIX } from '../providers/sim/pki.js';
import { INTEL_SGX_ROOT_CA_SHA256 } from '../verify/intel-root.js';

type InputEncoding = 'binary' | 'hex' | 'base64';
type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Decode SGX/TDX quotes (v3, v4, v5) and print their fields; input may be raw binary, hex or base64')
    .argument('<quote-file...>', 'quote file(s); "-" reads stdin')
    .option('--json', 'print JSON (an object for one file, an array for several)')
    .addHelpText(
      'after',
      '\nExamples:\n  sgx-quote-helper inspect quote.bin\n  base64 -w0 quote.bin | sgx-quote-helper inspect - --json\n' +
        '\nExit codes: 0 decoded, 2 unreadable or malformed input (one line naming the field and byte offset).',
    )
    .action(async (files: string[], opts: { json?: boolean }) => {
      if (files.filter((f) => f === '-').length > 1) throw new CliError('stdin ("-") can be given only once', EXIT_BAD_INPUT);
      const views: { [k: string]: Json }[] = [];
      for (const file of files) views.push(inspectBytes(await readInput(file), file));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(views.length === 1 ? views[0] : views, null, 2)}\n`);
      } else {
        process.stdout.write(views.map((v) => renderText(v)).join('\n'));
      }
    });
}

async function readInput(file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    throw new CliError(`cannot read ${file}: ${why}`, EXIT_BAD_INPUT);
  }
}

/**
 * Raw quotes start with a small little-endian version (03 00 …), which is not printable, so any input made
 * only of printable text is treated as hex (when it is all hex digits) or else base64.
 */
export function decodeInput(input: Buffer, label: string): { bytes: Buffer; encoding: InputEncoding } {
  if (input.length === 0) throw new CliError(`${label}: input is empty (expected a quote as binary, hex or base64)`, EXIT_BAD_INPUT);
  const printable = input.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  if (!printable) return { bytes: input, encoding: 'binary' };
  const text = input.toString('latin1').replace(/\s+/g, '').replace(/^0x/i, '');
  if (/^[0-9a-fA-F]*$/.test(text)) {
    if (text.length % 2 !== 0) throw new CliError(`${label}: hex input has an odd number of digits (${text.length})`, EXIT_BAD_INPUT);
    return { bytes: Buffer.from(text, 'hex'), encoding: 'hex' };
  }
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    return { bytes: Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'), encoding: 'base64' };
  }
  const bad = text.search(/[^A-Za-z0-9+/_=-]/);
  throw new CliError(
    `${label}: text input is neither hex nor base64 (unexpected character ${JSON.stringify(text[bad] ?? '=')} at text position ${bad})`,
    EXIT_BAD_INPUT,
  );
}

export function inspectBytes(input: Buffer, file: string): { [k: string]: Json } {
  const label = file === '-' ? 'stdin' : file;
  const { bytes, encoding } = decodeInput(input, label);
  let quote: Quote;
  try {
    quote = parseQuote(bytes);
  } catch (e) {
    if (e instanceof SgxParseError) {
      const where = encoding === 'binary' ? '' : ` (offset in the ${encoding}-decoded bytes)`;
      throw new CliError(`${label}: not a valid quote: ${e.message}${where}`, EXIT_BAD_INPUT);
    }
    throw e;
  }
  return quoteView(quote, label, encoding);
}

const hex = (b: Buffer): string => b.toString('hex');
const u64hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** Report data that is ASCII text followed by zeros (common in samples: "Hello, world!") is shown as text too. */
function reportDataText(rd: Buffer): string | undefined {
  const nul = rd.indexOf(0);
  const end = nul === -1 ? rd.length : nul;
  if (end === 0 || !rd.subarray(end).every((b) => b === 0)) return undefined;
  const text = rd.subarray(0, end);
  return text.every((b) => b >= 0x20 && b < 0x7f) ? text.toString('latin1') : undefined;
}

function attributesView(a: Attributes): { [k: string]: Json } {
  return { flags: u64hex(a.flags), xfrm: u64hex(a.xfrm), flagNames: describeAttributeFlags(a), debug: isDebug(a) };
}

function enclaveView(r: ReportBody): { [k: string]: Json } {
  const text = reportDataText(r.reportData);
  return {
    mrEnclave: hex(r.mrEnclave),
    mrSigner: hex(r.mrSigner),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    attributes: attributesView(r.attributes),
    miscSelect: `0x${r.miscSelect.toString(16).padStart(8, '0')}`,
    cpuSvn: hex(r.cpuSvn),
    configSvn: r.configSvn,
    configId: hex(r.configId),
    isvExtProdId: hex(r.isvExtProdId),
    isvFamilyId: hex(r.isvFamilyId),
    reportData: hex(r.reportData),
    ...(text !== undefined ? { reportDataText: text } : {}),
  };
}

function tdView(r: TdReportBody10, type: 'td10' | 'td15'): { [k: string]: Json } {
  const view: { [k: string]: Json } = {
    teeTcbSvn: hex(r.teeTcbSvn),
    mrSeam: hex(r.mrSeam),
    mrSignerSeam: hex(r.mrSignerSeam),
    seamAttributes: u64hex(r.seamAttributes),
    tdAttributes: { value: u64hex(r.tdAttributes), flagNames: describeTdAttributes(r.tdAttributes), debug: (r.tdAttributes & TdAttributeFlags.DEBUG) !== 0n },
    xfam: u64hex(r.xfam),
    mrTd: hex(r.mrTd),
    mrConfigId: hex(r.mrConfigId),
    mrOwner: hex(r.mrOwner),
    mrOwnerConfig: hex(r.mrOwnerConfig),
    rtMr: r.rtMr.map(hex),
    reportData: hex(r.reportData),
  };
  const text = reportDataText(r.reportData);
  if (text !== undefined) view.reportDataText = text;
  if (type === 'td15' && 'teeTcbSvn2' in r) {
    const r15 = r as TdReportBody10 & { teeTcbSvn2: Buffer; mrServiceTd: Buffer };
    view.teeTcbSvn2 = hex(r15.teeTcbSvn2);
    view.mrServiceTd = hex(r15.mrServiceTd);
  }
  return view;
}

function certificateView(pem: string): { [k: string]: Json } {
  try {
    const c = new X509Certificate(pem);
    return {
      subject: c.subject.split('\n').join(', '),
      issuer: c.issuer.split('\n').join(', '),
      serialNumber: c.serialNumber,
      notBefore: new Date(c.validFrom).toISOString(),
      notAfter: new Date(c.validTo).toISOString(),
      sha256Fingerprint: c.fingerprint256.replace(/:/g, '').toLowerCase(),
    };
  } catch (e) {
    return { error: `certificate does not parse: ${(e as Error).message}` };
  }
}

function pckExtensionView(leafPem: string): { [k: string]: Json } {
  try {
    const x = pckExtensionFromCertificate(leafPem);
    return {
      fmspc: hex(x.fmspc).toUpperCase(),
      pceId: hex(x.pceId).toUpperCase(),
      sgxType: x.sgxType,
      sgxTypeName: SGX_TYPE_NAMES[x.sgxType] ?? 'unknown',
      ppid: hex(x.ppid),
      tcb: { compSvns: x.tcb.compSvns, pceSvn: x.tcb.pceSvn, cpuSvn: hex(x.tcb.cpuSvn) },
      ...(x.platformInstanceId ? { platformInstanceId: hex(x.platformInstanceId) } : {}),
      ...(x.configuration ? { configuration: { ...x.configuration } } : {}),
    };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function certificationView(cd: CertificationData, q: Quote): { [k: string]: Json } {
  const view: { [k: string]: Json } = { type: cd.type, typeName: CERT_TYPE_NAMES[cd.type] ?? 'unknown', size: cd.data.length };
  if (cd.type === 1 || cd.type === 2 || cd.type === 3) {
    view.ppid = {
      ...(cd.ppid.ppid ? { ppid: hex(cd.ppid.ppid) } : {}),
      ...(cd.ppid.encPpid ? { encryptedPpid: hex(cd.ppid.encPpid) } : {}),
      cpuSvn: hex(cd.ppid.cpuSvn),
      pceSvn: cd.ppid.pceSvn,
      ...(cd.ppid.pceId !== undefined ? { pceId: cd.ppid.pceId } : {}),
    };
  } else if (cd.type === 4) {
    view.certificate = certificateView(
      `-----BEGIN CERTIFICATE-----\n${cd.data.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
    );
  } else if (cd.type === 5) {
    const chain = pckCertChainPem(q) ?? cd.certificatesPem;
    view.encoding = cd.encoding;
    view.certificates = chain.map(certificateView);
    view.pckExtension = pckExtensionView(chain[0]);
  }
  return view;
}

/**
 * True when the quote's PCK chain ends in a root our simulator issued (every serial it issues starts
 * with ASCII "SIMULATED"). Such quotes are labelled SIMULATED wherever they are shown.
 */
export function chainsToSimulatedRoot(q: Quote): boolean {
  try {
    const root = pckCertChainPem(q)?.at(-1);
    return root !== undefined && new X509Certificate(root).serialNumber.toLowerCase().startsWith(SIMULATED_SERIAL_PREFIX);
  } catch {
    return false; // a chain that does not parse is shown as such in the certification data
  }
}

/** Whether the chain's root is Intel's production SGX root CA (by fingerprint); undefined without a chain. */
function rootIsIntelProduction(q: Quote): boolean | undefined {
  try {
    const root = pckCertChainPem(q)?.at(-1);
    if (root === undefined) return undefined;
    const norm = (f: string) => f.replace(/:/g, '').toLowerCase();
    return norm(new X509Certificate(root).fingerprint256) === norm(INTEL_SGX_ROOT_CA_SHA256);
  } catch {
    return undefined;
  }
}

const SIMULATED_NOTE = 'SIMULATED quote: its PCK chain ends in a root issued by sgx-quote-helper sim, not Intel; no production verifier accepts it';

function quoteView(q: Quote, file: string, encoding: InputEncoding): { [k: string]: Json } {
  const h = q.header;
  const body: { [k: string]: Json } =
    q.body.type === 'sgx' ? { type: 'sgx', ...enclaveView(q.body.report) } : { type: q.body.type, ...tdView(q.body.report, q.body.type) };
  const qe = q.qe;
  const simulated = chainsToSimulatedRoot(q);
  return {
    file,
    inputEncoding: encoding,
    size: q.raw.length,
    simulated,
    ...(simulated ? { note: SIMULATED_NOTE } : {}),
    ...(rootIsIntelProduction(q) === undefined ? {} : { intelProductionRoot: rootIsIntelProduction(q)! }),
    header: {
      version: h.version,
      attKeyType: h.attKeyType,
      teeType: h.teeType === TEE_TYPE_SGX ? 'SGX' : 'TDX',
      teeTypeValue: `0x${h.teeType.toString(16)}`,
      qeSvn: h.qeSvn,
      pceSvn: h.pceSvn,
      qeVendorId: hex(h.vendorId),
      intelQeVendorId: h.vendorId.equals(INTEL_QE_VENDOR_ID),
      userData: hex(h.userData),
    },
    body,
    signedLength: q.signedLength,
    signatureDataLength: q.signatureDataLength,
    signature: hex(q.signature),
    attestationKey: hex(q.attestPubKey),
    qeReport: { ...enclaveView(qe.qeReport), signature: hex(qe.qeReportSignature) },
    qeAuthData: hex(qe.qeAuthData),
    ...(q.version !== 3 ? { outerCertificationDataType: q.outerCertificationData.type } : {}),
    certificationData: certificationView(qe.certificationData, q),
    trailing: {
      length: q.trailing.length,
      ...(q.trailing.length > 0
        ? { allZero: q.trailing.every((b) => b === 0), hexPrefix: hex(q.trailing.subarray(0, 64)) }
        : {}),
    },
  };
}

// ---------- text rendering: the JSON view, laid out for people ----------

type Obj = { [k: string]: Json | undefined };

function line(label: string, value: Json | undefined, indent = 2): string {
  return `${' '.repeat(indent)}${`${label}:`.padEnd(24 - indent)} ${value === undefined ? '' : String(value)}\n`;
}

function attrsLine(a: Obj): string {
  const names = (a.flagNames as string[]).join(' | ') || 'none';
  return `flags ${a.flags} [${names}]${a.debug ? '  ** DEBUG enclave **' : '  (not debug)'}, xfrm ${a.xfrm}`;
}

function enclaveText(e: Obj, indent = 2): string {
  let out = '';
  out += line('MRENCLAVE', e.mrEnclave, indent);
  out += line('MRSIGNER', e.mrSigner, indent);
  out += line('ISV prod id', e.isvProdId, indent);
  out += line('ISV SVN', e.isvSvn, indent);
  out += line('attributes', attrsLine(e.attributes as Obj), indent);
  out += line('misc select', e.miscSelect, indent);
  out += line('CPUSVN', e.cpuSvn, indent);
  out += line('config SVN', e.configSvn, indent);
  out += line('report data', e.reportData, indent);
  if (e.reportDataText !== undefined) out += line('report data (text)', JSON.stringify(e.reportDataText), indent);
  return out;
}

function tdText(t: Obj): string {
  const attrs = t.tdAttributes as Obj;
  let out = '';
  out += line('TEE TCB SVN', t.teeTcbSvn);
  out += line('MRSEAM', t.mrSeam);
  out += line('MRSIGNERSEAM', t.mrSignerSeam);
  out += line('SEAM attributes', t.seamAttributes);
  out += line('TD attributes', `${attrs.value} [${(attrs.flagNames as string[]).join(' | ') || 'none'}]${attrs.debug ? '  ** DEBUG TD **' : '  (not debug)'}`);
  out += line('XFAM', t.xfam);
  out += line('MRTD', t.mrTd);
  out += line('MRCONFIGID', t.mrConfigId);
  out += line('MROWNER', t.mrOwner);
  out += line('MROWNERCONFIG', t.mrOwnerConfig);
  (t.rtMr as string[]).forEach((r, i) => (out += line(`RTMR${i}`, r)));
  if (t.teeTcbSvn2 !== undefined) out += line('TEE TCB SVN2', t.teeTcbSvn2);
  if (t.mrServiceTd !== undefined) out += line('MRSERVICETD', t.mrServiceTd);
  out += line('report data', t.reportData);
  if (t.reportDataText !== undefined) out += line('report data (text)', JSON.stringify(t.reportDataText));
  return out;
}

function renderText(v: { [k: string]: Json }): string {
  const h = v.header as Obj;
  const b = v.body as Obj;
  const qe = v.qeReport as Obj;
  const cd = v.certificationData as Obj;
  const tr = v.trailing as Obj;
  let out = `Quote ${v.file} (${v.size} bytes, ${v.inputEncoding} input)${v.simulated ? ' — SIMULATED' : ''}\n`;
  if (v.simulated) out += `  ${v.note}\n`;
  else if (v.intelProductionRoot === false) out += "  PCK chain root is NOT Intel's production root CA (a test or simulated PKI): production verifiers reject it\n";
  out += 'Header\n';
  out += line('version', h.version);
  out += line('attestation key type', `${h.attKeyType} (ECDSA P-256)`);
  out += line('TEE type', `${h.teeType} (${h.teeTypeValue})`);
  out += line('QE SVN', h.qeSvn);
  out += line('PCE SVN', h.pceSvn);
  out += line('QE vendor id', `${h.qeVendorId}${h.intelQeVendorId ? ' (Intel)' : ' (not Intel)'}`);
  out += line('user data', h.userData);
  if (b.type === 'sgx') {
    out += 'Enclave (ISV report body)\n' + enclaveText(b);
  } else {
    out += `TD report (${b.type === 'td15' ? 'TDX 1.5' : 'TDX 1.0'})\n` + tdText(b);
  }
  out += 'Signature\n';
  out += line('signed bytes', `[0, ${v.signedLength})`);
  out += line('signature data length', v.signatureDataLength);
  out += line('attestation key', v.attestationKey);
  out += 'QE report (what the PCK certifies)\n' + enclaveText(qe);
  out += line('QE report signature', qe.signature);
  out += line('QE auth data', `${(v.qeAuthData as string).length / 2} bytes`);
  out += 'Certification data\n';
  if (v.outerCertificationDataType !== undefined) out += line('outer type', `${v.outerCertificationDataType} (ECDSA_SIG_AUX_DATA)`);
  out += line('type', `${cd.type} (${cd.typeName})`);
  out += line('size', `${cd.size} bytes${cd.encoding ? `, ${String(cd.encoding).toUpperCase()}` : ''}`);
  if (cd.ppid) {
    const p = cd.ppid as Obj;
    for (const [k, val] of Object.entries(p)) out += line(k, val as Json);
  }
  const certs = (cd.certificates as Obj[] | undefined) ?? (cd.certificate ? [cd.certificate as Obj] : []);
  certs.forEach((c, i) => {
    out += `  certificate ${i}${i === 0 && cd.type === 5 ? ' (PCK leaf)' : ''}\n`;
    if (c.error) {
      out += line('error', c.error, 4);
      return;
    }
    out += line('subject', c.subject, 4);
    out += line('issuer', c.issuer, 4);
    out += line('serial', c.serialNumber, 4);
    out += line('valid', `${c.notBefore} .. ${c.notAfter}`, 4);
  });
  if (cd.pckExtension) {
    const x = cd.pckExtension as Obj;
    out += '  PCK SGX extension (1.2.840.113741.1.13.1)\n';
    if (x.error) {
      out += line('error', x.error, 4);
    } else {
      const tcb = x.tcb as Obj;
      out += line('FMSPC', x.fmspc, 4);
      out += line('PCE-ID', x.pceId, 4);
      out += line('SGX type', `${x.sgxType} (${x.sgxTypeName})`, 4);
      out += line('PPID', x.ppid, 4);
      out += line('TCB comp SVNs', (tcb.compSvns as number[]).join(' '), 4);
      out += line('TCB PCESVN', tcb.pceSvn, 4);
      out += line('TCB CPUSVN', tcb.cpuSvn, 4);
      if (x.platformInstanceId !== undefined) out += line('platform instance id', x.platformInstanceId, 4);
      if (x.configuration) {
        const c = x.configuration as Obj;
        out += line('configuration', `dynamicPlatform=${c.dynamicPlatform} cachedKeys=${c.cachedKeys} smtEnabled=${c.smtEnabled}`, 4);
      }
    }
  }
  out += 'Trailing bytes\n';
  out += line(
    'after signature data',
    tr.length === 0 ? 'none' : `${tr.length} bytes${tr.allZero ? ' (all zero)' : ''}: ${tr.hexPrefix}${(tr.length as number) > 64 ? '…' : ''}`,
  );
  return out;
}
