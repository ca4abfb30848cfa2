import { Channel, DEFAULT_TOPIC_PREFIX, isValidGatewayId } from '@cityedge/contract';

/**
 * The broker ACL as one rule over the topic namespace, bound to the authenticated identity
 * (never to the client id):
 * - a gateway publishes under `{prefix}/{own id}/` except `config` and `cmd` (and their
 *   subtopics), with the answer channel `config/report` allowed (command results are events);
 * - a gateway subscribes only to `{prefix}/{own id}/config` and `{prefix}/{own id}/cmd` (and
 *   `cmd/...`); no wildcard that reaches another gateway, no shared subscription;
 * - the registry's service account may do everything (shared subscriptions included);
 * - a consumer account (central systems, dashboards) only reads the channels gateways publish,
 *   for one gateway or all (`+`), optionally through `$share/<group>/`.
 * The Mosquitto role in mosquitto-dynsec.ts encodes the same rule as dynamic-security ACLs.
 */

export type AccountRole = 'service' | 'consumer';

export type Principal = { kind: 'gateway'; gatewayId: string } | { kind: 'account'; username: string; role: AccountRole };

export type AclDecision = { allow: true } | { allow: false; reason: string };

const ALLOW: AclDecision = { allow: true };
const deny = (reason: string): AclDecision => ({ allow: false, reason });

/** Channels a gateway publishes (and a consumer may read). */
export const GATEWAY_PUBLISHED_CHANNELS: readonly string[] = [Channel.telemetry, Channel.events, Channel.status, Channel.configReport];

function isUnder(rest: string, channel: string): boolean {
  return rest === channel || rest.startsWith(channel + '/');
}

export function principalName(p: Principal): string {
  return p.kind === 'gateway' ? `gateway:${p.gatewayId}` : `account:${p.username}`;
}

/** Splits `$share/<group>/<filter>`; `group` is undefined for a plain filter. */
export function parseSharedFilter(filter: string): { group?: string; filter: string } | undefined {
  if (!filter.startsWith('$share/')) return { filter };
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const group = rest.slice(0, slash);
  if (/[+#]/.test(group)) return undefined;
  const inner = rest.slice(slash + 1);
  return inner ? { group, filter: inner } : undefined;
}

export function gatewayMayPublish(gatewayId: string, topic: string, prefix = DEFAULT_TOPIC_PREFIX): AclDecision {
  const root = `${prefix}/${gatewayId}/`;
  if (!topic.startsWith(root)) return deny('publish outside the gateway\'s own topics');
  const rest = topic.slice(root.length);
  if (rest === '') return deny('publish outside the gateway\'s own topics');
  if (rest === Channel.configReport) return ALLOW;
  if (isUnder(rest, Channel.config)) return deny('config is written by the registry only');
  if (isUnder(rest, Channel.cmd)) return deny('commands are sent by the registry only');
  return ALLOW;
}

export function gatewayMaySubscribe(gatewayId: string, filter: string, prefix = DEFAULT_TOPIC_PREFIX): AclDecision {
  if (filter.startsWith('$share/')) return deny('shared subscriptions are for service accounts');
  const root = `${prefix}/${gatewayId}/`;
  if (!filter.startsWith(root)) return deny('subscription outside the gateway\'s own config and cmd topics');
  const rest = filter.slice(root.length);
  if (rest === Channel.config || isUnder(rest, Channel.cmd)) return ALLOW;
  return deny('subscription outside the gateway\'s own config and cmd topics');
}

export function consumerMaySubscribe(filter: string, prefix = DEFAULT_TOPIC_PREFIX): AclDecision {
  const shared = parseSharedFilter(filter);
  if (!shared) return deny('malformed shared subscription');
  const inner = shared.filter;
  if (!inner.startsWith(prefix + '/')) return deny('subscription outside the gateway namespace');
  const rest = inner.slice(prefix.length + 1);
  const slash = rest.indexOf('/');
  const gw = slash > 0 ? rest.slice(0, slash) : '';
  const channel = rest.slice(slash + 1);
  if (gw !== '+' && !isValidGatewayId(gw)) return deny('consumers subscribe to one gateway or "+", never "#"');
  if (!GATEWAY_PUBLISHED_CHANNELS.includes(channel)) return deny('consumers read only the channels gateways publish');
  return ALLOW;
}

export function mayPublish(p: Principal, topic: string, prefix = DEFAULT_TOPIC_PREFIX): AclDecision {
  if (p.kind === 'gateway') return gatewayMayPublish(p.gatewayId, topic, prefix);
  if (p.role === 'consumer') return deny('consumer accounts do not publish');
  return topic.startsWith('$') ? deny('topics starting with "$" are reserved') : ALLOW;
}

export function maySubscribe(p: Principal, filter: string, prefix = DEFAULT_TOPIC_PREFIX): AclDecision {
  if (p.kind === 'gateway') return gatewayMaySubscribe(p.gatewayId, filter, prefix);
  if (p.role === 'consumer') return consumerMaySubscribe(filter, prefix);
  return ALLOW;
}

/**
 * Client ids a principal may connect with. A gateway must use its id (so a session can only be
 * taken over by the same identity); an account uses its username or `<username>-<suffix>`.
 * Account usernames are never valid gateway ids (checked where accounts are configured), so an
 * account's client id can never collide with a gateway's.
 */
export function clientIdAllowed(p: Principal, clientId: string): boolean {
  if (p.kind === 'gateway') return clientId === p.gatewayId;
  return clientId === p.username || clientId.startsWith(p.username + '-');
}
