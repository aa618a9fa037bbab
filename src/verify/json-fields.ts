import { TCB_LEVEL_STATUSES, type TcbLevelStatus } from './status.js';

/** A signed collateral JSON body violates its format rules. Internal: mapped to *_FORMAT reasons. */
export class CollateralJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollateralJsonError';
  }
}

export type Json = Record<string, unknown>;

export function parseJsonObject(text: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CollateralJsonError(`${what} is not valid JSON (${(e as Error).message})`);
  }
  return obj(v, what);
}

export function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CollateralJsonError(`${what} must be an object`);
  return v as Json;
}

export function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new CollateralJsonError(`${what} must be an array`);
  return v;
}

export function uint(v: unknown, what: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new CollateralJsonError(`${what} must be an integer 0..${max}`);
  }
  return v;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new CollateralJsonError(`${what} must be a string`);
  return v;
}

/** Hex of an exact byte length (case-insensitive, like QVL). */
export function hexBytes(v: unknown, bytes: number, what: string): Buffer {
  const s = str(v, what);
  if (s.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(s)) throw new CollateralJsonError(`${what} must be ${bytes * 2} hex characters`);
  return Buffer.from(s, 'hex');
}

const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;

/** QVL `isValidTimeString`: `YYYY-MM-DDTHH:MM:SSZ`, no fractional seconds. */
export function date(v: unknown, what: string): Date {
  const s = str(v, what);
  const d = new Date(s);
  if (!DATE_RE.test(s) || Number.isNaN(d.getTime())) throw new CollateralJsonError(`${what} must be YYYY-MM-DDTHH:MM:SSZ`);
  return d;
}

export function tcbStatus(v: unknown, what: string): TcbLevelStatus {
  const s = str(v, what);
  if (!(TCB_LEVEL_STATUSES as readonly string[]).includes(s)) throw new CollateralJsonError(`${what} ${JSON.stringify(s)} is not a known TCB status`);
  return s as TcbLevelStatus;
}

export function advisoryIds(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  return arr(v, what).map((a, i) => str(a, `${what}[${i}]`));
}
