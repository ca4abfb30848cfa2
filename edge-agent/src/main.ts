#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { formatProblems } from '@cityedge/contract';
import { Agent } from './agent.js';
import { loadGatewayConfigFile } from './load-config.js';
import { AGENT_VERSION } from './version.js';

const USAGE = `usage: cityedge-agent <command> [options]

commands:
  run            poll devices, buffer and forward (the systemd service)
  check-config   validate a configuration file and print every problem
  version        print the agent version

options:
  -c, --config <file>      gateway configuration (YAML or JSON)  [/etc/cityedge/agent.yaml]
  -s, --state-dir <dir>    where the outbox lives               [$STATE_DIRECTORY or /var/lib/cityedge]
  -l, --log-level <level>  fatal, error, warn, info, debug, trace (overrides the file)
  -h, --help`;

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: '/etc/cityedge/agent.yaml' },
        'state-dir': { type: 'string', short: 's' },
        'log-level': { type: 'string', short: 'l' },
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
  if (command !== 'run' && command !== 'check-config') {
    process.stderr.write(`cityedge-agent: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  if (values['log-level'] !== undefined && !levels.includes(values['log-level'])) {
    process.stderr.write(`cityedge-agent: --log-level: expected one of ${levels.join(', ')}\n`);
    return 2;
  }
  const configPath = values.config;
  const loaded = await loadGatewayConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`cityedge-agent: ${loaded.problems.length} problem(s) in the configuration, not starting:\n${formatProblems(loaded.problems, configPath)}\n`);
    return 2;
  }
  const resolved = loaded.value;
  if (command === 'check-config') {
    const devices = resolved.lines.reduce((n, l) => n + l.devices.length, 0);
    process.stdout.write(`${configPath}: ok (gateway ${resolved.config.gateway.id}, ${resolved.lines.length} lines, ${devices} devices)\n`);
    return 0;
  }

  const stateDir = values['state-dir'] ?? process.env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/cityedge';
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
  const agent = new Agent({ resolved, stateDir, logger });
  try {
    await agent.start();
  } catch (err) {
    logger.fatal({ err }, 'agent could not start');
    await agent.stop().catch(() => undefined);
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
