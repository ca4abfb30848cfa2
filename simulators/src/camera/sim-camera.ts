import type { Logger } from 'pino';
import { SimError } from '../errors.js';
import type { Random } from '../random.js';
import type { Clock } from '../sim-clock.js';
import { CameraFaultSpec, type CameraFault, type CameraFaultInput, type CameraFaultMode, type CameraSpec } from './camera-spec.js';
import { CameraState, type CameraStats } from './camera-state.js';
import { DiscoveryResponder } from './ws-discovery.js';
import { OnvifHttpServer } from './onvif-http-server.js';
import { RtspServer } from './rtsp-server.js';

export interface CameraProfileInfo {
  token: string;
  name: string;
  width: number;
  height: number;
  fps: number;
  encoding: 'JPEG';
  rtspUrl: string;
  snapshotUrl: string;
}

/** Where a simulated camera listens and what it is; URLs carry no credentials. */
export interface CameraInfo {
  id: string;
  name: string;
  /** WS-Discovery EndpointReference address, stable across runs: urn:uuid:... */
  uuid: string;
  host: string;
  httpPort: number;
  rtspPort: number;
  /** The camera's own WS-Discovery UDP port (undefined when discovery is off). */
  discoveryPort: number | undefined;
  deviceServiceUrl: string;
  mediaServiceUrl: string;
  /** Snapshot and stream of Profile_1 (main stream). */
  snapshotUrl: string;
  rtspUrl: string;
  profiles: CameraProfileInfo[];
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  hardwareId: string;
  /** The configured credentials (the camera accepts another password while 'wrong-password' is active). */
  username: string;
  password: string;
  auth: CameraSpec['auth'];
  snapshotAuth: CameraSpec['snapshotAuth'];
  rtspAuth: CameraSpec['rtspAuth'];
  clockToleranceSec: number;
  /** False while rebooting. */
  up: boolean;
  /** Camera-clock epoch ms of the last boot. */
  bootTime: number;
  faults: CameraFault[];
  stats: CameraStats;
}

export interface SimCameraOptions {
  spec: CameraSpec;
  clock: Clock;
  logger: Logger;
  random: Random;
  discoveryMaxDelayMs: number;
}

/** One simulated ONVIF Profile S camera: web server (ONVIF + snapshot), RTSP server, WS-Discovery responder. */
export class SimCamera {
  readonly id: string;
  readonly state: CameraState;
  private readonly http: OnvifHttpServer;
  private readonly rtsp: RtspServer;
  private readonly discovery: DiscoveryResponder | undefined;
  private isUp = false;
  private stopped = false;
  private rebootTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private upWaiters: Array<() => void> = [];
  private readonly logger: Logger;

  constructor(private readonly options: SimCameraOptions) {
    this.id = options.spec.id;
    this.logger = options.logger;
    this.state = new CameraState(options.spec, options.clock);
    this.http = new OnvifHttpServer({ state: this.state, logger: this.logger.child({ service: 'http' }) });
    this.rtsp = new RtspServer({ state: this.state, logger: this.logger.child({ service: 'rtsp' }) });
    this.discovery = options.spec.discovery
      ? new DiscoveryResponder({ host: '127.0.0.1', port: options.spec.discoveryPort, cameras: () => [this], maxDelayMs: options.discoveryMaxDelayMs, random: options.random, logger: this.logger.child({ service: 'discovery' }) })
      : undefined;
  }

  /** Starts every service, applying the spec's faults (a 'reboot' fault starts the camera down). */
  async start(): Promise<void> {
    const initial = this.options.spec.fault ?? [];
    for (const f of initial) if (f.mode !== 'reboot') this.state.setFault(f);
    const reboot = initial.find((f) => f.mode === 'reboot');
    await this.boot();
    if (reboot) await this.setFault(reboot);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    this.rebootTimer = undefined;
    await this.queue.catch(() => undefined);
    await this.shutdown();
    for (const w of this.upWaiters.splice(0)) w();
  }

  get up(): boolean {
    return this.isUp;
  }

  /** The camera's clock, epoch ms (off by the clock-skew fault). */
  now(): number {
    return this.state.now();
  }

  /**
   * Activates a fault (object or short form such as "clock-skew:600"); resolves once it is in
   * effect (e.g. the RTSP listener closed, or the camera down for a reboot). Rejects with
   * SIM_BAD_VALUE for an invalid fault.
   */
  setFault(input: CameraFaultInput | CameraFault | string): Promise<void> {
    const parsed = CameraFaultSpec.safeParse(input);
    if (!parsed.success) return Promise.reject(new SimError('SIM_BAD_VALUE', `invalid camera fault ${JSON.stringify(input)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`));
    const fault = parsed.data;
    this.logger.info({ fault }, 'camera fault set');
    return this.enqueue(async () => {
      this.state.setFault(fault);
      if (fault.mode === 'rtsp-down' && this.isUp) await this.rtsp.stop();
      if (fault.mode === 'reboot') {
        if (this.rebootTimer) clearTimeout(this.rebootTimer);
        await this.shutdown();
        this.rebootTimer = setTimeout(() => {
          this.rebootTimer = undefined;
          void this.enqueue(async () => {
            this.state.clearFault('reboot');
            await this.boot();
          });
        }, fault.downSec * 1000);
      }
    });
  }

  /** Clears one fault mode, or all; a pending reboot finishes at once. */
  clearFault(mode?: CameraFaultMode): Promise<void> {
    return this.enqueue(async () => {
      const wasRtspDown = this.state.has('rtsp-down');
      const wasRebooting = this.rebootTimer !== undefined;
      this.state.clearFault(mode);
      if (wasRebooting && !this.state.has('reboot')) {
        clearTimeout(this.rebootTimer);
        this.rebootTimer = undefined;
        await this.boot();
      } else if (wasRtspDown && !this.state.has('rtsp-down') && this.isUp) {
        await this.rtsp.start();
      }
    });
  }

  faults(): CameraFault[] {
    return this.state.faults();
  }

  /** Resolves when the camera is up (at once if it is). */
  whenUp(): Promise<void> {
    if (this.isUp || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.upWaiters.push(resolve));
  }

  info(): CameraInfo {
    const s = this.state;
    const spec = s.spec;
    return {
      id: spec.id,
      name: s.name,
      uuid: s.uuid,
      host: s.host,
      httpPort: s.httpPort,
      rtspPort: s.rtspPort,
      discoveryPort: s.discoveryPort,
      deviceServiceUrl: s.deviceServiceUrl,
      mediaServiceUrl: s.mediaServiceUrl,
      snapshotUrl: s.snapshotUrl(),
      rtspUrl: s.rtspUrl(),
      profiles: s.profiles.map((p) => ({ token: p.token, name: p.name, width: p.width, height: p.height, fps: p.fps, encoding: 'JPEG' as const, rtspUrl: s.rtspUrl(p), snapshotUrl: s.snapshotUrl(p.token) })),
      manufacturer: spec.manufacturer,
      model: spec.model,
      firmware: spec.firmware,
      serial: s.serial,
      hardwareId: spec.hardwareId,
      username: spec.username,
      password: spec.password,
      auth: spec.auth,
      snapshotAuth: spec.snapshotAuth,
      rtspAuth: spec.rtspAuth,
      clockToleranceSec: spec.clockToleranceSec,
      up: this.isUp,
      bootTime: s.bootTime,
      faults: s.faults(),
      stats: structuredClone(s.stats),
    };
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (!this.stopped) await task();
    });
    this.queue = run.catch((err: unknown) => this.logger.error({ err }, 'camera state change failed'));
    return run;
  }

  private async boot(): Promise<void> {
    const s = this.state;
    s.bootTime = s.now();
    s.stats.boots++;
    try {
      await this.http.start();
      // Started rtsp-down, the port is still bound once and released, so info() and the stream
      // URL name the port the camera will answer on when the fault is cleared (not port 0).
      await this.rtsp.start();
      if (s.has('rtsp-down')) await this.rtsp.stop();
      if (this.discovery) s.discoveryPort = await this.discovery.start();
    } catch (err) {
      await this.shutdown();
      throw new SimError('SIM_LISTEN', `camera ${this.id} could not listen: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.isUp = true;
    this.logger.info({ httpPort: s.httpPort, rtspPort: s.rtspPort, discoveryPort: s.discoveryPort }, 'camera up');
    for (const w of this.upWaiters.splice(0)) w();
  }

  private async shutdown(): Promise<void> {
    this.isUp = false;
    await Promise.all([this.http.stop(), this.rtsp.stop(), this.discovery?.stop()]);
  }
}
