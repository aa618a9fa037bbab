// The dispatcher caches the provider's attestation key ids once it has a non-empty answer, so later
// requests never wait on (or fail with) the provider for them (wire spec §4.2). Written for mutation
// testing (docs/mutation-testing.md): the daemon is started inside each test, so the call that fills the
// cache is part of the test (per-test coverage does not see what a beforeAll hook ran). The provider is the
// FakeProvider TEST DOUBLE (hardware boundary); the daemon, socket and framing are real.
import { describe, expect, it } from 'vitest';
import { AesmCode } from '../../src/aesm/index.js';
import { ATT_KEY_ID_EXT_SIZE } from '../../src/sgx/index.js';
import { FAKE_QUOTE_SIZE, FakeProvider, KEY_ID, call, removeDir, startTestDaemon, tempDir } from './helpers.js';

/** Answers the key-id question with `answers` in turn, then throws: a provider that went away. */
class KeyIdsOnce extends FakeProvider {
  asked = 0;
  constructor(private readonly answers: Buffer[][]) {
    super();
  }
  override async supportedAttKeyIds(): Promise<Buffer[]> {
    this.calls.push('supportedAttKeyIds');
    const a = this.answers[this.asked++];
    if (!a) throw new Error('provider gone');
    return a;
  }
}

async function withDaemon(provider: FakeProvider, fn: (sock: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const daemon = await startTestDaemon(dir, provider);
  try {
    await fn(daemon.config.socketPath);
  } finally {
    await daemon.shutdown();
    removeDir(dir);
  }
}

describe('the key-id cache', () => {
  it('one good answer serves every later request although the provider fails from then on', async () => {
    const provider = new KeyIdsOnce([[KEY_ID]]);
    await withDaemon(provider, async (sock) => {
      for (let i = 0; i < 3; i++) {
        const n = await call(sock, { kind: 'getSupportedAttKeyIdNum' });
        expect(n.errorCode).toBe(0);
        expect(n.attKeyIdNum).toBe(1);
      }
      expect((await call(sock, { kind: 'getSupportedAttKeyIds', bufSize: ATT_KEY_ID_EXT_SIZE })).attKeyIds).toEqual(KEY_ID);
      expect((await call(sock, { kind: 'selectAttKeyId' })).selectedAttKeyId).toEqual(KEY_ID);
      expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).quoteSize).toBe(FAKE_QUOTE_SIZE);
      expect(provider.asked).toBe(1);
    });
  });

  it('an answer without a usable key is not cached; the first one with a key is, and only its valid ids', async () => {
    const provider = new KeyIdsOnce([[], [Buffer.alloc(ATT_KEY_ID_EXT_SIZE - 1)], [Buffer.alloc(7), KEY_ID]]);
    await withDaemon(provider, async (sock) => {
      // The daemon's warm-up took the first answer (empty); each request asks again until one has a key.
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(AesmCode.SERVICE_UNAVAILABLE);
      const n = await call(sock, { kind: 'getSupportedAttKeyIdNum' });
      expect(n.errorCode).toBe(0);
      expect(n.attKeyIdNum).toBe(1);
      const asked = provider.asked;
      expect(asked).toBe(3);
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect((await call(sock, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).errorCode).toBe(0);
      expect(provider.asked).toBe(asked);
    });
  });
});
