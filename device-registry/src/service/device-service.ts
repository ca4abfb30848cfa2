import type { Repos, RegistryStore } from '../db/store.js';
import { conflict, isUniqueViolation, notFound, RegistryError } from '../errors.js';
import type { Gateway } from '../repos/gateways-repo.js';
import type { DeviceRecord, LineRecord, LineType } from '../repos/inventory-repo.js';
import { refuseProblems, type ConfigComposer } from './config-composer.js';
import type { RulesRecord } from '../repos/rules-repo.js';
import type { CallContext, ServiceDeps } from './context.js';

export interface LineInput {
  type: LineType;
  path?: string;
  host?: string;
  port?: number;
  /** Serial settings and scheduler knobs (baudRate, parity, timeoutMs, retries, ...). */
  [setting: string]: unknown;
}

export interface DeviceInput {
  lineId: string;
  profile: string;
  name?: string;
  unitId?: number;
  pollIntervalMs?: number;
  addressOffset?: number;
  timeoutMs?: number;
  enabled?: boolean;
  points?: Record<string, Record<string, unknown>>;
}

/**
 * Lines and devices of a gateway. Every change is checked by composing the gateway's document
 * with it and validating that with the agent's schema and the profile catalogue, so a record
 * the agent would refuse never gets in; problems name the request field.
 */
export class DeviceService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly composer: ConfigComposer,
  ) {}

  async listLines(gatewayId: string): Promise<LineRecord[]> {
    await this.gateway(this.store, gatewayId);
    return this.store.inventory.listLines(gatewayId);
  }

  async putLine(gatewayId: string, lineId: string, input: LineInput, ctx: CallContext): Promise<{ line: LineRecord; created: boolean }> {
    return this.store.transaction(async (tx) => {
      const gw = await this.gateway(tx, gatewayId);
      const lines = await tx.inventory.listLines(gatewayId);
      const devices = await tx.inventory.listDevices(gatewayId);
      const prev = lines.find((l) => l.id === lineId);
      const users = devices.filter((d) => d.lineId === lineId);
      if (input.type === 'firmata' && users.length > 0) {
        throw conflict(`line "${lineId}" has device records ${users.map((d) => d.id).join(', ')}; a firmata board's devices are part of its line record: remove or move them first`, 'body.type');
      }
      const now = this.deps.clock.now();
      const { type, path, host, port, ...settings } = input;
      const line: LineRecord = { gatewayId, id: lineId, type, path: path ?? null, host: host ?? null, port: port ?? null, settings, createdAt: prev?.createdAt ?? now, updatedAt: now };
      const candidate = prev ? lines.map((l) => (l.id === lineId ? line : l)) : [...lines, line];
      const li = candidate.findIndex((l) => l.id === lineId);
      this.check(gw, candidate, devices, await tx.rules.get(gatewayId), `lines[${li}]`, { 'body.id': 'params.lineId', ...(type !== 'firmata' && { 'body.devices': 'devices' }) });
      await tx.inventory.upsertLine(line);
      await this.deps.auditor.record(tx, ctx, prev ? 'line.update' : 'line.create', { type: 'line', id: `${gatewayId}/${lineId}` }, { ...input });
      return { line, created: !prev };
    });
  }

  async deleteLine(gatewayId: string, lineId: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.gateway(tx, gatewayId);
      if (!(await tx.inventory.getLine(gatewayId, lineId))) throw notFound('line', lineId);
      const users = (await tx.inventory.listDevices(gatewayId)).filter((d) => d.lineId === lineId);
      if (users.length > 0) throw conflict(`line "${lineId}" still has devices ${users.map((d) => d.id).join(', ')}; remove or move them first`);
      await tx.inventory.deleteLine(gatewayId, lineId);
      await this.deps.auditor.record(tx, ctx, 'line.delete', { type: 'line', id: `${gatewayId}/${lineId}` });
    });
  }

  async listDevices(gatewayId: string): Promise<DeviceRecord[]> {
    await this.gateway(this.store, gatewayId);
    return this.store.inventory.listDevices(gatewayId);
  }

  async getDevice(gatewayId: string, deviceId: string): Promise<DeviceRecord> {
    await this.gateway(this.store, gatewayId);
    const d = await this.store.inventory.getDevice(gatewayId, deviceId);
    if (!d) throw notFound('device', deviceId);
    return d;
  }

  async createDevice(gatewayId: string, input: DeviceInput & { id: string }, ctx: CallContext): Promise<DeviceRecord> {
    try {
      return await this.saveDevice(gatewayId, input.id, input, ctx, 'create');
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`device "${input.id}" already exists on gateway "${gatewayId}"`, 'body.id');
      throw err;
    }
  }

  replaceDevice(gatewayId: string, deviceId: string, input: DeviceInput, ctx: CallContext): Promise<DeviceRecord> {
    return this.saveDevice(gatewayId, deviceId, input, ctx, 'replace');
  }

  async deleteDevice(gatewayId: string, deviceId: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.gateway(tx, gatewayId);
      if (!(await tx.inventory.deleteDevice(gatewayId, deviceId))) throw notFound('device', deviceId);
      await this.deps.auditor.record(tx, ctx, 'device.delete', { type: 'device', id: `${gatewayId}/${deviceId}` });
    });
  }

  private async saveDevice(gatewayId: string, deviceId: string, input: DeviceInput, ctx: CallContext, mode: 'create' | 'replace'): Promise<DeviceRecord> {
    return this.store.transaction(async (tx) => {
      const gw = await this.gateway(tx, gatewayId);
      const lines = await tx.inventory.listLines(gatewayId);
      const devices = await tx.inventory.listDevices(gatewayId);
      const prev = devices.find((d) => d.id === deviceId);
      if (mode === 'create' && prev) throw conflict(`device "${deviceId}" already exists on gateway "${gatewayId}"`, 'body.id');
      if (mode === 'replace' && !prev) throw notFound('device', deviceId);
      const line = lines.find((l) => l.id === input.lineId);
      if (!line) {
        throw new RegistryError('REG_VALIDATION', `body.lineId: gateway "${gatewayId}" has no line "${input.lineId}" (it has: ${lines.map((l) => l.id).join(', ') || 'none; create one first'})`, { field: 'body.lineId' });
      }
      if (line.type === 'firmata') {
        throw new RegistryError('REG_VALIDATION', `body.lineId: line "${input.lineId}" is a firmata board: its devices and pins are part of the line record (PUT /v1/gateways/${gatewayId}/lines/${input.lineId} with "devices")`, { field: 'body.lineId' });
      }
      const now = this.deps.clock.now();
      const device: DeviceRecord = {
        gatewayId,
        id: deviceId,
        lineId: input.lineId,
        name: input.name ?? null,
        profile: input.profile,
        unitId: input.unitId ?? null,
        pollIntervalMs: input.pollIntervalMs ?? null,
        addressOffset: input.addressOffset ?? 0,
        timeoutMs: input.timeoutMs ?? null,
        enabled: input.enabled ?? true,
        points: input.points ?? {},
        createdAt: prev?.createdAt ?? now,
        updatedAt: now,
      };
      const candidate = prev ? devices.map((d) => (d.id === deviceId ? device : d)) : [...devices, device];
      const li = lines.findIndex((l) => l.id === device.lineId);
      const di = candidate.filter((d) => d.lineId === device.lineId).findIndex((d) => d.id === deviceId);
      this.check(gw, lines, candidate, await tx.rules.get(gatewayId), `lines[${li}].devices[${di}]`, mode === 'replace' ? { 'body.id': 'params.deviceId' } : {});
      if (prev) await tx.inventory.updateDevice(device);
      else await tx.inventory.insertDevice(device);
      await this.deps.auditor.record(tx, ctx, prev ? 'device.update' : 'device.create', { type: 'device', id: `${gatewayId}/${deviceId}` }, { ...input });
      return device;
    });
  }

  /** The gateway's document with the change (and its rules, which may name the changed records) must be one the agent accepts. */
  private check(gw: Gateway, lines: LineRecord[], devices: DeviceRecord[], rules: RulesRecord | undefined, docPath: string, rename: Record<string, string> = {}): void {
    refuseProblems(this.composer.validate(this.composer.compose(gw, lines, devices, rules?.rules)), docPath, rename);
  }

  private async gateway(repos: Repos, id: string): Promise<Gateway> {
    const gw = await repos.gateways.get(id);
    if (!gw) throw notFound('gateway', id);
    return gw;
  }
}
