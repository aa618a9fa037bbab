/** A command-line value that is not what it should be (bad hex, wrong length, out of range). */
export class DemoInputError extends Error {
  override readonly name = 'DemoInputError';
  readonly code = 'INVALID_INPUT';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parse a hex flag value (optional 0x prefix). `exact` demands that many bytes; `max` allows up to
 * that many (the caller zero-pads, as EREPORT does with report data).
 */
export function parseHexField(field: string, value: string, size: { exact?: number; max?: number }): Buffer {
  const hex = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new DemoInputError(field, `${field} must be hex (an even number of 0-9a-f digits), got '${value}'`);
  }
  const bytes = Buffer.from(hex, 'hex');
  if (size.exact !== undefined && bytes.length !== size.exact) {
    throw new DemoInputError(field, `${field} must be ${size.exact} bytes (${size.exact * 2} hex digits), got ${bytes.length}`);
  }
  if (size.max !== undefined && bytes.length > size.max) {
    throw new DemoInputError(field, `${field} must be at most ${size.max} bytes (${size.max * 2} hex digits), got ${bytes.length}`);
  }
  return bytes;
}
