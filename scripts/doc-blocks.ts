/**
 * The generated parts of the docs: each lives between marker comments and is made from a table in
 * src/ (the settings of `serve`, the troubleshooting hints). `npm run docs` rewrites them
 * (scripts/gen-docs.ts); test/docs/*.test.ts fails when a doc and its table differ.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVE_CLI_ONLY, SERVE_SETTINGS, describeAllowed, describeDefault, type Setting } from '../src/daemon/settings.js';
import { CODE_HINTS, knownCodes, type CodeFamily, type CodeHint } from '../src/troubleshooting/codes.js';
import { AESM_OPERATIONS, quote3ErrorFor, sgxStatusFor, type AesmOperation } from '../src/aesm/status-mapping.js';
import { Command } from 'commander';
import { register as registerWebhook } from '../src/cli/webhook.js';

export const REPO = path.resolve(import.meta.dirname, '..');

export interface DocBlock {
  /** Path from the repository root. */
  file: string;
  name: string;
  render: () => string;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => (s ? `\`${s}\`` : '—');

// ── serve settings ───────────────────────────────────────────────────────────────────────────────

function settingRow(x: Setting, inFile: boolean): string {
  const flag = x.arg ? `${x.flag} ${x.arg}` : x.flag;
  const dflt = x.default !== undefined ? code(x.default) : describeDefault(x);
  return `| ${cell(code(flag))} | ${code(x.env)} | ${inFile ? code(x.key) : '—'} | ${x.type} | ${cell(dflt)} | ${cell(describeAllowed(x))} | ${cell(x.description)} |`;
}

export function renderServeOptions(): string {
  return [
    '| flag | env | config key | type | default | allowed | meaning |',
    '|---|---|---|---|---|---|---|',
    ...SERVE_SETTINGS.map((x) => settingRow(x, true)),
    ...SERVE_CLI_ONLY.map((x) => settingRow(x, false)),
  ].join('\n');
}

// ── troubleshooting codes ────────────────────────────────────────────────────────────────────────

const hex = (n: number, upper: boolean): string => {
  const digits = n.toString(16).padStart(4, '0');
  return `0x${upper ? digits.toUpperCase() : digits}`;
};

const OP_LABEL: Record<AesmOperation, string> = {
  selectAttKeyId: 'SelectAttKeyID',
  initQuoteEx: 'InitQuoteEx',
  getQuoteSizeEx: 'GetQuoteSizeEx',
  getQuoteEx: 'GetQuoteEx',
  getSupportedAttKeyIdNum: 'GetSupportedAttKeyIDNum',
  getSupportedAttKeyIds: 'GetSupportedAttKeyIDs',
};

/** What an application sees for an AESM code: sgx_status_t → quote3_error_t, per call when they differ. */
export function clientView(aesmCode: number): string {
  const byResult = new Map<string, AesmOperation[]>();
  for (const op of AESM_OPERATIONS) {
    const status = sgxStatusFor(op, aesmCode);
    const key = `${hex(status, false)} → ${hex(quote3ErrorFor(status), true)}`;
    byResult.set(key, [...(byResult.get(key) ?? []), op]);
  }
  if (byResult.size === 1) return [...byResult.keys()][0];
  return [...byResult]
    .sort((a, b) => a[1].length - b[1].length)
    .map(([k, ops], i, all) => (i === all.length - 1 ? `${k} (other calls)` : `${k} (${ops.map((o) => OP_LABEL[o]).join(', ')})`))
    .join('; ');
}

function codeCell(family: CodeFamily, c: number | string): string {
  const name = knownCodes(family).get(c) ?? '';
  if (family === 'aesm') return `${c} ${name}`;
  if (family === 'sgx_status') return `${hex(c as number, false)} ${name}`;
  if (family === 'quote3') return `${hex(c as number, true)} ${name}`;
  if (family === 'exit') return String(c);
  return `\`${c}\``;
}

/** Long runs of codes (the verification-only quote3 values) are shown as ranges of names. */
function codesCell(h: CodeHint): string {
  if (h.family !== 'quote3' || h.codes.length <= 8) return h.codes.map((c) => codeCell(h.family, c)).join('<br>');
  const nums = [...h.codes] as number[];
  const runs: string[] = [];
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    runs.push(i === j ? hex(nums[i], true) : `${hex(nums[i], true)}–${hex(nums[j], true)}`);
    i = j + 1;
  }
  return `${runs.join(', ')} (${nums.length} values)`;
}

const SECTIONS: ReadonlyArray<{ family: CodeFamily; title: string; intro: string; extra?: { head: string; value: (h: CodeHint) => string } }> = [
  {
    family: 'aesm',
    title: 'AESM error codes (`errorCode` on the wire)',
    intro: 'What the daemon answers; the daemon log and `sqh_aesm_requests_total` show it as `code` and `result`. Applications never see it directly: Intel\'s client turns it into the sgx_status_t and quote3_error_t of the third column.',
    extra: { head: 'the application sees (sgx_status_t → quote3_error_t)', value: (h) => h.codes.map((c) => `${c}: ${clientView(c as number)}`).join('<br>') },
  },
  {
    family: 'sgx_status',
    title: 'sgx_status_t (`libsgx_quote_ex`, and raw values of Intel\'s loader)',
    intro: 'Returned by `sgx_init_quote_ex`, `sgx_get_quote_ex` and friends; the last rows are raw values the dcap provider logs from loading the QE3.',
  },
  {
    family: 'quote3',
    title: 'quote3_error_t (`libsgx_dcap_ql` out-of-process, and the dcap provider\'s native results)',
    intro: 'An application using `sgx_qe_get_target_info` / `sgx_qe_get_quote` with `SGX_AESM_ADDR` set sees the first rows; the dcap provider logs and counts the native value of every call into Intel\'s library (`sqh_dcap_native_calls_total{code}`) and sends the AESM code aesmd would.',
  },
  {
    family: 'verify',
    title: 'Verifier reasons (`verify`, the attestation service)',
    intro: 'The `reason` of a rejected verification result (`sgx-quote-helper verify --json`, the library\'s `VerifyResult`).',
  },
  {
    family: 'exit',
    title: 'Exit codes of `sgx-quote-helper`',
    intro: 'Every command prints one line on stderr (`sgx-quote-helper: …`) when it fails.',
  },
];

export function renderCodeTables(): string {
  const out: string[] = [];
  for (const s of SECTIONS) {
    const hints = CODE_HINTS.filter((h) => h.family === s.family);
    // A "where you see it" column only when the rows differ; otherwise one sentence says it.
    const places = new Set(hints.map((h) => h.seenIn));
    const seenColumn = places.size > 1;
    out.push(`### ${s.title}`, '', seenColumn ? s.intro : `${s.intro} Seen in: ${[...places][0]}.`, '');
    const heads = ['code', ...(seenColumn ? ['where you see it'] : []), ...(s.extra ? [s.extra.head] : []), 'likely causes', 'fix'];
    out.push(`| ${heads.join(' | ')} |`, `|${heads.map(() => '---').join('|')}|`);
    for (const h of hints) {
      const cells = [codesCell(h), ...(seenColumn ? [h.seenIn] : []), ...(s.extra ? [s.extra.value(h)] : []), h.causes, h.fix];
      out.push(`| ${cells.map(cell).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

// ── blocks and markers ───────────────────────────────────────────────────────────────────────────

// ── other commands' options (declared once, with commander's .env(), in their command file) ──────

/** The options of `webhook serve` as commander holds them: flag, env var, default, description. */
export function renderWebhookServeOptions(): string {
  const program = new Command();
  registerWebhook(program);
  const serve = program.commands.find((c) => c.name() === 'webhook')!.commands.find((c) => c.name() === 'serve')!;
  return [
    '| flag | env | default | meaning |',
    '|---|---|---|---|',
    ...serve.options.map((o) => {
      const dflt = o.mandatory ? 'required' : o.defaultValue !== undefined ? code(String(o.defaultValue)) : '—';
      return `| ${cell(code(o.flags))} | ${code(o.envVar ?? '')} | ${cell(dflt)} | ${cell(o.description)} |`;
    }),
  ].join('\n');
}

// ── alert rules ──────────────────────────────────────────────────────────────────────────────────

export const ALERT_RULES_FILE = 'deploy/helm/sgx-quote-helper/files/prometheus-alerts.yaml';

/** The rules file itself, shown whole in docs/operations.md. */
export function renderAlertRules(): string {
  return ['```yaml', `# ${ALERT_RULES_FILE}`, readFileSync(path.join(REPO, ALERT_RULES_FILE), 'utf8').trimEnd(), '```'].join('\n');
}

export const DOC_BLOCKS: readonly DocBlock[] = [
  { file: 'docs/operations.md', name: 'serve-options', render: renderServeOptions },
  { file: 'docs/operations.md', name: 'alert-rules', render: renderAlertRules },
  { file: 'docs/operations.md', name: 'webhook-serve-options', render: renderWebhookServeOptions },
  { file: 'docs/troubleshooting.md', name: 'codes', render: renderCodeTables },
];

export const beginMarker = (name: string): string => `<!-- BEGIN GENERATED ${name}: made by \`npm run docs\` from the code; edit the code, not this block -->`;
export const endMarker = (name: string): string => `<!-- END GENERATED ${name} -->`;

/** The text of `doc` with block `name` replaced by `content`; throws when the markers are missing. */
export function replaceBlock(doc: string, name: string, content: string): string {
  const begin = beginMarker(name);
  const end = endMarker(name);
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers for generated block "${name}" not found (expected ${begin} … ${end})`);
  return `${doc.slice(0, a + begin.length)}\n${content}\n${doc.slice(b)}`;
}

/** The current content of a block in a doc on disk. */
export function readBlock(block: DocBlock): string {
  const doc = readFileSync(path.join(REPO, block.file), 'utf8');
  const begin = beginMarker(block.name);
  const a = doc.indexOf(begin);
  const b = doc.indexOf(endMarker(block.name));
  if (a < 0 || b < a) throw new Error(`${block.file}: markers for generated block "${block.name}" not found`);
  return doc.slice(a + begin.length, b).replace(/^\n/, '').replace(/\n$/, '');
}
