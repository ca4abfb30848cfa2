import type { Logger } from 'pino';
import { Channel, DEFAULT_TOPIC_PREFIX, gatewayRoot, isValidGatewayId } from '@cityedge/contract';
import { GATEWAY_PUBLISHED_CHANNELS, type AccountRole } from './acl.js';
import type { DynsecCommand, DynsecResponse, DynsecTransport } from './dynsec-client.js';
import { BrokerError } from './errors.js';
import type { BrokerIdentityProvisioner } from './ports.js';

export type DynsecAclType = 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';

export interface DynsecAcl {
  acltype: DynsecAclType;
  topic: string;
  /** Higher priorities are checked first; the first match decides. */
  priority: number;
  allow: boolean;
}

/** Role names the registry owns in the plugin. */
export const gatewayRoleName = (gatewayId: string): string => `gateway-${gatewayId}`;
export const ACCOUNT_ROLE_NAMES: Record<AccountRole, string> = { service: 'cityedge-service', consumer: 'cityedge-consumer' };

/**
 * The ACL rule of acl.ts as dynamic-security ACLs of one gateway's role. With the default
 * access "deny publish, deny subscribe" this gives: publish under the own root (the answer
 * `config/report` included; command results are events) but not to `config`, `cmd` or below them, nor to the
 * bare root; subscribe only to the own `config` and `cmd` (`cmd/#` also covers `cmd`).
 */
export function gatewayRoleAcls(gatewayId: string, prefix = DEFAULT_TOPIC_PREFIX): DynsecAcl[] {
  const root = gatewayRoot(gatewayId, prefix);
  const pub = (topic: string, allow: boolean, priority: number): DynsecAcl => ({ acltype: 'publishClientSend', topic, allow, priority });
  return [
    pub(`${root}/${Channel.configReport}`, true, 3),
    pub(`${root}/${Channel.config}/#`, false, 2),
    pub(`${root}/${Channel.cmd}/#`, false, 2),
    pub(root, false, 2),
    pub(`${root}/#`, true, 1),
    { acltype: 'subscribePattern', topic: `${root}/${Channel.config}`, allow: true, priority: 1 },
    { acltype: 'subscribePattern', topic: `${root}/${Channel.cmd}/#`, allow: true, priority: 1 },
  ];
}

/** The service account: everything under the prefix, shared subscriptions included. Consumers: read gateway channels. */
export function accountRoleAcls(role: AccountRole, prefix = DEFAULT_TOPIC_PREFIX): DynsecAcl[] {
  if (role === 'service') {
    return [
      { acltype: 'publishClientSend', topic: `${prefix}/#`, allow: true, priority: 1 },
      { acltype: 'subscribePattern', topic: `${prefix}/#`, allow: true, priority: 1 },
      // Mosquitto 2.0 checks a shared subscription against its full `$share/<group>/...` filter.
      { acltype: 'subscribePattern', topic: `$share/+/${prefix}/#`, allow: true, priority: 1 },
    ];
  }
  return GATEWAY_PUBLISHED_CHANNELS.flatMap((ch) => [
    { acltype: 'subscribePattern' as const, topic: `${prefix}/+/${ch}`, allow: true, priority: 1 },
    { acltype: 'subscribePattern' as const, topic: `$share/+/${prefix}/+/${ch}`, allow: true, priority: 1 },
  ]);
}

/** Default access for clients without a matching ACL: deny publish and subscribe. */
export const DEFAULT_ACL_ACCESS = [
  { acltype: 'publishClientSend', allow: false },
  { acltype: 'publishClientReceive', allow: true },
  { acltype: 'subscribe', allow: false },
  { acltype: 'unsubscribe', allow: true },
] as const;

export interface MosquittoDynsecOptions {
  /** A started DynsecClient (admin account). */
  transport: DynsecTransport;
  logger: Logger;
  prefix?: string;
}

const aclKey = (a: { acltype: string; topic: string }): string => `${a.acltype} ${a.topic}`;

/**
 * Keeps Mosquitto's dynamic-security plugin in step with the registry: one role per gateway
 * (`gateway-<id>`) with the ACLs above, one client per gateway (username and client id = gateway
 * id, so Mosquitto enforces client id == username), deleted on decommissioning. Every operation
 * is idempotent, so the registry can re-run it after a failure or at start.
 */
export class MosquittoDynsec implements BrokerIdentityProvisioner {
  private readonly log: Logger;
  private readonly prefix: string;

  constructor(private readonly opts: MosquittoDynsecOptions) {
    this.log = opts.logger.child({ module: 'mosquitto-dynsec' });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  }

  /** Sets default access to deny publish and subscribe. */
  async ensureDefaults(): Promise<void> {
    await this.expectOk([{ command: 'setDefaultACLAccess', acls: DEFAULT_ACL_ACCESS }]);
  }

  /** Creates or updates a service or consumer account (e.g. the registry's own `_registry`). */
  async ensureAccount(username: string, password: string, role: AccountRole): Promise<void> {
    if (isValidGatewayId(username)) throw new BrokerError('REG_BROKER_CONFIG', `broker account "${username}" looks like a gateway id; start account names with "_"`);
    await this.ensureRole(ACCOUNT_ROLE_NAMES[role], accountRoleAcls(role, this.prefix));
    await this.ensureClient(username, password, ACCOUNT_ROLE_NAMES[role]);
    this.log.info({ username, role }, 'broker account ensured');
  }

  async provisionGateway(gatewayId: string, password: string): Promise<void> {
    this.checkId(gatewayId);
    await this.ensureRole(gatewayRoleName(gatewayId), gatewayRoleAcls(gatewayId, this.prefix));
    await this.ensureClient(gatewayId, password, gatewayRoleName(gatewayId), gatewayId);
    this.log.info({ gatewayId }, 'gateway provisioned in mosquitto');
  }

  /** New password (re-enrollment); Mosquitto drops the gateway's live session. */
  async setGatewayPassword(gatewayId: string, password: string): Promise<void> {
    this.checkId(gatewayId);
    await this.expectOk([{ command: 'setClientPassword', username: gatewayId, password }]);
    this.log.info({ gatewayId }, 'gateway password changed in mosquitto');
  }

  /** Keeps the identity but refuses logins and drops the live session. */
  async disableGateway(gatewayId: string): Promise<void> {
    this.checkId(gatewayId);
    await this.expectOk([{ command: 'disableClient', username: gatewayId }]);
  }

  /** Deletes the client (Mosquitto drops its session) and its role. Idempotent. */
  async deprovisionGateway(gatewayId: string): Promise<void> {
    this.checkId(gatewayId);
    const [client, role] = await this.opts.transport.run([
      { command: 'deleteClient', username: gatewayId },
      { command: 'deleteRole', rolename: gatewayRoleName(gatewayId) },
    ]);
    this.check(client, 'Client not found');
    this.check(role, 'Role not found');
    this.log.info({ gatewayId }, 'gateway removed from mosquitto');
  }

  private checkId(gatewayId: string): void {
    if (!isValidGatewayId(gatewayId)) throw new BrokerError('REG_BROKER_CONFIG', `invalid gateway id "${gatewayId}"`);
  }

  /** Creates the role, or brings an existing one to exactly these ACLs. */
  private async ensureRole(rolename: string, acls: DynsecAcl[]): Promise<void> {
    const [got] = await this.opts.transport.run([{ command: 'getRole', rolename }]);
    if (got?.error === 'Role not found') {
      await this.expectOk([{ command: 'createRole', rolename, acls }]);
      return;
    }
    this.check(got);
    const current = ((got?.data?.role as { acls?: DynsecAcl[] } | undefined)?.acls ?? []).map((a) => ({ ...a, allow: Boolean(a.allow) }));
    const wanted = new Map(acls.map((a) => [aclKey(a), a]));
    const commands: DynsecCommand[] = [];
    for (const a of current) {
      const w = wanted.get(aclKey(a));
      if (w && w.allow === a.allow && w.priority === a.priority) wanted.delete(aclKey(a));
      else commands.push({ command: 'removeRoleACL', rolename, acltype: a.acltype, topic: a.topic });
    }
    for (const a of wanted.values()) commands.push({ command: 'addRoleACL', rolename, ...a });
    await this.expectOk(commands);
  }

  /** Creates the client, or resets password, client id, roles and groups of an existing one and enables it. */
  private async ensureClient(username: string, password: string, rolename: string, clientid?: string): Promise<void> {
    const [created] = await this.opts.transport.run([{ command: 'createClient', username, password, roles: [{ rolename }], ...(clientid ? { clientid } : {}) }]);
    if (!created?.error) return;
    if (created.error !== 'Client already exists') this.check(created);
    const [got] = await this.opts.transport.run([{ command: 'getClient', username }]);
    this.check(got);
    const client = (got?.data?.client ?? {}) as { roles?: Array<{ rolename: string }>; groups?: Array<{ groupname: string }> };
    const roles = (client.roles ?? []).map((r) => r.rolename);
    const commands: DynsecCommand[] = [
      { command: 'setClientPassword', username, password },
      { command: 'setClientId', username, ...(clientid ? { clientid } : {}) },
      ...roles.filter((r) => r !== rolename).map((r) => ({ command: 'removeClientRole', username, rolename: r })),
      ...(client.groups ?? []).map((g) => ({ command: 'removeGroupClient', username, groupname: g.groupname })),
      ...(roles.includes(rolename) ? [] : [{ command: 'addClientRole', username, rolename }]),
      { command: 'enableClient', username },
    ];
    await this.expectOk(commands);
  }

  private async expectOk(commands: DynsecCommand[]): Promise<void> {
    const responses = await this.opts.transport.run(commands);
    responses.forEach((r) => this.check(r));
  }

  private check(r: DynsecResponse | undefined, ...tolerated: string[]): void {
    if (!r) throw new BrokerError('REG_DYNSEC_FAILED', 'the dynamic-security plugin gave no answer');
    if (r.error && !tolerated.includes(r.error)) throw new BrokerError('REG_DYNSEC_FAILED', `dynamic-security ${r.command} failed: ${r.error}`);
  }
}
