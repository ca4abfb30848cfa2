#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { chooseLogFormat, formatProblems, parseEnrollmentLink, type ResolvedConfig } from '@cityedge/contract';
import { Agent } from './agent.js';
import { LogRing } from './runtime/log-ring.js';
import { loadGatewayConfigFile, resolveManagedDocument } from './load-config.js';
import { cameraCredentialProblems } from './camera/camera-credentials.js';
import { enroll, EnrollError, identityPath, loadIdentity, type Identity } from './config/identity.js';
import { checkStatePaths, isConfigurationError } from './config/startup-checks.js';
import { AGENT_VERSION } from './version.js';

const USAGE = `usage: cityedge-agent <command> [options]

commands:
  run            poll devices, buffer and forward (the systemd service)
  enroll [LINK]  exchange a one-time code for this gateway's identity: the enrollment link
                 (what the QR code from \`edgectl gateway create\` carries), or --registry and --code
  check-config   validate a configuration file and print every problem
  version        print the agent version (also --version)

options:
  -c, --config <file>      gateway configuration (YAML or JSON)  [$CITYEDGE_CONFIG or /etc/cityedge/agent.yaml]
                           not needed once enrolled: the registry delivers it, signed
  -s, --state-dir <dir>    where the outbox and identity live   [$STATE_DIRECTORY or /var/lib/cityedge]
  -l, --log-level <level>  fatal, error, warn, info, debug, trace (overrides the file)
      --log-format <f>     json or pretty [pretty on a terminal, json under systemd; $CITYEDGE_LOG_FORMAT]
      --registry <url>     enroll: the registry, e.g. https://registry.ioc.example.vn
      --code <code>        enroll: the code a technician got when creating the gateway
      --force              enroll: replace an existing identity
  -V, --version
  -h, --help

On a gateway installed with deploy/install-agent.sh, run it as the agent's user:
  sudo -u cityedge cityedge-agent enroll 'https://<registry>/enroll#code=<code>'
  sudo systemctl restart cityedge-agent`;

/** Where a gateway without configuration or enrollment is told to start. */
const NOT_SET_UP = (file: string, stateDir: string) => `this gateway is not enrolled (no ${identityPath(stateDir)}) and has no configuration file (${file}).
Enroll it with the registry (a technician gets the code or link from \`edgectl gateway create\`):
  sudo -u cityedge cityedge-agent enroll 'https://<registry>/enroll#code=<code>'
  sudo -u cityedge cityedge-agent enroll --registry https://<registry> --code <code>
or write a configuration file (example: deploy/config/agent.example.yaml) and check it with:
  cityedge-agent check-config --config ${file}`;

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'state-dir': { type: 'string', short: 's' },
        'log-level': { type: 'string', short: 'l' },
        registry: { type: 'string' },
        code: { type: 'string' },
        force: { type: 'boolean' },
        'log-format': { type: 'string' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`cityedge-agent: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? (values.help ? 'help' : 'run');
  if (values.help || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === 'version' || values.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  if (command !== 'run' && command !== 'check-config' && command !== 'enroll') {
    process.stderr.write(`cityedge-agent: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  if (values['log-level'] !== undefined && !levels.includes(values['log-level'])) {
    process.stderr.write(`cityedge-agent: --log-level: expected one of ${levels.join(', ')}\n`);
    return 2;
  }
  const logFormat = chooseLogFormat({ flag: values['log-format'], env: process.env, stdoutIsTTY: process.stdout.isTTY === true });
  if (!logFormat.ok) {
    process.stderr.write(`cityedge-agent: ${logFormat.message}\n`);
    return 2;
  }
  const stateDir = values['state-dir'] ?? process.env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/cityedge';

  if (command === 'enroll') {
    const target = enrollTarget(positionals.slice(1), values.registry, values.code);
    if (!target.ok) {
      process.stderr.write(`cityedge-agent: enroll: ${target.message}\n`);
      return 2;
    }
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const id = await enroll({ registryUrl: target.registryUrl, code: target.code, stateDir, force: values.force ?? false });
      process.stdout.write(
        `enrolled as ${id.gatewayId}; identity stored in ${identityPath(stateDir)} (mode 0600).\n` +
          'Start the agent: sudo systemctl restart cityedge-agent (or, in the foreground: cityedge-agent run)\n',
      );
      return 0;
    } catch (err) {
      process.stderr.write(`cityedge-agent: enroll: ${(err as Error).message}\n`);
      return err instanceof EnrollError && err.code === 'EDGE_ENROLL_UNREACHABLE' ? 1 : 2;
    }
  }

  let identity: Identity | undefined;
  try {
    identity = command === 'run' ? loadIdentity(stateDir) : undefined;
  } catch (err) {
    process.stderr.write(`cityedge-agent: ${(err as Error).message}\n`);
    return 2;
  }
  const configPath = values.config ?? (identity ? undefined : (process.env.CITYEDGE_CONFIG || '/etc/cityedge/agent.yaml'));
  let resolved: ResolvedConfig;
  if (configPath === undefined && identity) {
    // Enrolled and no local file: start with no devices and wait for the registry's configuration.
    const id = identity;
    const boot = await resolveManagedDocument({ gateway: { id: id.gatewayId }, lines: [] }, id, stateDir, { stateDir });
    if (!boot.ok) {
      process.stderr.write(`cityedge-agent: the identity in ${identityPath(stateDir)} gives an invalid configuration:\n${formatProblems(boot.problems)}\n`);
      return 2;
    }
    resolved = boot.value;
  } else {
    const file = configPath!;
    if (!identity && values.config === undefined && !existsSync(file)) {
      process.stderr.write(`cityedge-agent: ${NOT_SET_UP(file, stateDir)}\n`);
      return 2;
    }
    const loaded = await loadGatewayConfigFile(file, identity);
    if (!loaded.ok) {
      process.stderr.write(`cityedge-agent: ${loaded.problems.length} problem(s) in the configuration, not starting:\n${formatProblems(loaded.problems, file)}\n`);
      return 2;
    }
    resolved = loaded.value;
    const stateProblems = checkStatePaths(resolved.config, stateDir, { openExisting: command === 'check-config' });
    // A running agent marks a camera whose password file it cannot read misconfigured and goes on;
    // check-config reports it as an error so the technician sees it before it runs.
    const cameraProblems = command === 'check-config' ? cameraCredentialProblems(resolved.config.cameras) : [];
    const problems = [...stateProblems, ...cameraProblems];
    if (problems.length > 0) {
      process.stderr.write(`cityedge-agent: ${problems.length} problem(s) in the configuration (state directory ${stateDir}), not starting:\n${formatProblems(problems, file)}\n`);
      return 2;
    }
    if (command === 'check-config') {
      const devices = resolved.lines.reduce((n, l) => n + l.devices.length, 0);
      process.stdout.write(`${file}: ok (gateway ${resolved.config.gateway.id}, ${resolved.lines.length} lines, ${devices} devices)\n`);
      return 0;
    }
  }

  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    process.stderr.write(`cityedge-agent: --state-dir ${stateDir}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})\n`);
    return 2;
  }
  const logOptions = {
    level: values['log-level'] ?? resolved.config.log.level,
    base: { gateway: resolved.config.gateway.id },
    redact: { paths: ['password', '*.password', '*.*.password', 'passwordFile'], censor: '[redacted]' },
  };
  // pino-pretty is loaded only for a person at a terminal; synchronous, so nothing is lost on exit.
  // The last lines are also kept in memory, secrets redacted, for the logs.tail command.
  const out = logFormat.format === 'pretty' ? (await import('pino-pretty')).default({ sync: true, ignore: 'pid,hostname' }) : pino.destination({ fd: 1, sync: true });
  const ring = new LogRing();
  const logger = pino(logOptions, pino.multistream([{ stream: out, level: 'trace' }, { stream: ring, level: 'trace' }]));
  const managed = identity && { identity, resolveDocument: (doc: Record<string, unknown>) => resolveManagedDocument(doc, identity, stateDir, { stateDir }) };
  let shutdown: (reason: string) => void = () => undefined;
  const agent = new Agent({ resolved, stateDir, logger, ...(managed && { managed }), logTail: (n) => ring.tail(n), restart: (reason) => shutdown(reason) });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    if (isConfigurationError(err)) {
      logger.fatal({ err }, 'agent could not start: configuration problem');
      process.stderr.write(`cityedge-agent: not starting: ${configPath ?? 'the configuration from the registry'}: ${err.message}\n`);
      return 2;
    }
    logger.fatal({ err }, 'agent could not start');
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    shutdown = (reason: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ reason }, 'stopping');
      const force = setTimeout(() => {
        logger.error('stop took longer than 15 s; exiting');
        resolveExit(1);
      }, 15_000);
      force.unref();
      agent.stop().then(
        () => resolveExit(0),
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/** The registry and code to enroll with: from an enrollment link, or from --registry and --code. */
function enrollTarget(args: string[], registry: string | undefined, code: string | undefined): { ok: true; registryUrl: string; code: string } | { ok: false; message: string } {
  if (args.length > 1) return { ok: false, message: `expected one enrollment link, got ${args.length} arguments` };
  if (args[0] !== undefined) {
    if (registry !== undefined || code !== undefined) return { ok: false, message: 'give either the enrollment link or --registry and --code, not both' };
    const link = parseEnrollmentLink(args[0]);
    return link.ok ? link : { ok: false, message: `${args[0]}: ${link.message}` };
  }
  if (!registry || !/^https?:\/\/\S+$/.test(registry)) return { ok: false, message: '--registry: expected the registry URL (http:// or https://), or give the enrollment link' };
  if (!code) return { ok: false, message: '--code: expected the enrollment code, or give the enrollment link' };
  return { ok: true, registryUrl: registry.replace(/\/+$/, ''), code };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cityedge-agent: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
