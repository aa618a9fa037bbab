// docs/operations.md against real daemons: the example Prometheus alert rules
// (deploy/helm/sgx-quote-helper/files/prometheus-alerts.yaml), the metrics table and the log-fields
// table. Every metric an alert expression or the metrics table names must be exported by a running
// `serve` (sim provider, and the dcap provider on the C stand-in of Intel's libraries), every sqh_
// metric exported must be in the table, every log line the doc lists must carry the fields it lists,
// and the chart's optional PrometheusRule must carry exactly these rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, removeDir, scrape, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop, type DaemonProcess } from '../daemon/process-harness.js';
import { buildDcapStandin } from '../support/dcap-standin.js';
import { helm, helmBinary } from '../k8s/support/helm.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CHART = 'deploy/helm/sgx-quote-helper';
const RULES_FILE = path.join(REPO, CHART, 'files/prometheus-alerts.yaml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const rules = parseYaml(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const OPERATIONS = readFileSync(path.join(REPO, 'docs/operations.md'), 'utf8');

/** The lines of a doc section, from its heading to the next heading of the same level. */
function section(doc: string, heading: string): string[] {
  const lines = doc.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no section ${heading}`);
  const level = heading.split(' ')[0];
  const end = lines.findIndex((l, i) => i > start && l.startsWith(`${level} `));
  return lines.slice(start, end < 0 ? undefined : end);
}
const tableRows = (lines: string[]): string[][] =>
  lines.filter((l) => l.startsWith('| ') && !/^\|[-| ]+\|$/.test(l)).slice(1).map((l) => l.slice(2, -2).split(' | '));
const ticked = (s: string): string[] => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

// PromQL words that look like metric names but are functions, keywords or label names.
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'rate', 'increase', 'or', 'and', 'histogram_quantile']);
/** Metric names in an expression, histogram series folded to their metric (`_bucket` → base). */
function metricsIn(expr: string): string[] {
  // Drop label matchers, ranges and `by (…)` groupings: what is left are functions, operators and metrics.
  const noLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '');
  const names = [...noLabels.matchAll(/\b[a-z_][a-z0-9_]*\b/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}
/** Metric names a /metrics page declares (`# TYPE name kind`), labelled ones included before their first sample. */
const declared = (text: string): Set<string> => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));

describe('alert rules file', () => {
  it('has groups of well-formed rules: unique names, a severity, a summary, an expression naming sqh_ metrics', () => {
    expect(rules.groups.map((g) => g.name)).toEqual(['sgx-quote-helper', 'sgx-quote-helper-dcap']);
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      expect(r.alert).toMatch(/^SgxQuoteHelper[A-Za-z]+$/);
      expect(['info', 'warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
      const metrics = metricsIn(r.expr);
      expect(metrics.length, r.alert).toBeGreaterThan(0);
      for (const m of metrics) expect(m, `${r.alert}: ${m}`).toMatch(/^sqh_/);
    }
  });

  it('the extraction of metric names sees through labels, ranges and histogram suffixes', () => {
    expect(metricsIn('histogram_quantile(0.99, sum by (le, instance) (rate(sqh_x_seconds_bucket{operation="a"}[5m]))) > 2 or max by (tcb_status) (sqh_y) == 0')).toEqual(['sqh_x_seconds', 'sqh_y']);
  });
});

describe('every metric in the alert rules exists in a running daemon', () => {
  let dir: string;
  const daemons: DaemonProcess[] = [];
  let simMetrics: Set<string>;
  let dcapMetrics: Set<string>;
  let simExit: { code: number | null };
  let simDaemon: DaemonProcess;

  beforeAll(async () => {
    dir = tempDir('sqh-al-');
    const sim = spawnDaemon({ kind: 'tsx' }, ['--provider', 'sim', '--init', '--state-dir', path.join(dir, 'sim'), '--socket', path.join(dir, 'sim.sock'), '--ops-listen', '127.0.0.1:0']);
    daemons.push(sim);
    // SGX hardware and Intel's libraries replaced by the C stand-in (test/dcap-standin), as in test/dcap.
    const standin = buildDcapStandin();
    const dcap = spawnDaemon(
      { kind: 'tsx' },
      ['--provider', 'dcap', '--dcap-lib-dir', standin.libDir, '--dcap-qpl-path', path.join(standin.libDir, 'libdcap_quoteprov.so.1'), '--sgx-device-dir', standin.deviceDir, '--socket', path.join(dir, 'dcap.sock'), '--ops-listen', '127.0.0.1:0'],
      standin.env(dir),
    );
    daemons.push(dcap);
    await Promise.all([sim.serving, dcap.serving]);
    simMetrics = declared((await scrape(await sim.opsAddress)).text);
    dcapMetrics = declared((await scrape(await dcap.opsAddress)).text);
    // One answered and one failed request (no att key id: errorCode 3), then a drain: the log lines the doc lists.
    expect((await call(path.join(dir, 'sim.sock'), { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(0);
    expect((await call(path.join(dir, 'sim.sock'), { kind: 'getQuoteSizeEx' })).errorCode).toBe(3);
    simDaemon = sim;
    simExit = await stop(sim);
  }, 90_000);

  afterAll(async () => {
    for (const d of daemons) expect((await stop(d)).code).toBe(0);
    if (dir) removeDir(dir);
  });

  it('the metrics table lists every sqh_ metric the daemons export, and nothing they do not', () => {
    const documented = tableRows(section(OPERATIONS, '## Health, readiness, metrics').filter((l) => l.startsWith('| `sqh_') || l.startsWith('| metric'))).map((r) => ticked(r[0])[0]);
    expect(documented.length).toBeGreaterThan(10);
    const exported = new Set([...simMetrics, ...dcapMetrics].filter((m) => m.startsWith('sqh_')));
    expect([...exported].sort()).toEqual([...new Set(documented)].sort());
  });

  it('every log line the doc lists is written with the fields it lists', () => {
    expect(simExit.code).toBe(0);
    const rows = tableRows(section(OPERATIONS, '## Logs'));
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const [msgCell, level, fieldsCell] of rows) {
      const msg = ticked(msgCell)[0];
      const line = simDaemon.lines.find((l) => l.msg === msg);
      expect(line, msg).toBeDefined();
      expect(line!.level).toBe(level);
      for (const common of ['level', 'time', 'service', 'component', 'pid', 'msg']) expect(line, `${msg}: ${common}`).toHaveProperty(common);
      expect(line!.service).toBe('sgx-quote-helper');
      expect(line!.component).toBe('daemon');
      expect(new Date(String(line!.time)).toISOString()).toBe(line!.time);
      for (const item of fieldsCell.split(', ')) {
        if (item.includes('when there is one')) continue;
        for (const field of ticked(item)) expect(line, `${msg}: ${field}`).toHaveProperty(field);
      }
    }
  });

  it('the general group: in the sim daemon (and the dcap daemon) /metrics', () => {
    const general = rules.groups.find((g) => g.name === 'sgx-quote-helper')!;
    for (const r of general.rules) {
      for (const m of metricsIn(r.expr)) {
        expect(simMetrics.has(m), `${r.alert}: ${m} in the sim daemon`).toBe(true);
        expect(dcapMetrics.has(m), `${r.alert}: ${m} in the dcap daemon`).toBe(true);
      }
    }
  });

  it('the dcap group: in the dcap daemon /metrics', () => {
    const dcap = rules.groups.find((g) => g.name === 'sgx-quote-helper-dcap')!;
    for (const r of dcap.rules) for (const m of metricsIn(r.expr)) expect(dcapMetrics.has(m), `${r.alert}: ${m}`).toBe(true);
  });
});

describe('the chart', () => {
  const template = async (extra: string[]) => {
    const r = await helm(['template', 'rel', CHART, '--namespace', 'sgx-system', '--kube-version', '1.30.0', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean) as Array<{ kind: string; metadata: { name: string; labels: Record<string, string> }; spec: unknown }>;
  };
  beforeAll(() => void helmBinary(), 120_000);

  it('renders no PrometheusRule by default, and exactly the rules file when metrics.prometheusRule.enabled', async () => {
    expect((await template([])).some((o) => o.kind === 'PrometheusRule')).toBe(false);
    const objects = await template(['--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.labels.release=prom']);
    const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.metadata.labels.release).toBe('prom');
    expect(rule.spec).toEqual(rules);
  });
});
