#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { formatProblems, type ResolvedConfig } from '@cityedge/contract';
import { Agent } from './agent.js';
import { loadGatewayConfigFile, resolveManagedDocument } from './load-config.js';
import { enroll, EnrollError, identityPath, loadIdentity, type Identity } from './config/identity.js';
import { checkStatePaths, isConfigurationError } from './config/startup-checks.js';
import { AGENT_VERSION } from './version.js';

const USAGE = `usage: cityedge-agent <command> [options]

commands:
  run            poll devices, buffer and forward (the systemd service)
  enroll         exchange a one-time code for this gateway's identity (--registry, --code)
  check-config   validate a configuration file and print every problem
  version        print the agent version

options:
  -c, --config <file>      gateway configuration (YAML or JSON)  [/etc/cityedge/agent.yaml]
                           not needed once enrolled: the registry delivers it, signed
  -s, --state-dir <dir>    where the outbox and identity live   [$STATE_DIRECTORY or /var/lib/cityedge]
  -l, --log-level <level>  fatal, error, warn, info, debug, trace (overrides the file)
      --registry <url>     enroll: the registry, e.g. https://registry.ioc.example.vn
      --code <code>        enroll: the code a technician got when creating the gateway
      --force              enroll: replace an existing identity
  -h, --help`;

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
  if (command === 'version') {
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
  const stateDir = values['state-dir'] ?? process.env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/cityedge';

  if (command === 'enroll') {
    if (!values.registry || !/^https?:\/\//.test(values.registry)) {
      process.stderr.write('cityedge-agent: --registry: expected the registry URL (http:// or https://)\n');
      return 2;
    }
    if (!values.code) {
      process.stderr.write('cityedge-agent: --code: expected the enrollment code\n');
      return 2;
    }
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const id = await enroll({ registryUrl: values.registry, code: values.code, stateDir, force: values.force ?? false });
      process.stdout.write(`enrolled as ${id.gatewayId}; identity stored in ${identityPath(stateDir)} (mode 0600). Start the agent: cityedge-agent run\n`);
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
  const configPath = values.config ?? (identity ? undefined : '/etc/cityedge/agent.yaml');
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
    const loaded = await loadGatewayConfigFile(file, identity);
    if (!loaded.ok) {
      process.stderr.write(`cityedge-agent: ${loaded.problems.length} problem(s) in the configuration, not starting:\n${formatProblems(loaded.problems, file)}\n`);
      return 2;
    }
    resolved = loaded.value;
    const stateProblems = checkStatePaths(resolved.config, stateDir, { openExisting: command === 'check-config' });
    if (stateProblems.length > 0) {
      process.stderr.write(`cityedge-agent: ${stateProblems.length} problem(s) in the configuration (state directory ${stateDir}), not starting:\n${formatProblems(stateProblems, file)}\n`);
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
  const logger = pino({
    level: values['log-level'] ?? resolved.config.log.level,
    base: { gateway: resolved.config.gateway.id },
    redact: { paths: ['password', '*.password', '*.*.password', 'passwordFile'], censor: '[redacted]' },
  });
  const managed = identity && { identity, resolveDocument: (doc: Record<string, unknown>) => resolveManagedDocument(doc, identity, stateDir, { stateDir }) };
  const agent = new Agent({ resolved, stateDir, logger, ...(managed && { managed }) });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    if (isConfigurationError(err)) {
      logger.fatal({ err: err.message, code: err.code }, 'agent could not start: configuration problem');
      process.stderr.write(`cityedge-agent: not starting: ${configPath ?? 'the configuration from the registry'}: ${err.message}\n`);
      return 2;
    }
    logger.fatal({ err }, 'agent could not start');
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cityedge-agent: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
