/**
 * Who listens on the AESM socket, and whether two services fight over it. An sgx-quote-helper writes
 * an identity record `.<socket name>.sqh-<dev>-<ino>` beside the socket before publishing it (see
 * daemon/socket-binding.ts), so a socket inode without a record was put there by something else
 * (Intel's aesmd, another vendor's helper). Competition shows as: Intel's aesmd running here beside
 * our listener, the ops endpoint answered by another process than the one that published the socket,
 * or the socket's inode changing between two looks.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { identityRecordPath, identityRecordPrefix } from '../daemon/socket-binding.js';
import { ok, warn, type CheckResult } from './types.js';

export const CHECK_LISTENER = 'socket-listener';
/** The process name of Intel's AESM daemon (`aesmd.service` runs `aesm_service`). */
export const AESMD_PROCESS_NAME = 'aesm_service';
/** A /proc with more entries than this is not scanned further (bounded work on any host). */
const MAX_PROC_ENTRIES = 100_000;
const MAX_RECORD_BYTES = 4096;

export interface IdentityRecord {
  service?: string;
  pid?: number;
  /** Owner of the record file. */
  uid: number;
}

export interface ListenerCheckInput {
  socketPath: string;
  /** Filesystem root whose proc/ is scanned for Intel's aesmd ('/' on a real system). */
  root: string;
  /** pid the helper's ops endpoint reported in /healthz, when it answered. */
  opsPid?: number;
  /** Where that ops endpoint is, for the message. */
  opsUrl?: string;
  /** The socket answered AESM requests (from the socket check). */
  answered: boolean;
  /** Wait between the two looks at the socket's inode (default 300 ms). */
  pause?: () => Promise<void>;
}

export async function readIdentityRecord(socketPath: string, id: { dev: number; ino: number }): Promise<IdentityRecord | undefined> {
  const file = identityRecordPath(socketPath, id);
  try {
    const st = await lstat(file);
    if (!st.isFile()) return undefined;
    const text = (await readFile(file)).subarray(0, MAX_RECORD_BYTES).toString('utf8');
    let json: { service?: unknown; pid?: unknown } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      /* an empty or foreign-format record still says "ours" by its name */
    }
    return {
      uid: st.uid,
      ...(typeof json.service === 'string' ? { service: json.service } : {}),
      ...(Number.isSafeInteger(json.pid) ? { pid: json.pid as number } : {}),
    };
  } catch {
    return undefined;
  }
}

/** pids of Intel's aesmd visible in `<root>/proc`. */
export async function findAesmdProcesses(root: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(path.join(root, 'proc'));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries.slice(0, MAX_PROC_ENTRIES)) {
    if (!/^\d+$/.test(e)) continue;
    const comm = await readFile(path.join(root, 'proc', e, 'comm'), 'utf8').catch(() => '');
    if (comm.trim() === AESMD_PROCESS_NAME) pids.push(Number(e));
  }
  return pids;
}

export async function checkSocketListener(input: ListenerCheckInput): Promise<CheckResult> {
  const p = input.socketPath;
  const first = await lstat(p).catch(() => undefined);
  if (!first?.isSocket()) return warn(CHECK_LISTENER, `no socket at ${p}: nothing to identify`, 'see the aesm-socket check');
  const record = await readIdentityRecord(p, first);
  const aesmd = await findAesmdProcesses(input.root);
  await (input.pause ?? (() => new Promise<void>((r) => setTimeout(r, 300))))();
  const second = await lstat(p).catch(() => undefined);

  const facts: string[] = [];
  const problems: { text: string; hint: string }[] = [];
  const inode = `inode ${first.ino}`;
  if (record) {
    facts.push(`${p} (${inode}) was published by sgx-quote-helper${record.pid !== undefined ? ` pid ${record.pid}` : ''} (identity record owned by uid ${record.uid})`);
  } else {
    facts.push(`${p} (${inode}, owner uid ${first.uid}) has no sgx-quote-helper identity record: ${input.answered ? 'another AESM service' : 'something that is not an sgx-quote-helper'} listens`);
  }
  const others = (await readdir(path.dirname(p)).catch(() => [] as string[])).filter(
    (n) => n.startsWith(identityRecordPrefix(p)) && n !== path.basename(identityRecordPath(p, first)),
  );
  if (others.length) facts.push(`${others.length} identity record(s) of other inodes beside it (an instance starting, or one killed before it could clean up)`);

  if (!record) {
    const who = aesmd.length ? `Intel's aesmd runs here (pid ${aesmd.join(', ')})` : 'e.g. Intel\'s aesmd or AKS\'s own sgx-quote-helper add-on';
    problems.push({
      text: `the listener is not an sgx-quote-helper (${who})`,
      hint: input.opsPid !== undefined
        ? `an sgx-quote-helper answers at ${input.opsUrl} but does not own the socket: two services compete for ${p}; stop the other one (systemctl disable --now aesmd, or disable the other DaemonSet/add-on), then restart the helper`
        : `if the helper should serve this node, stop the other service (systemctl disable --now aesmd, or the other DaemonSet/add-on) and restart the helper (serve --take-over replaces a foreign socket)`,
    });
  } else {
    if (!input.answered) {
      problems.push({
        text: `the sgx-quote-helper that published it${record.pid !== undefined ? ` (pid ${record.pid})` : ''} does not answer`,
        hint: 'the helper died without cleaning up (kill -9, OOM) or is stuck: check its pod (kubectl describe / logs); a new instance replaces the stale socket by itself',
      });
    }
    if (aesmd.length) {
      problems.push({
        text: `Intel's aesmd also runs here (pid ${aesmd.join(', ')})`,
        hint: `two AESM services compete for ${p}: whichever publishes last wins and the other's socket vanishes; stop one (systemctl disable --now aesmd)`,
      });
    }
    if (input.opsPid !== undefined && record.pid !== undefined && input.opsPid !== record.pid) {
      problems.push({
        text: `the ops endpoint ${input.opsUrl} is answered by pid ${input.opsPid}, the socket by pid ${record.pid}`,
        hint: 'two helper instances run: normal for a few seconds during a rolling update (the old one drains); if it persists, find and stop the one not owning the socket, or point --ops-url at the right instance',
      });
    }
  }
  if (!second || second.ino !== first.ino || second.dev !== first.dev) {
    problems.push({
      text: second ? `the socket was replaced between two looks (${inode} → inode ${second.ino})` : 'the socket disappeared between two looks',
      hint: 'a handover (rolling update) or two services taking the path in turns: run doctor again; if it keeps changing, find the second service',
    });
  }
  const detail = [...facts, ...problems.map((x) => x.text)].join('; ');
  if (problems.length === 0) return ok(CHECK_LISTENER, detail);
  return warn(CHECK_LISTENER, detail, problems.map((x) => x.hint).join('; '));
}
