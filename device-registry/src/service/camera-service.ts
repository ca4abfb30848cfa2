import type { RegistryStore } from '../db/store.js';
import { conflict, notFound } from '../errors.js';
import type { CameraRecord } from '../repos/inventory-repo.js';
import type { SecretBox } from '../security/secret-box.js';
import type { CallContext, ServiceDeps } from './context.js';

export interface CameraInput {
  name: string;
  host: string;
  onvifPort?: number;
  username?: string | null;
  /** Write-only. Omitted on replace: keep the stored one; null: clear it. */
  password?: string | null;
}

/** What the API shows of a camera: never the password, only whether there is one. */
export interface CameraView {
  gatewayId: string;
  id: string;
  name: string;
  host: string;
  onvifPort: number;
  username: string | null;
  hasPassword: boolean;
  inventory: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

export function cameraView(c: CameraRecord): CameraView {
  const { passwordEnc, ...rest } = c;
  return { ...rest, hasPassword: passwordEnc !== null };
}

/** Cameras of a gateway; passwords are kept sealed (AES-256-GCM) with the registry's secret key. */
export class CameraService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly box: SecretBox,
  ) {}

  async list(gatewayId: string): Promise<CameraView[]> {
    await this.requireGateway(gatewayId);
    return (await this.store.inventory.listCameras(gatewayId)).map(cameraView);
  }

  async get(gatewayId: string, id: string): Promise<CameraView> {
    await this.requireGateway(gatewayId);
    const c = await this.store.inventory.getCamera(gatewayId, id);
    if (!c) throw notFound('camera', id);
    return cameraView(c);
  }

  /** The camera's password in clear, for whoever must hand it to the gateway (issue 4). */
  async password(gatewayId: string, id: string): Promise<string | null> {
    const c = await this.store.inventory.getCamera(gatewayId, id);
    if (!c) throw notFound('camera', id);
    return c.passwordEnc === null ? null : this.box.open(c.passwordEnc);
  }

  create(gatewayId: string, input: CameraInput & { id: string }, ctx: CallContext): Promise<CameraView> {
    return this.save(gatewayId, input.id, input, ctx, 'create');
  }

  replace(gatewayId: string, id: string, input: CameraInput, ctx: CallContext): Promise<CameraView> {
    return this.save(gatewayId, id, input, ctx, 'replace');
  }

  async delete(gatewayId: string, id: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
      if (!(await tx.inventory.deleteCamera(gatewayId, id))) throw notFound('camera', id);
      await this.deps.auditor.record(tx, ctx, 'camera.delete', { type: 'camera', id: `${gatewayId}/${id}` });
    });
  }

  private async save(gatewayId: string, id: string, input: CameraInput, ctx: CallContext, mode: 'create' | 'replace'): Promise<CameraView> {
    return this.store.transaction(async (tx) => {
      if (!(await tx.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
      const prev = await tx.inventory.getCamera(gatewayId, id);
      if (mode === 'create' && prev) throw conflict(`camera "${id}" already exists on gateway "${gatewayId}"`, 'body.id');
      if (mode === 'replace' && !prev) throw notFound('camera', id);
      const now = this.deps.clock.now();
      const passwordEnc = input.password === undefined ? (prev?.passwordEnc ?? null) : input.password === null ? null : this.box.seal(input.password);
      const cam: CameraRecord = {
        gatewayId,
        id,
        name: input.name,
        host: input.host,
        onvifPort: input.onvifPort ?? 80,
        username: input.username ?? null,
        passwordEnc,
        inventory: prev?.inventory ?? null,
        createdAt: prev?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.inventory.upsertCamera(cam);
      const { password, ...safe } = input;
      await this.deps.auditor.record(tx, ctx, prev ? 'camera.update' : 'camera.create', { type: 'camera', id: `${gatewayId}/${id}` }, { ...safe, passwordChanged: password !== undefined });
      return cameraView(cam);
    });
  }

  private async requireGateway(id: string): Promise<void> {
    if (!(await this.store.gateways.get(id))) throw notFound('gateway', id);
  }
}
