import { QuantityError } from './errors.js';

/**
 * An exact Kubernetes quantity as a rational number num/den (den > 0).
 * Exact arithmetic matters: "0.5Mi" is a whole number of bytes while "1.5" is not, and floating point
 * cannot tell 1e-3*1000 from 1.
 */
export interface Quantity {
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
// Decimal SI suffixes as powers of ten.
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const GRAMMAR = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;

function pow10(exp: number): Quantity {
  return exp >= 0 ? { num: 10n ** BigInt(exp), den: 1n } : { num: 1n, den: 10n ** BigInt(-exp) };
}

/** Parse a quantity (number or string, as found in a pod's resources) exactly; throws QuantityError. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? String(input) : input;
  const m = GRAMMAR.exec(text);
  if (!m || text.length > 64) throw new QuantityError(String(input));
  const [, sign, digits, binary, decimal, exponent] = m;
  const [whole, frac = ''] = digits.split('.');
  let num = BigInt((whole || '0') + frac) * (sign === '-' ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  if (binary) {
    num *= BINARY[binary];
  } else {
    const exp = exponent !== undefined ? Number(exponent) : DECIMAL[decimal ?? ''];
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 64) throw new QuantityError(String(input));
    const scale = pow10(exp);
    num *= scale.num;
    den *= scale.den;
  }
  return { num, den };
}

export function isIntegral(q: Quantity): boolean {
  return q.num % q.den === 0n;
}

export function quantitiesEqual(a: Quantity, b: Quantity): boolean {
  return a.num * b.den === b.num * a.den;
}
