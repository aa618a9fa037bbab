import { Option, type Command } from 'commander';
import { DOCTOR_ROLES, doctorExitCode, formatJson, formatText, runDoctor, type DoctorRole } from '../doctor/index.js';
import { CliError, EXIT_BAD_INPUT } from './cli-error.js';
import { intOption } from './client.js';
import { normaliseBaseUrl } from '../pcs/pcs-client.js';

interface DoctorFlags {
  json?: boolean;
  socket?: string;
  opsUrl?: string;
  role?: string;
  collateralUrl?: string;
  fmspc?: string;
  timeout?: string;
  fsRoot?: string;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('diagnose this node, application pod or host: SGX devices, Intel libraries, quote provider config, the AESM socket and who serves it, SGX_AESM_ADDR, the helper\'s readiness and collateral (exit 1 when a check FAILs)')
    .option('--json', 'print a JSON array of {name, status, detail, hint}')
    .option('--socket <path>', 'AESM socket (default: $SQH_SOCKET, then /var/run/aesmd/aesm.socket)')
    .option('--ops-url <url>', "the helper's ops endpoint (default http://127.0.0.1:9464)")
    .option('--role <role>', `where this runs: ${DOCTOR_ROLES.join(' or ')} (default: app when SGX_AESM_ADDR is set, else node)`)
    .option('--collateral-url <url>', 'collateral service to check (default: collateral_service or pccs_url of the QCNL config)')
    .option('--fmspc <hex>', "this platform's FMSPC (12 hex digits) for the collateral check, when the helper does not report it (dcap, upstream)")
    .option('--timeout <ms>', 'bound for each network step, in ms (default 5000)')
    // For tests and for looking at a mounted image: /dev, /etc, library dirs and /proc are read under it.
    .addOption(new Option('--fs-root <dir>', 'read /dev, /etc, library directories and /proc under this directory').hideHelp())
    .action(async (o: DoctorFlags) => {
      if (o.role !== undefined && !(DOCTOR_ROLES as readonly string[]).includes(o.role)) {
        throw new CliError(`--role must be one of ${DOCTOR_ROLES.join(', ')}, got '${o.role}'`, EXIT_BAD_INPUT);
      }
      if (o.opsUrl !== undefined && !/^https?:\/\/[^/]+/.test(o.opsUrl)) {
        throw new CliError(`--ops-url must be an http(s) URL such as http://127.0.0.1:9464, got '${o.opsUrl}'`, EXIT_BAD_INPUT);
      }
      if (o.fmspc !== undefined && !/^[0-9a-fA-F]{12}$/.test(o.fmspc)) {
        throw new CliError(`--fmspc must be 12 hex digits (e.g. 00906ED50000), got '${o.fmspc}'`, EXIT_BAD_INPUT);
      }
      if (o.collateralUrl !== undefined) {
        try {
          normaliseBaseUrl(o.collateralUrl);
        } catch (e) {
          throw new CliError(`--collateral-url: ${(e as Error).message}`, EXIT_BAD_INPUT);
        }
      }
      const report = await runDoctor({
        ...(o.role ? { role: o.role as DoctorRole } : {}),
        ...(o.socket ? { socketPath: o.socket } : {}),
        ...(o.opsUrl ? { opsUrl: o.opsUrl } : {}),
        ...(o.collateralUrl ? { collateralUrl: o.collateralUrl } : {}),
        ...(o.fsRoot ? { root: o.fsRoot } : {}),
        ...(o.fmspc ? { fmspc: o.fmspc } : {}),
        ...(o.timeout !== undefined ? { timeoutMs: intOption('--timeout', o.timeout, 1, 600_000) } : {}),
      });
      process.stdout.write(o.json ? formatJson(report.checks) : formatText(report));
      process.exitCode = doctorExitCode(report.checks);
    });
}
