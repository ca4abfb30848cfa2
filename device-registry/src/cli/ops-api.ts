import type { EventSeverity } from '@cityedge/contract';
import type { AlarmRecord, AlarmStateFilter } from '../repos/alarms-repo.js';
import type { CommandRecord, CommandStatus } from '../repos/commands-repo.js';
import type { StoredEvent } from '../repos/events-repo.js';
import type { AlarmView } from '../service/alarm-service.js';
import type { CommandInput, SentCommand } from '../service/command-service.js';
import type { RegistryClient } from './registry-client.js';

// Wire shapes: the registry's own types (type-only imports; nothing of the server is bundled).
export type { AlarmRecord, AlarmView, CommandInput, CommandRecord, CommandStatus, SentCommand, StoredEvent };

const seg = (s: string | number) => encodeURIComponent(String(s));
const opt = (n: number | undefined) => (n === undefined ? undefined : String(n));

/**
 * The registry's command, event and alarm routes for edgectl, over the same RegistryClient (its
 * errors, time limit and abort signal).
 */
export class OpsApi {
  constructor(private readonly client: RegistryClient) {}

  sendCommand(gatewayId: string, input: CommandInput): Promise<SentCommand> {
    return this.client.request('POST', `/v1/gateways/${seg(gatewayId)}/commands`, input);
  }

  getCommand(id: string): Promise<CommandRecord> {
    return this.client.request('GET', `/v1/commands/${seg(id)}`);
  }

  listCommands(gatewayId: string, q: { state?: CommandStatus; limit?: number } = {}): Promise<{ commands: CommandRecord[]; next: string | null }> {
    return this.client.request('GET', `/v1/gateways/${seg(gatewayId)}/commands`, undefined, { state: q.state, limit: opt(q.limit) });
  }

  listEvents(gatewayId: string, q: { type?: string; severity?: EventSeverity; since?: number; until?: number; limit?: number; before?: string } = {}): Promise<{ events: StoredEvent[]; next: string | null }> {
    return this.client.request('GET', `/v1/gateways/${seg(gatewayId)}/events`, undefined, { type: q.type, severity: q.severity, since: opt(q.since), until: opt(q.until), limit: opt(q.limit), before: q.before });
  }

  listAlarms(q: { state?: AlarmStateFilter; site?: string; gateway?: string; severity?: EventSeverity; limit?: number } = {}): Promise<{ alarms: AlarmRecord[]; next: string | null }> {
    return this.client.request('GET', '/v1/alarms', undefined, { state: q.state, site: q.site, gateway: q.gateway, severity: q.severity, limit: opt(q.limit) });
  }

  getAlarm(id: number): Promise<AlarmView> {
    return this.client.request('GET', `/v1/alarms/${seg(id)}`);
  }

  acknowledgeAlarm(id: number, note?: string): Promise<AlarmView> {
    return this.client.request('POST', `/v1/alarms/${seg(id)}/ack`, note === undefined ? {} : { note });
  }
}
