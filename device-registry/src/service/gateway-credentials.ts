import type { RegistryStore } from '../db/store.js';
import { verifyPassword } from '../security/secrets.js';

/**
 * Checks a gateway's MQTT username/password: used by the HTTP config fetch (Basic auth) and by
 * the embedded broker's authenticate hook. Never throws for bad input; false means deny.
 */
export class GatewayCredentials {
  constructor(private readonly store: RegistryStore) {}

  async verify(gatewayId: string, password: string): Promise<boolean> {
    if (gatewayId.length === 0 || gatewayId.length > 128 || password.length === 0 || password.length > 1024) return false;
    const hash = await this.store.gateways.passwordHash(gatewayId);
    if (!hash) return false;
    return verifyPassword(password, hash);
  }

  /** The broker module's GatewayCredentialStore port. */
  verifyGatewayPassword(gatewayId: string, password: string): Promise<boolean> {
    return this.verify(gatewayId, password);
  }
}
