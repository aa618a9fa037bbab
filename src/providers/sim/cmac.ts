import { createCipheriv, type Cipher } from 'node:crypto';
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

/**
 * What one key needs for every MAC: its subkeys and one long-lived AES-128-CBC context. Creating a
 * cipher context per MAC costs more than the MAC itself (OpenSSL 3 looks the algorithm up and builds
 * a context on every `createCipheriv`); the daemon MACs with the same few report keys over and over.
 */
interface KeyState {
  k1: Buffer;
  k2: Buffer;
  cbc: Cipher;
  /**
   * The context's CBC chaining value: the last ciphertext block it produced (zero when new). The next
   * message's first block is XORed with it, which cancels the chaining, so every MAC is computed
   * exactly as with a fresh context and a zero IV.
   */
  chain: Buffer;
}

// Bounded, so many distinct keys (reports for many targets) cannot grow it.
const KEY_CACHE_MAX = 32;
const keyCache = new Map<string, KeyState>();

function keyState(id: string, key: Buffer): KeyState {
  let st = keyCache.get(id);
  if (!st) {
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    const cbc = createCipheriv('aes-128-cbc', key, ZERO_IV);
    cbc.setAutoPadding(false);
    st = { ...cmacSubkeys(key), cbc, chain: Buffer.alloc(BLOCK) };
    keyCache.set(id, st);
  }
  return st;
}

/** AES-128-CMAC of `message` under the 16-byte `key`; returns the full 16-byte tag. */
export function aesCmac(key: Buffer, message: Buffer): Buffer {
  if (key.length !== BLOCK) {
    throw new SimInputError('INVALID_SIZE', `AES-128-CMAC key must be 16 bytes, got ${key.length}`, 'key');
  }
  const id = key.toString('hex');
  const st = keyState(id, key);
  const n = message.length;
  const complete = n > 0 && n % BLOCK === 0;
  const padded = complete ? n : n - (n % BLOCK) + BLOCK;
  // A working copy (small: from Node's buffer pool), so the caller's message is never modified.
  const work = Buffer.allocUnsafe(padded);
  message.copy(work);
  const lastStart = padded - BLOCK;
  // The last block: padded with 10* when incomplete, XORed with K1 (complete) or K2 (padded).
  if (!complete) {
    work[n] = 0x80;
    work.fill(0, n + 1);
  }
  const k = complete ? st.k1 : st.k2;
  for (let i = 0; i < BLOCK; i++) work[lastStart + i] ^= k[i];
  // Undo the context's chaining (see KeyState.chain): CBC-MAC with a zero IV, the last block is the tag.
  for (let i = 0; i < BLOCK; i++) work[i] ^= st.chain[i];
  let out: Buffer;
  try {
    out = st.cbc.update(work);
    if (out.length !== padded) throw new Error(`AES-CBC returned ${out.length} of ${padded} bytes`);
  } catch (err) {
    // The context's state is unknown now: never use it again.
    keyCache.delete(id);
    throw err;
  }
  const tag = Buffer.allocUnsafe(BLOCK);
  out.copy(tag, 0, lastStart);
  // The context's own copy: the caller may modify the tag it gets.
  out.copy(st.chain, 0, lastStart);
  return tag;
}
