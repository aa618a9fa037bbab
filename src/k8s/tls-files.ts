import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TlsLoadError } from './errors.js';

/** A serving certificate and its key, checked to belong together. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, safe to log (never log the key). */
  fingerprint: string;
  notAfter: Date;
  /** hash of both files' bytes: tells a real change from a touched file */
  contentHash: string;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new TlsLoadError('UNREADABLE', `cannot read TLS ${what} ${path} (${code}); check the Secret is mounted there`);
  }
}

export function loadTlsMaterial(certPath: string, keyPath: string): TlsMaterial {
  const cert = read(certPath, 'certificate');
  const key = read(keyPath, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsLoadError('INVALID_CERT', `${certPath} is not a PEM or DER X.509 certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsLoadError('INVALID_KEY', `${keyPath} is not a PEM or DER private key`);
  }
  // During a Secret update the two files can be observed half-swapped; serving a mismatched pair would
  // fail every handshake, so such a pair is refused and the previous one stays in use.
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsLoadError('KEY_MISMATCH', `${keyPath} is not the private key of the certificate in ${certPath}`);
  }
  return {
    cert,
    key,
    fingerprint: x509.fingerprint256,
    notAfter: new Date(x509.validTo),
    contentHash: createHash('sha256').update(cert).update('\0').update(key).digest('hex'),
  };
}

export interface TlsFileWatcherOptions {
  certPath: string;
  keyPath: string;
  /** How often the files are re-read. Kubernetes swaps Secret volumes through a symlink, which
   * inotify-based watching misses on some setups; polling two small files is cheap and always works. */
  intervalMs?: number;
  onReload: (material: TlsMaterial) => void;
  onError: (err: TlsLoadError) => void;
}

/** Re-reads the certificate and key and calls onReload when their content changed and is valid. */
export class TlsFileWatcher {
  private timer: NodeJS.Timeout | undefined;
  private lastFailedHash: string | undefined;

  constructor(
    private readonly opts: TlsFileWatcherOptions,
    private current: TlsMaterial,
  ) {}

  get material(): TlsMaterial {
    return this.current;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Returns true when a new certificate was applied. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.opts.certPath, this.opts.keyPath);
    } catch (err) {
      if (!(err instanceof TlsLoadError)) throw err;
      // Report a given broken state once, not on every tick.
      const marker = `${err.code}:${err.message}`;
      if (marker !== this.lastFailedHash) {
        this.lastFailedHash = marker;
        this.opts.onError(err);
      }
      return false;
    }
    this.lastFailedHash = undefined;
    if (next.contentHash === this.current.contentHash) return false;
    this.current = next;
    this.opts.onReload(next);
    return true;
  }
}
