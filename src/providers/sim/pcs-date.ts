/**
 * PCS date strings: `YYYY-MM-DDTHH:MM:SSZ`, no fractional seconds (Intel QVL rejects them, spec §4.1),
 * which is why `toISOString()` is never used unmodified.
 */
export function pcsDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Truncate to whole seconds (certificate and CRL times have second resolution). */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export const HOUR_MS = 3600_000;
export const DAY_MS = 24 * HOUR_MS;

export function addMs(d: Date, ms: number): Date {
  return new Date(d.getTime() + ms);
}
