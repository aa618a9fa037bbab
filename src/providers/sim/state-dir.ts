import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Where a system-wide simulated platform lives (packages, containers). */
export const SYSTEM_STATE_DIR = '/var/lib/sgx-quote-helper/sim';
/** Environment variable that names the state directory. */
export const STATE_DIR_ENV = 'SQH_STATE_DIR';

/** True when `dir` is writable, or does not exist yet but could be created under a writable parent. */
export function canCreateOrWrite(dir: string): boolean {
  // The directory may not exist yet: what matters is whether we could create it.
  let d = resolve(dir);
  while (!existsSync(d)) {
    const parent = dirname(d);
    if (parent === d) return false;
    d = parent;
  }
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The per-user location: `$XDG_STATE_HOME/sgx-quote-helper/sim`, else `~/.local/state/sgx-quote-helper/sim`. */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'sgx-quote-helper', 'sim');
}

/**
 * Resolve the state directory: explicit flag, then `SQH_STATE_DIR`, then the system directory when it
 * exists or can be created by this user, else the per-user XDG state directory.
 */
export function resolveStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env[STATE_DIR_ENV]) return resolve(env[STATE_DIR_ENV] as string);
  if (canCreateOrWrite(SYSTEM_STATE_DIR)) return SYSTEM_STATE_DIR;
  return userStateDir(env);
}
