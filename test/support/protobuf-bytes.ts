/**
 * A protobuf base-128 varint written by hand, for tests that build raw frames byte by byte
 * independently of the code under test (so the codec is checked against something it did not make).
 */
export function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
