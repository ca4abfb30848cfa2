import { Channel, topicFor } from '@cityedge/contract';

/**
 * The broker ACL cases every broker mode must pass, spelled once: the embedded broker
 * (embedded-broker.test.ts), Mosquitto with dynamic security (tests/integration/mosquitto-dynsec)
 * and the RabbitMQ cluster with the registry as its auth backend (tests/integration/cluster-acl).
 * Gateway A (`gw-a`) is logged in; gateway B (`gw-b`) is another enrolled gateway.
 */
export const ACL_A = 'gw-a';
export const ACL_B = 'gw-b';

/** Topics gateway A publishes that reach a subscriber. */
export const PUBLISH_ALLOWED: readonly string[] = [Channel.telemetry, Channel.events, Channel.status, Channel.configReport].map((c) => topicFor(ACL_A, c));

/** Topics gateway A must not publish to: another gateway, its own config and commands, outside the namespace. */
export const PUBLISH_DENIED: readonly string[] = [
  topicFor(ACL_B, 'telemetry'),
  topicFor(ACL_B, 'status'),
  topicFor(ACL_A, 'config'),
  `${topicFor(ACL_A, 'config')}/x`,
  topicFor(ACL_A, 'cmd'),
  `${topicFor(ACL_A, 'cmd')}/reboot`,
  `${topicFor(ACL_A, 'cmd')}/result`,
  topicFor(ACL_B, 'cmd'),
  topicFor(ACL_B, 'config'),
  'edge/v1/gw-a',
  'edge/v1',
];

/** Filters gateway A must not subscribe to. (`$`-topics and `$share/` are broker-specific and stay in each suite.) */
export const SUBSCRIBE_DENIED: readonly string[] = ['#', '+/#', 'edge/#', 'edge/v1/#', 'edge/v1/+/config', topicFor(ACL_B, 'config'), topicFor(ACL_B, 'cmd'), `${topicFor(ACL_B, 'cmd')}/#`, 'edge/v1/gw-a/#', 'edge/v1/gw-a/+', topicFor(ACL_A, 'telemetry')];

/** Filters gateway A subscribes to. */
export const SUBSCRIBE_ALLOWED: readonly string[] = [topicFor(ACL_A, 'config'), topicFor(ACL_A, 'cmd'), `${topicFor(ACL_A, 'cmd')}/#`];

/** Logins refused: [username, password, client id, why]; A's password is `pass-a`. */
export const LOGIN_REFUSED: readonly (readonly [string | undefined, string | undefined, string, string])[] = [
  [ACL_A, 'secret-guess-1', ACL_A, 'wrong password'],
  ['gw-unknown', 'pass-a', 'gw-unknown', 'unknown gateway'],
  [undefined, undefined, 'anon', 'anonymous'],
  [ACL_A, 'pass-a', ACL_B, 'client id of another gateway'],
  [ACL_A, 'pass-a', 'mqttjs_1234', 'client id other than the gateway id'],
];
