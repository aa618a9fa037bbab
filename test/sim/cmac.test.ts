import { createCipheriv, randomBytes } from 'node:crypto';
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

  it('gives every MAC as if computed alone: repeated, interleaved keys and all lengths (the CBC context is reused)', () => {
    // Reference: RFC 4493 §2.4 with a fresh AES-128-CBC context and zero IV per MAC.
    const reference = (key: Buffer, m: Buffer): string => {
      const { k1, k2 } = cmacSubkeys(key);
      const complete = m.length > 0 && m.length % 16 === 0;
      const padded = Buffer.alloc(complete ? m.length : m.length - (m.length % 16) + 16);
      m.copy(padded);
      if (!complete) padded[m.length] = 0x80;
      const k = complete ? k1 : k2;
      for (let i = 0; i < 16; i++) padded[padded.length - 16 + i] ^= k[i];
      const c = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
      c.setAutoPadding(false);
      const out = Buffer.concat([c.update(padded), c.final()]);
      return out.subarray(out.length - 16).toString('hex');
    };
    const keys = [KEY, randomBytes(16), randomBytes(16)];
    for (let round = 0; round < 200; round++) {
      const key = keys[round % keys.length];
      const m = randomBytes(round % 70);
      const before = Buffer.from(m);
      expect(aesCmac(key, m).toString('hex'), `round ${round}`).toBe(reference(key, m));
      expect(m.equals(before)).toBe(true);
    }
    // A caller modifying a returned tag does not change later MACs.
    const tag = aesCmac(KEY, M.subarray(0, 16));
    tag.fill(0xff);
    expect(aesCmac(KEY, M.subarray(0, 40)).toString('hex')).toBe('dfa66747de9ae63030ca32611497c827');
    expect(aesCmac(KEY, M.subarray(0, 0)).toString('hex')).toBe('bb1d6929e95937287fa37d129b756746');
  });

  it('rejects a key that is not 16 bytes with a typed error', () => {
    expect(() => aesCmac(Buffer.alloc(15), M)).toThrow(SimInputError);
  });
});
