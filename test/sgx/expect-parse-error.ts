import { expect } from 'vitest';
import { SgxParseError } from '../../src/sgx/index.js';

/**
 * Runs `fn`, expects it to throw an SgxParseError with `code` (and, when given, a matching `field` and
 * the exact `offset`), and a message that names the offset so a user can find the byte in a hex dump.
 */
export function expectParseError(fn: () => unknown, code: string, field?: RegExp, offset?: number): SgxParseError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an SgxParseError').toBeInstanceOf(SgxParseError);
  const err = caught as SgxParseError;
  expect(err.code).toBe(code);
  if (field) expect(err.field).toMatch(field);
  if (offset !== undefined) expect(err.offset).toBe(offset);
  expect(err.message).toContain(`offset ${err.offset}`);
  return err;
}
