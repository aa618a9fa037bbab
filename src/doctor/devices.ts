/**
 * SGX device nodes: present, character devices, and openable read-write by this process. The modes
 * are judged from stat() and the process's uid and groups (injected), not by opening the node, so a
 * fake /dev tree in a temp dir can stand in for hardware and the verdict names the group to join.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { fail, ok, warn, type CheckResult, type DoctorRole, type ProcessIdentity } from './types.js';

export const CHECK_DEVICES = 'sgx-devices';

/** Current names first (Linux 5.11+ in-kernel driver), then the legacy out-of-tree DCAP driver's. */
export const ENCLAVE_DEVICES = ['dev/sgx_enclave', 'dev/sgx/enclave'];
export const PROVISION_DEVICES = ['dev/sgx_provision', 'dev/sgx/provision'];

/** The groups Intel's udev rules give the nodes (91-sgx-enclave.rules, 92-sgx-provision.rules). */
export const ENCLAVE_GROUP = 'sgx';
export const PROVISION_GROUP = 'sgx_prv';

export interface DeviceCheckInput {
  /** Filesystem root the device paths are under ('/' on a real system). */
  root: string;
  role: DoctorRole;
  /** The app talks to a quote service (SGX_AESM_ADDR set): it needs no provisioning device of its own. */
  outOfProcess: boolean;
  /** The helper's provider, when its ops endpoint said: sim and upstream need no device. */
  provider?: string;
  who: ProcessIdentity;
}

export interface DeviceNode {
  /** Path as a user would write it (/dev/...). */
  path: string;
  kind: 'char' | 'other';
  /** Owner, group (name when /etc/group has it) and mode. */
  describe: string;
  groupName?: string;
  gid: number;
  accessible: boolean;
}

/** The outcome of looking for one device: found (first name that exists) or not. */
export interface DeviceLook {
  node?: DeviceNode;
  searched: string[];
}

/** Whether `who` may open a file of this owner and mode for reading and writing. */
export function mayReadWrite(st: Pick<Stats, 'uid' | 'gid' | 'mode'>, who: ProcessIdentity): boolean {
  if (who.uid === 0) return true; // CAP_DAC_OVERRIDE
  const bits = who.uid === st.uid ? (st.mode >> 6) & 7 : who.gid === st.gid || who.groups.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 6) === 6;
}

/** gid → group name from `<root>/etc/group`, when readable. */
export function groupNames(root: string): Map<number, string> {
  const names = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(path.join(root, 'etc/group'), 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n').slice(0, 10_000)) {
    const [name, , gid] = line.split(':');
    if (name && gid && /^\d+$/.test(gid)) names.set(Number(gid), name);
  }
  return names;
}

export function lookForDevice(root: string, candidates: string[], who: ProcessIdentity, names: Map<number, string>): DeviceLook {
  const searched = candidates.map((c) => `/${c}`);
  for (const c of candidates) {
    let st: Stats;
    try {
      // stat, not lstat: the legacy names are often symlinks to the new ones.
      st = statSync(path.join(root, c));
    } catch {
      continue;
    }
    const groupName = names.get(st.gid);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const kind = st.isCharacterDevice() ? 'char' : 'other';
    return {
      searched,
      node: {
        path: `/${c}`,
        kind,
        gid: st.gid,
        groupName,
        accessible: mayReadWrite(st, who),
        describe: `${kind === 'char' ? 'character device' : 'NOT a device node'}, uid ${st.uid}, group ${groupName ?? st.gid}, mode ${mode}`,
      },
    };
  }
  return { searched };
}

function membership(node: DeviceNode, who: ProcessIdentity): string {
  const inGroup = who.gid === node.gid || who.groups.includes(node.gid);
  return `this process (uid ${who.uid}) is ${inGroup ? '' : 'not '}in group ${node.groupName ?? node.gid}`;
}

export function checkSgxDevices(input: DeviceCheckInput): CheckResult {
  const names = groupNames(input.root);
  const enclave = lookForDevice(input.root, ENCLAVE_DEVICES, input.who, names);
  const provision = lookForDevice(input.root, PROVISION_DEVICES, input.who, names);
  const needsProvision = input.role === 'node' ? true : !input.outOfProcess;
  // The sim and upstream providers quote without SGX hardware in this pod.
  const hardwareFree = input.role === 'node' && (input.provider === 'sim' || input.provider === 'upstream');

  const problems: { text: string; hint: string }[] = [];
  const missingResources: string[] = [];
  const seen: string[] = [];
  const judge = (look: DeviceLook, what: string, group: string, needed: boolean, resource: string) => {
    const n = look.node;
    if (!n) {
      if (needed) {
        missingResources.push(resource);
        problems.push({ text: `no ${what} device (looked for ${look.searched.join(', ')})`, hint: '' });
      } else seen.push(`no ${what} device (not needed here)`);
      return;
    }
    seen.push(`${n.path}: ${n.describe}; ${membership(n, input.who)}${needed ? '' : ' (not needed here)'}`);
    if (!needed) return;
    if (n.kind !== 'char') {
      problems.push({ text: `${n.path} is not a device node`, hint: `mount the host's ${n.path} (a device, not a file or directory) into this container` });
    }
    if (!n.accessible) {
      problems.push({
        text: `${n.path} cannot be opened read-write by uid ${input.who.uid}`,
        hint: `run as a member of group ${group} (gid ${n.gid}${n.groupName ? `, named ${n.groupName}` : ''} on this filesystem; in a pod: securityContext.supplementalGroups: [${n.gid}]) or as root`,
      });
    }
  };
  judge(enclave, 'enclave', ENCLAVE_GROUP, true, 'sgx.intel.com/enclave');
  judge(provision, 'provisioning', PROVISION_GROUP, needsProvision, 'sgx.intel.com/provision');

  if (missingResources.length) {
    const hint = `pass the device${missingResources.length > 1 ? 's' : ''} into this container (resource ${missingResources.join(' and ')}, from Intel's SGX device plugin) on a host with SGX enabled in firmware and Linux 5.11+`;
    for (const p of problems) if (!p.hint) p.hint = hint;
  }
  const hints = [...new Set(problems.map((p) => p.hint))];
  const detail = seen.join('; ');
  if (problems.length === 0) return ok(CHECK_DEVICES, detail);
  const text = problems.map((p) => p.text).join('; ');
  if (hardwareFree) {
    return warn(CHECK_DEVICES, `${text} (the helper's ${input.provider} provider does not need them)`, `only real (dcap) quotes need the devices: ${hints.join('; ')}`);
  }
  return fail(CHECK_DEVICES, [text, detail].filter(Boolean).join('; '), hints.join('; '));
}
