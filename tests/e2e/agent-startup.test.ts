import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { unitEnvironment, unitNodeFlags } from '../../bench/unit.js';
import { AGENT_BUILD } from '../global-setup.js';
import { tempDir } from '../support/fixtures.js';

/**
 * What `check-config` accepts must run: the agent is run as a real process, as systemd runs it.
 * A configuration naming a file that is not there, or a buffer outside the state directory, is
 * refused by `check-config` and by `run` with exit 2, naming the configuration file and the file
 * at fault; never exit 1 with a stack trace (a restart loop under systemd).
 */

const EXAMPLE = 'deploy/config/agent.example.yaml';
// Every case starts the agent as a process, some several times: slow on a loaded machine (not a timing assertion).
const SLOW = 60_000;

function agentCli(...args: string[]) {
  const r = spawnSync(process.execPath, [AGENT_BUILD, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

/** A configuration file in a fresh directory; `extra` is YAML appended at the top level. */
function configWith(extra: string, forwarding = ''): { dir: string; file: string; state: string } {
  const dir = tempDir('cityedge-startup-');
  const state = join(dir, 'state');
  mkdirSync(state);
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, ['gateway: { id: gw-start }', 'forwarding:', '  brokerUrl: "mqtt://127.0.0.1:1"', forwarding, 'http: { enabled: false }', extra].join('\n'));
  return { dir, file, state };
}

/** check-config and run both refuse it with exit 2, naming the config file, the field and the file. */
function expectRefused(file: string, state: string, expected: string) {
  for (const command of ['check-config', 'run']) {
    const r = agentCli(command, '--config', file, '--state-dir', state);
    expect(r.code, `${command}: ${r.err}${r.out}`).toBe(2);
    expect(r.err).toContain(`${file}: ${expected}`);
    noStackTrace(r.err);
    expect(r.out).not.toMatch(/"level":60/); // nothing fatal logged: it never started
  }
}

describe('the shipped example configuration', { timeout: SLOW }, () => {
  it('passes check-config and runs as installed: polls and buffers with no broker, until stopped', async () => {
    const state = tempDir('cityedge-example-');
    const check = agentCli('check-config', '--config', EXAMPLE, '--state-dir', state);
    expect(check.err).toBe('');
    expect(check.code).toBe(0);

    // With the node flags and environment of deploy/systemd/cityedge-agent.service.
    const flags = unitNodeFlags();
    expect(flags).toContain('--expose-gc');
    const child = spawn(process.execPath, [...flags, AGENT_BUILD, 'run', '--config', EXAMPLE, '--state-dir', state, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...unitEnvironment() } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Running: started, and its RS-485 line (an adapter this machine does not have) was tried.
      const deadline = Date.now() + 15_000;
      while (!(/"msg":"agent started"/.test(out) && /"line":"rs485-1".*"msg":"cannot open line"/.test(out))) {
        if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}:\n${err}\n${out}`);
        if (Date.now() > deadline) throw new Error(`the agent did not start and poll:\n${err}\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/"level":60/);
    expect(err).toBe('');
  });
});

describe('files a configuration names', { timeout: SLOW }, () => {
  it('refuses a missing password file, naming it', () => {
    const { file, state, dir } = configWith('', '  passwordFile: mqtt-password');
    expectRefused(file, state, `forwarding.passwordFile: ${join(dir, 'mqtt-password')}: no such file (ENOENT)`);
  });

  it('refuses TLS files that are missing or are not regular files', () => {
    const { file, state, dir } = configWith('', `  tls: { caFile: ${join('/nonexistent', 'ca.pem')}, certFile: certs, keyFile: /dev/null }`);
    mkdirSync(join(dir, 'certs'));
    expectRefused(file, state, 'forwarding.tls.caFile: /nonexistent/ca.pem: no such file (ENOENT)');
    const r = agentCli('check-config', '--config', file, '--state-dir', state);
    expect(r.err).toContain(`${file}: forwarding.tls.certFile: ${join(dir, 'certs')}: not a regular file (a directory)`);
    expect(r.err).toContain(`${file}: forwarding.tls.keyFile: /dev/null: not a regular file (a character device)`);
  });

  it('refuses a client certificate without its key', () => {
    const { file, state, dir } = configWith('', '  tls: { certFile: cert.pem }');
    writeFileSync(join(dir, 'cert.pem'), 'x');
    expectRefused(file, state, 'forwarding.tls.keyFile: certFile and keyFile go together');
  });
});

describe('the buffer file', { timeout: SLOW }, () => {
  it('stays inside the state directory: ".." and absolute paths elsewhere are refused', () => {
    let c = configWith('buffer: { path: ../../../var/x.db }');
    expectRefused(c.file, c.state, 'buffer.path: expected a file inside the state directory (no ".." segments)');
    c = configWith('buffer: { path: /proc/self/mem }');
    expectRefused(c.file, c.state, `buffer.path: /proc/self/mem is outside the state directory ${resolve(c.state)}`);
    c = configWith('buffer: { path: link/outbox.db }');
    symlinkSync('/etc', join(c.state, 'link'));
    expectRefused(c.file, c.state, `buffer.path: ${join(c.state, 'link/outbox.db')} is outside the state directory`);
  });

  it('is refused when it cannot be a SQLite file there: a directory, or under a file', () => {
    let c = configWith('buffer: { path: outbox.db }');
    mkdirSync(join(c.state, 'outbox.db'));
    expectRefused(c.file, c.state, `buffer.path: ${join(c.state, 'outbox.db')}: not a regular file (a directory)`);
    c = configWith('buffer: { path: plain/outbox.db }');
    writeFileSync(join(c.state, 'plain'), 'not a directory');
    expectRefused(c.file, c.state, `buffer.path: ${join(c.state, 'plain/outbox.db')}: a part of the path is not a directory (ENOTDIR)`);
  });

  it('written by a newer agent is refused by check-config and by run (exit 2), naming the file', () => {
    const c = configWith('buffer: { path: outbox.db }');
    const file = join(c.state, 'outbox.db');
    const db = new Database(file);
    db.pragma('user_version = 99'); // written by a newer agent
    db.close();
    const check = agentCli('check-config', '--config', c.file, '--state-dir', c.state);
    expect(check.code).toBe(2);
    expect(check.err).toContain(`${c.file}: buffer.path: ${file}: outbox schema version 99 was written by a newer agent`);
    const r = agentCli('run', '--config', c.file, '--state-dir', c.state);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cityedge-agent: not starting: ${c.file}: the outbox file ${file} has schema version 99`);
    noStackTrace(r.err);
    noStackTrace(r.out);
  });
});

describe('an enrolled gateway (configuration from the registry)', { timeout: SLOW }, () => {
  it('whose outbox SQLite cannot open stops with exit 2 naming the file, not a stack trace', () => {
    const state = tempDir('cityedge-managed-');
    const identity = { gatewayId: 'gw-managed', mqtt: { url: 'mqtt://127.0.0.1:1', username: 'gw-managed', password: 'secret-password-0123', topicPrefix: 'edge/v1' }, configPublicKeys: ['unused'], registryUrl: 'http://127.0.0.1:1', enrolledAt: 1 };
    writeFileSync(join(state, 'identity.json'), JSON.stringify(identity), { mode: 0o600 });
    const db = new Database(join(state, 'outbox.db'));
    db.pragma('user_version = 99');
    db.close();
    const r = agentCli('run', '--state-dir', state);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cityedge-agent: not starting: the configuration from the registry: the outbox file ${join(state, 'outbox.db')} has schema version 99`);
    noStackTrace(r.err);
    noStackTrace(r.out);
    expect(r.out + r.err).not.toContain('secret-password-0123');
  });
});

describe('hostile documents', { timeout: SLOW }, () => {
  it('refuses a YAML alias bomb with exit 2, naming the file', () => {
    const dir = tempDir('cityedge-bomb-');
    const file = join(dir, 'bomb.yaml');
    const rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++) rows.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]`);
    writeFileSync(file, rows.join('\n'));
    for (const command of ['check-config', 'run']) {
      const r = agentCli(command, '--config', file, '--state-dir', dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${file}: (document): too many YAML aliases`);
      expect(r.err).not.toContain('unexpected failure');
    }
  });

  it('gives one message per bad value', () => {
    const c = configWith('lines: [{ id: l1, type: tcp, host: 127.0.0.1, devices: [{ id: d1, profile: sht20, pollIntervalMs: 1e308 }] }]');
    const r = agentCli('check-config', '--config', c.file, '--state-dir', c.state);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').slice(1)).toEqual([`${c.file}: lines[0].devices[0].pollIntervalMs: expected <= 86400000`]);
  });
});
