import type { StatusMessage } from '@cityedge/contract';
import type { RegistryStore } from '../db/store.js';
import type { FleetListener } from '../ingest/ports.js';
import type { CommandService } from './command-service.js';

/**
 * The fleet listener with command redelivery around it: when a gateway's status turns online
 * (it was offline, or never heard of), its unexpired commands without an answer are published
 * again. Commands are not retained and a gateway's session is clean, so one sent while it was
 * away reached nobody; the gateway executes an id at most once, so a repeat is harmless.
 */
export function redeliverOnReconnect(fleet: FleetListener, commands: Pick<CommandService, 'redeliver'>, store: RegistryStore): FleetListener {
  return {
    async onStatus(gatewayId: string, status: StatusMessage): Promise<void> {
      const before = (await store.gateways.get(gatewayId))?.status.state;
      await fleet.onStatus(gatewayId, status);
      if (status.state === 'online' && before !== undefined && before !== 'online') await commands.redeliver(gatewayId);
    },
    onReport: (report) => fleet.onReport(report),
  };
}
