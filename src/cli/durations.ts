import { CliError, EXIT_BAD_INPUT } from './cli-error.js';

const SECONDS_PER_UNIT = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 } as const;

export interface SecondsBounds {
  /** Smallest accepted value in seconds (default 0). */
  min?: number;
  /** Largest accepted value in seconds (default: none). */
  max?: number;
  /** A valid value to show in the error (e.g. `8h`). */
  example: string;
}

/**
 * A CLI duration in whole seconds: a bare number of seconds, or a number with s, m, h or d
 * (`90`, `15m`, `8h`, `30d`). The one parser behind every seconds-valued flag of the CLI
 * (`verify --max-collateral-age`, `verify --cache-max-age`, `attest serve --token-lifetime`).
 * The daemon's millisecond settings (`500ms`, `1.5s`) have their own in src/daemon/settings.ts.
 */
export function parseSecondsFlag(value: string, flag: string, bounds: SecondsBounds): number {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim());
  const seconds = m ? Number(m[1]) * SECONDS_PER_UNIT[m[2] as keyof typeof SECONDS_PER_UNIT] : NaN;
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!(seconds >= min && seconds <= max)) {
    const range = bounds.max === undefined ? (min > 0 ? `, at least ${min}s` : '') : `, from ${min}s up to ${formatSeconds(max)}`;
    throw new CliError(`${flag} ${JSON.stringify(value)}: use seconds or a number with s, m, h or d${range} (e.g. ${bounds.example})`, EXIT_BAD_INPUT);
  }
  return seconds;
}

/** `86400` → `1d`, `3600` → `1h`: the largest unit that divides the value. */
function formatSeconds(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
