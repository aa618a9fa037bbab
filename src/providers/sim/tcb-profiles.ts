import { SimInputError } from './errors.js';
import { TCB_STATUSES, type TcbStatus } from '../tcb-status.js';

/**
 * TCB profiles: what the simulated collateral says about this platform. The platform's own TCB (the
 * component SVNs + PCESVN in its PCK certificate) never changes; a profile only decides which TCB levels
 * the TCB Info lists around it, so switching profiles never changes the platform identity.
 */

export { TCB_STATUSES, type TcbStatus } from '../tcb-status.js';

export const TCB_PROFILES = [...TCB_STATUSES, 'TcbLevelNotSupported'] as const;
export type TcbProfile = (typeof TCB_PROFILES)[number];

export const DEFAULT_TCB_PROFILE: TcbProfile = 'UpToDate';

export function isTcbProfile(v: unknown): v is TcbProfile {
  return typeof v === 'string' && (TCB_PROFILES as readonly string[]).includes(v);
}

export function parseTcbProfile(v: string): TcbProfile {
  const hit = TCB_PROFILES.find((p) => p.toLowerCase() === v.toLowerCase());
  if (!hit) {
    throw new SimInputError('UNKNOWN_PROFILE', `unknown TCB profile "${v}"; use one of: ${TCB_PROFILES.join(', ')}`, 'tcbProfile');
  }
  return hit;
}

/** What each profile means, for `sim show`, docs and the health endpoint. */
export const TCB_PROFILE_DESCRIPTIONS: Record<TcbProfile, string> = {
  UpToDate: 'platform TCB is the newest level',
  SWHardeningNeeded: 'newest level, but enclaves need software mitigations (advisory IDs listed)',
  ConfigurationNeeded: 'newest level, but the platform needs a configuration change',
  ConfigurationAndSWHardeningNeeded: 'newest level, configuration change and software mitigations needed',
  OutOfDate: 'a newer TCB level exists: the platform needs patching',
  OutOfDateConfigurationNeeded: 'a newer TCB level exists and a configuration change is needed',
  Revoked: "the platform's TCB level is Revoked and its PCK certificate is listed in the PCK CRL",
  TcbLevelNotSupported: 'the platform TCB is below every TCB level in the TCB Info (no level matches)',
};

/** Illustrative advisory IDs per status (real Intel advisory numbers, chosen for the kind of issue). */
const ADVISORIES: Record<TcbStatus, string[] | undefined> = {
  UpToDate: undefined,
  SWHardeningNeeded: ['INTEL-SA-00615'],
  ConfigurationNeeded: ['INTEL-SA-00289'],
  ConfigurationAndSWHardeningNeeded: ['INTEL-SA-00289', 'INTEL-SA-00615'],
  OutOfDate: ['INTEL-SA-00828'],
  OutOfDateConfigurationNeeded: ['INTEL-SA-00289', 'INTEL-SA-00828'],
  Revoked: ['INTEL-SA-00233'],
};

export interface PlatformTcb {
  /** The 16 SGX TCB component SVNs (equal to the CPUSVN bytes). */
  compSvns: number[];
  pceSvn: number;
}

export interface TcbLevelSpec {
  compSvns: number[];
  pceSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIDs?: string[];
}

/** Intel's TcbLevel ordering (QVL `operator>`): component SVNs lexicographically, then PCESVN. */
export function compareTcb(a: PlatformTcb, b: PlatformTcb): number {
  for (let i = 0; i < 16; i++) {
    if (a.compSvns[i] !== b.compSvns[i]) return a.compSvns[i] - b.compSvns[i];
  }
  return a.pceSvn - b.pceSvn;
}

/** True when `platform` satisfies `level` (every component ≥ and PCESVN ≥), spec §5.G step 2. */
export function tcbSatisfies(platform: PlatformTcb, level: PlatformTcb): boolean {
  return platform.pceSvn >= level.pceSvn && level.compSvns.every((svn, i) => platform.compSvns[i] >= svn);
}

/** A level strictly above `t` that `t` does not satisfy; `skip` avoids reusing a raised component. */
function above(t: PlatformTcb, skip: number[] = []): PlatformTcb {
  const i = t.compSvns.findIndex((svn, idx) => svn < 255 && !skip.includes(idx));
  if (i >= 0) {
    const compSvns = [...t.compSvns];
    compSvns[i] += 1;
    return { compSvns, pceSvn: t.pceSvn };
  }
  if (t.pceSvn < 0xffff && !skip.includes(16)) return { compSvns: [...t.compSvns], pceSvn: t.pceSvn + 1 };
  throw new SimInputError('INVALID_ARGUMENT', 'platform TCB is at the maximum: no higher TCB level can be expressed', 'cpuSvn');
}

/** A level strictly below `t` (which `t` satisfies), or undefined when `t` is all zero. */
function below(t: PlatformTcb): PlatformTcb | undefined {
  if (t.pceSvn > 0) return { compSvns: t.compSvns.map((s) => Math.max(0, s - 1)), pceSvn: t.pceSvn - 1 };
  const i = t.compSvns.findIndex((s) => s > 0);
  if (i < 0) return undefined;
  const compSvns = [...t.compSvns];
  compSvns[i] -= 1;
  return { compSvns, pceSvn: 0 };
}

/** Dates by rank (newest first); fixed so the TCB Info content depends only on the profile. */
const TCB_DATES = ['2025-05-14T00:00:00Z', '2024-03-13T00:00:00Z', '2023-02-15T00:00:00Z', '2021-11-10T00:00:00Z'];

/**
 * The TCB levels of the simulated TCB Info for `profile`, sorted descending like Intel's.
 * The first level the platform satisfies carries the profile's status (none for TcbLevelNotSupported).
 */
export function tcbLevelsFor(profile: TcbProfile, platform: PlatformTcb): TcbLevelSpec[] {
  const levels: Array<PlatformTcb & { tcbStatus: TcbStatus }> = [];
  const low = below(platform);
  switch (profile) {
    case 'UpToDate':
    case 'SWHardeningNeeded':
    case 'ConfigurationNeeded':
    case 'ConfigurationAndSWHardeningNeeded':
      levels.push({ ...platform, tcbStatus: profile });
      if (low) levels.push({ ...low, tcbStatus: 'OutOfDate' });
      break;
    case 'OutOfDate':
    case 'OutOfDateConfigurationNeeded':
    case 'Revoked':
      levels.push({ ...above(platform), tcbStatus: 'UpToDate' });
      levels.push({ ...platform, tcbStatus: profile });
      if (low) levels.push({ ...low, tcbStatus: profile });
      break;
    case 'TcbLevelNotSupported': {
      const first = above(platform);
      const raised = first.compSvns.findIndex((s, i) => s !== platform.compSvns[i]);
      levels.push({ ...first, tcbStatus: 'UpToDate' });
      levels.push({ ...above(platform, [raised < 0 ? 16 : raised]), tcbStatus: 'SWHardeningNeeded' });
      break;
    }
  }
  levels.sort((a, b) => compareTcb(b, a));
  return levels.map((l, i) => ({
    compSvns: l.compSvns,
    pceSvn: l.pceSvn,
    tcbDate: TCB_DATES[Math.min(i, TCB_DATES.length - 1)],
    tcbStatus: l.tcbStatus,
    ...(ADVISORIES[l.tcbStatus] ? { advisoryIDs: [...(ADVISORIES[l.tcbStatus] as string[])] } : {}),
  }));
}

/** Whether the profile lists the platform's PCK certificate in the PCK CRL. */
export function profileRevokesPck(profile: TcbProfile): boolean {
  return profile === 'Revoked';
}
