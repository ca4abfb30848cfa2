/**
 * The MQTT topic namespace. Everything a gateway may touch sits under its own id, so a broker
 * ACL is one rule: publish under `{prefix}/{gatewayId}/` except `config` and `cmd`, subscribe
 * only to its own `config` and `cmd`. This file is the only place a topic string is spelled.
 */
export const DEFAULT_TOPIC_PREFIX = 'edge/v1';

/** Channels under a gateway's root, with who publishes them. */
export const Channel = {
  /** gateway -> central: batches of readings (QoS 1). */
  telemetry: 'telemetry',
  /** gateway -> central: batches of events and alarms, sent ahead of telemetry backlog (QoS 1). */
  events: 'events',
  /** gateway -> central: retained status, also the last will (online/offline). */
  status: 'status',
  /** registry -> gateway: retained signed configuration document. */
  config: 'config',
  /** gateway -> registry: result of applying a configuration. */
  configReport: 'config/report',
  /**
   * registry -> gateway: signed commands (QoS 1, not retained). Results come back as
   * `command.*` events on the events channel, through the gateway's outbox.
   */
  cmd: 'cmd',
  /** gateway -> central: retained state of every camera (CamerasStatusMessage). */
  cameras: 'cameras',
  /** gateway -> central: best-effort camera thumbnails, one camera per message (CameraThumbnailMessage). */
  cameraThumbnail: 'cameras/thumbnail',
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** Gateway ids are used as topic levels and usernames: lowercase, digits, '-' and '_'. The one rule (GatewayId in payloads.ts uses it). */
export const GATEWAY_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Gateway ids are used as topic levels and usernames: lowercase, digits, '-' and '_'. */
export function isValidGatewayId(id: string): boolean {
  return GATEWAY_ID.test(id);
}

export function gatewayRoot(gatewayId: string, prefix = DEFAULT_TOPIC_PREFIX): string {
  if (!isValidGatewayId(gatewayId)) throw new Error(`invalid gateway id "${gatewayId}"`);
  return `${prefix}/${gatewayId}`;
}

export function topicFor(gatewayId: string, channel: Channel, prefix = DEFAULT_TOPIC_PREFIX): string {
  return `${gatewayRoot(gatewayId, prefix)}/${channel}`;
}

/** A subscription filter for one channel of every gateway, e.g. `edge/v1/+/telemetry`. */
export function allGateways(channel: Channel, prefix = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}/+/${channel}`;
}

/** Splits a topic into gateway id and channel, or returns undefined when it is not ours. */
export function parseTopic(
  topic: string,
  prefix = DEFAULT_TOPIC_PREFIX,
): { gatewayId: string; channel: string } | undefined {
  if (!topic.startsWith(prefix + '/')) return undefined;
  const rest = topic.slice(prefix.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const gatewayId = rest.slice(0, slash);
  if (!isValidGatewayId(gatewayId)) return undefined;
  return { gatewayId, channel: rest.slice(slash + 1) };
}
