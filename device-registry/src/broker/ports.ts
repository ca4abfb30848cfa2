/**
 * What the broker side needs from the registry core, as small interfaces so the broker code and
 * its tests do not depend on the core's storage. The registry core implements them.
 */

/** Checks a gateway's MQTT credentials (username = gateway id). */
export interface GatewayCredentialStore {
  /**
   * True when the gateway exists, is active (not decommissioned) and the password matches its
   * stored hash. Must not throw for an unknown gateway (answer false); a storage failure may
   * reject, and the broker then refuses the connection as "server unavailable".
   */
  verifyGatewayPassword(gatewayId: string, password: string): Promise<boolean>;
}

export type BrokerAuditAction = 'mqtt.connect.denied' | 'mqtt.publish.denied' | 'mqtt.subscribe.denied';

/** One denial, for the registry's audit log. Never carries a password. */
export interface BrokerAuditEvent {
  action: BrokerAuditAction;
  /** `gateway:<id>`, `account:<username>`, or `unknown` when no username was given. */
  actor: string;
  /** ms since the epoch. */
  at: number;
  details: {
    reason: string;
    clientId?: string;
    username?: string;
    topic?: string;
    remoteAddress?: string;
  };
}

/** Writes a broker denial to the audit log. May be async; a failure is logged, never thrown. */
export type BrokerAuditSink = (event: BrokerAuditEvent) => void | Promise<void>;

/**
 * Keeps the broker's view of gateway identities in step with the registry: called on enrollment,
 * re-enrollment (new password) and decommissioning. The embedded broker reads credentials from
 * the store on every connect, so there it only drops live sessions; the Mosquitto mode writes
 * clients and roles through the dynamic-security plugin.
 */
export interface BrokerIdentityProvisioner {
  provisionGateway(gatewayId: string, password: string): Promise<void>;
  setGatewayPassword(gatewayId: string, password: string): Promise<void>;
  deprovisionGateway(gatewayId: string): Promise<void>;
}
