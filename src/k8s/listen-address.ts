import { isIP } from 'node:net';
import { ListenAddressError } from './errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parse HOST:PORT; IPv6 hosts are bracketed ([::]:9443). Port 0 asks the OS for a free port. */
export function parseListenAddress(input: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(input.trim());
  if (!m) throw new ListenAddressError(input);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port > 65535) throw new ListenAddressError(input);
  if (m[1] !== undefined && isIP(host) !== 6) throw new ListenAddressError(input);
  return { host, port };
}
