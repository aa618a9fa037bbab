/** The two ways doctor prints: lines for a person, or a JSON array of {name, status, detail, hint}. */
import type { CheckResult } from './types.js';
import type { DoctorReport } from './runner.js';

export function formatJson(checks: readonly CheckResult[]): string {
  return `${JSON.stringify(checks.map(({ name, status, detail, hint }) => ({ name, status, detail, hint })), null, 2)}\n`;
}

export function formatText(report: DoctorReport): string {
  const lines = [`sgx-quote-helper doctor: role ${report.role} (${report.roleReason}), socket ${report.socketPath}, ops ${report.opsUrl}`];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const c of report.checks) {
    lines.push(`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.hint) lines.push(`${' '.repeat(6 + width + 2)}→ ${c.hint}`);
  }
  const count = (s: string) => report.checks.filter((c) => c.status === s).length;
  lines.push(`${count('FAIL')} FAIL, ${count('WARN')} WARN, ${count('OK')} OK`);
  return `${lines.join('\n')}\n`;
}
