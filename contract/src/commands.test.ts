import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, CommandResult, signCommand, verifyCommand } from './commands.js';
import { generateSigningKey } from './signed-config.js';

const key = generateSigningKey();
const other = generateSigningKey();
const now = 1_763_700_000_000;
const base = { id: 'cmd-0001-abcdef', gatewayId: 'gw-1', actor: 'tech:lan', issuedAt: now, expiresAt: now + 60_000 };
const expect1 = { gatewayId: 'gw-1', publicKeysPem: [key.publicKeyPem], now };

describe('commands', () => {
  it('verifies a signed command and applies the defaults of its arguments', () => {
    const cmd = signCommand({ ...base, name: 'line.scan', args: { line: 'rs485-1' } }, key.privateKeyPem);
    const r = verifyCommand(JSON.parse(JSON.stringify(cmd)), expect1);
    expect(r).toMatchObject({ ok: true, args: { line: 'rs485-1', from: 1, to: 247, deadlineMs: 120_000 } });
  });

  it.each([
    ['another gateway', () => signCommand({ ...base, gatewayId: 'gw-2', name: 'serial.list', args: {} }, key.privateKeyPem), 'wrong-gateway', 'EDGE_CMD_WRONG_GATEWAY'],
    ['an untrusted key', () => signCommand({ ...base, name: 'serial.list', args: {} }, other.privateKeyPem), 'unknown-key', 'EDGE_CMD_UNTRUSTED'],
    ['a tampered body', () => ({ ...signCommand({ ...base, name: 'point.write', args: { dev: 'lamp', pt: 'level', value: 10 } }, key.privateKeyPem), args: { dev: 'lamp', pt: 'level', value: 100 } }), 'bad-signature', 'EDGE_CMD_UNTRUSTED'],
    ['an expired command', () => signCommand({ ...base, expiresAt: now - 1, name: 'serial.list', args: {} }, key.privateKeyPem), 'expired', 'EDGE_CMD_EXPIRED'],
    ['bad arguments', () => signCommand({ ...base, name: 'point.write', args: { dev: 'lamp', pt: 'level' } }, key.privateKeyPem), 'bad-args', 'EDGE_CMD_BAD_ARGS'],
    ['an unknown name', () => ({ ...signCommand({ ...base, name: 'serial.list', args: {} }, key.privateKeyPem), name: 'rm-rf' }), 'malformed', 'EDGE_CMD_MALFORMED'],
  ])('refuses %s with a code, keeping the id to answer', (_what, make, problem, code) => {
    const r = verifyCommand(make(), expect1);
    expect(r).toMatchObject({ ok: false, problem, code, id: base.id });
  });

  it('names the argument that is wrong', () => {
    const r = verifyCommand(signCommand({ ...base, name: 'logs.tail', args: { lines: 5000 } }, key.privateKeyPem), expect1);
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/^args\.lines: /) });
  });

  it('has a result schema every state fits', () => {
    expect(COMMAND_NAMES).toContain('agent.restart');
    expect(CommandResult.parse({ id: base.id, name: 'line.scan', state: 'progress', progress: { done: 10, total: 247 } })).toBeTruthy();
    expect(CommandResult.safeParse({ id: base.id, name: 'x', state: 'done' }).success).toBe(false);
  });
});
