import { createCipheriv } from 'node:crypto';
import { SimInputError } from './errors.js';

/**
 * AES-128-CMAC (RFC 4493 / NIST SP 800-38B). Node has no built-in CMAC; SGX uses it for REPORT MACs
 * and for deriving report keys, so the simulated platform needs it.
 */

const BLOCK = 16;
/** R_b for 128-bit blocks (RFC 4493 §2.3). */
const RB = 0x87;
const ZERO_IV = Buffer.alloc(BLOCK);

function shiftLeftOne(input: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  let carry = 0;
  for (let i = BLOCK - 1; i >= 0; i--) {
    const b = input[i];
    out[i] = ((b << 1) & 0xff) | carry;
    carry = b >>> 7;
  }
  return out;
}

function subkey(prev: Buffer): Buffer {
  const k = shiftLeftOne(prev);
  if (prev[0] & 0x80) k[BLOCK - 1] ^= RB;
  return k;
}

function aesEncryptBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** The CMAC subkeys K1, K2 (RFC 4493 §2.3); exported for the RFC test vectors. */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const k1 = subkey(aesEncryptBlock(key, Buffer.alloc(BLOCK)));
  return { k1, k2: subkey(k1) };
}

// Subkeys cost an AES call (a cipher context) each time; the daemon MACs with the same few report keys
// over and over. Bounded, so many distinct keys (reports for many targets) cannot grow it.
const SUBKEY_CACHE_MAX = 32;
const subkeyCache = new Map<string, { k1: Buffer; k2: Buffer }>();

function cachedSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const id = key.toString('hex');
  let sk = subkeyCache.get(id);
  if (!sk) {
    if (subkeyCache.size >= SUBKEY_CACHE_MAX) subkeyCache.clear();
    sk = cmacSubkeys(key);
    subkeyCache.set(id, sk);
  }
  return sk;
}

/** AES-128-CMAC of `message` under the 16-byte `key`; returns the full 16-byte tag. */
export function aesCmac(key: Buffer, message: Buffer): Buffer {
  if (key.length !== BLOCK) {
    throw new SimInputError('INVALID_SIZE', `AES-128-CMAC key must be 16 bytes, got ${key.length}`, 'key');
  }
  const { k1, k2 } = cachedSubkeys(key);
  const complete = message.length > 0 && message.length % BLOCK === 0;
  // Only the last block is modified (padded and/or XORed with a subkey): the rest is encrypted as it is.
  const lastStart = complete ? message.length - BLOCK : message.length - (message.length % BLOCK);
  const last = Buffer.alloc(BLOCK);
  message.copy(last, 0, lastStart);
  if (!complete) last[message.length - lastStart] = 0x80;
  const k = complete ? k1 : k2;
  for (let i = 0; i < BLOCK; i++) last[i] ^= k[i];
  // CBC-MAC with a zero IV: the last ciphertext block is the tag.
  const c = createCipheriv('aes-128-cbc', key, ZERO_IV);
  c.setAutoPadding(false);
  if (lastStart > 0) c.update(message.subarray(0, lastStart));
  const tag = c.update(last);
  c.final();
  return tag;
}
