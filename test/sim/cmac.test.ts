import { describe, expect, it } from 'vitest';
import { aesCmac, cmacSubkeys } from '../../src/providers/sim/cmac.js';
import { SimInputError } from '../../src/providers/sim/errors.js';

// RFC 4493 §4 test vectors.
const KEY = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
const M = Buffer.from(
  '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
  'hex',
);

describe('AES-128-CMAC (RFC 4493)', () => {
  it.each([
    ['Example 1: len 0', 0, 'bb1d6929e95937287fa37d129b756746'],
    ['Example 2: len 16', 16, '070a16b46b4d4144f79bdd9dd04a287c'],
    ['Example 3: len 40', 40, 'dfa66747de9ae63030ca32611497c827'],
    ['Example 4: len 64', 64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('%s', (_name, len, tag) => {
    expect(aesCmac(KEY, M.subarray(0, len)).toString('hex')).toBe(tag);
  });

  it('subkeys K1/K2 match RFC 4493 §4', () => {
    const { k1, k2 } = cmacSubkeys(KEY);
    expect(k1.toString('hex')).toBe('fbeed618357133667c85e08f7236a8de');
    expect(k2.toString('hex')).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });

  it('rejects a key that is not 16 bytes with a typed error', () => {
    expect(() => aesCmac(Buffer.alloc(15), M)).toThrow(SimInputError);
  });
});
