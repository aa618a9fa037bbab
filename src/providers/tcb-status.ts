/**
 * The TCB statuses Intel's TCB info and QE identity levels carry (QVL `VALID_TCB_INFO_STATUSES`).
 *
 * Defined once at the providers layer: the simulator picks its TCB profiles from this list and the
 * verifier accepts exactly these in collateral, so the two cannot drift apart.
 */
export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];
