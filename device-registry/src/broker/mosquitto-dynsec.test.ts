import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DynsecCommand, DynsecResponse, DynsecTransport } from './dynsec-client.js';
import { accountRoleAcls, gatewayRoleAcls, MosquittoDynsec } from './mosquitto-dynsec.js';
import { mosquittoDynsecConfig } from './mosquitto-process.js';
import { quiet } from './testing/mqtt-test-kit.js';

const DOC = readFileSync(new URL('../../docs/brokers.md', import.meta.url), 'utf8');

/** Records commands and answers like the plugin does for an empty file (logic only; the real plugin runs in tests/integration). */
class RecordingTransport implements DynsecTransport {
  readonly sent: DynsecCommand[] = [];
  constructor(private readonly answer: (c: DynsecCommand) => Partial<DynsecResponse> = () => ({})) {}
  async run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    this.sent.push(...commands);
    return commands.map((c) => ({ command: c.command, ...this.answer(c) }));
  }
}

describe('Mosquitto dynamic-security mapping', () => {
  it('documents the generated Mosquitto configuration as it is', () => {
    const conf = mosquittoDynsecConfig({
      port: 8883,
      pluginPath: '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
      dynsecFile: '/var/lib/mosquitto/dynamic-security.json',
      persistenceLocation: '/var/lib/mosquitto/',
      tls: { certfile: '/etc/mosquitto/certs/broker.crt', keyfile: '/etc/mosquitto/certs/broker.key' },
    });
    expect(DOC).toContain('```conf\n' + conf + '```');
    expect(conf).toMatch(/^max_queued_messages 100000$/m);
    expect(conf).toMatch(/^allow_anonymous false$/m);
  });

  it('documents every ACL of the gateway role, and nothing else', () => {
    const rows = [...DOC.matchAll(/^\| (publishClientSend|subscribePattern) \| `([^`]+)` \| (\d) \| (allow|deny) \|$/gm)].map((m) => ({ acltype: m[1], topic: m[2], priority: Number(m[3]), allow: m[4] === 'allow' }));
    const acls = gatewayRoleAcls('gw-0001').map((a) => ({ ...a, topic: a.topic.replace('gw-0001', '{id}') }));
    expect(rows).toEqual(acls);
  });

  it('never lets a gateway role publish to config or cmd or subscribe beyond its own topics', () => {
    const acls = gatewayRoleAcls('gw-a');
    expect(acls.every((a) => a.topic === 'edge/v1/gw-a' || a.topic.startsWith('edge/v1/gw-a/'))).toBe(true);
    expect(acls.filter((a) => a.acltype === 'subscribePattern').map((a) => a.topic)).toEqual(['edge/v1/gw-a/config', 'edge/v1/gw-a/cmd/#']);
    expect(acls.filter((a) => !a.allow).map((a) => a.topic)).toEqual(['edge/v1/gw-a/config/#', 'edge/v1/gw-a/cmd/#', 'edge/v1/gw-a']);
    expect(accountRoleAcls('consumer').some((a) => a.acltype !== 'subscribePattern')).toBe(false);
  });

  it('creates role then client on a fresh plugin, binding the client id to the gateway id', async () => {
    const t = new RecordingTransport((c) => (c.command === 'getRole' ? { error: 'Role not found' } : {}));
    await new MosquittoDynsec({ transport: t, logger: quiet }).provisionGateway('gw-a', 'pw');
    expect(t.sent.map((c) => c.command)).toEqual(['getRole', 'createRole', 'createClient']);
    expect(t.sent[2]).toMatchObject({ username: 'gw-a', clientid: 'gw-a', password: 'pw', roles: [{ rolename: 'gateway-gw-a' }] });
  });

  it('turns a plugin error into REG_DYNSEC_FAILED and refuses a bad gateway id', async () => {
    const t = new RecordingTransport((c) => (c.command === 'setClientPassword' ? { error: 'Client not found' } : {}));
    const d = new MosquittoDynsec({ transport: t, logger: quiet });
    await expect(d.setGatewayPassword('gw-a', 'x')).rejects.toMatchObject({ code: 'REG_DYNSEC_FAILED' });
    await expect(d.provisionGateway('../etc', 'x')).rejects.toMatchObject({ code: 'REG_BROKER_CONFIG' });
    await expect(d.ensureAccount('ops', 'x', 'service')).rejects.toMatchObject({ code: 'REG_BROKER_CONFIG' });
  });
});
