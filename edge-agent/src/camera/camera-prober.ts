import type { Logger } from 'pino';
import {
  CameraEventType,
  CameraReason,
  cameraStateSeverity,
  cameraUsesOnvif,
  encodeCamerasStatus,
  encodeCameraThumbnail,
  type CameraConfig,
  type CamerasConfig,
  type CameraState,
  type CameraStateEventData,
  type CameraStatusEntry,
  type GatewayEvent,
} from '@cityedge/contract';
import { JpegWorker, OnvifCameraClient, RtspCameraClient, type CameraClient, type JpegDecoder, type MediaClient } from '@cityedge/drivers/camera';
import { CameraDiscovery, type CameraDiscoveryOptions } from './camera-discovery.js';
import { lookUpCredentials, type CameraCredentialsResolved, type ReadFile } from './camera-credentials.js';
import { CameraTracker, type StateChange } from './camera-tracker.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { probeCamera, probeRtspCamera, type ProbeOutcome } from './probe-camera.js';

export type { CameraCredentialsResolved } from './camera-credentials.js';

export interface CameraProberOptions {
  config: CamerasConfig;
  gatewayId: string;
  logger: Logger;
  now?: () => number;
  /** Durable, sequenced, ahead of telemetry: state changes, inventory, discoveries (Outbox.appendEvent). */
  appendEvent: (event: GatewayEvent) => void;
  /** Retained state of every camera (Forwarder.retain(Channel.cameras, payload)). */
  publishStatus?: (payload: string) => void;
  /** Best-effort thumbnails (Forwarder.retain(Channel.cameraThumbnail, payload)). */
  publishThumbnail?: (payload: string) => void;
  /** Client of one ONVIF camera; default OnvifCameraClient. */
  clientFactory?: (camera: CameraConfig, credentials: CameraCredentialsResolved | undefined) => CameraClient;
  /** Client of one camera without ONVIF (checked by its URLs); default RtspCameraClient. */
  mediaClientFactory?: (camera: CameraConfig, credentials: CameraCredentialsResolved | undefined) => MediaClient;
  /** Default: a JpegWorker owned (started and closed) by the prober. */
  decoder?: JpegDecoder;
  /** Reads a passwordFile; default readFileSync. */
  readFile?: ReadFile;
  /** Passed to the discovery loop (tests). */
  discover?: CameraDiscoveryOptions['discover'];
}

export interface CameraProberStats {
  cameras: number;
  byState: Record<CameraState | 'unknown', number>;
  probes: number;
  running: number;
  waiting: number;
  peakRunning: number;
}

/** Least time between two retained status publishes caused by changes. */
const STATUS_DEBOUNCE_MS = 2000;

/**
 * Probes every configured camera on its interval, at most `concurrency` at once, spreading the
 * cameras evenly over the interval: over ONVIF, or by its RTSP and snapshot URLs when it has no
 * ONVIF. All camera I/O is asynchronous with per-call timeouts and JPEG decoding runs in a
 * worker thread, so a camera can neither block the event loop (Modbus polling) nor another
 * camera. A camera whose entry cannot be used (its password file unreadable, say) is reported
 * misconfigured at start and tried again at each of its probes; it never stops the others. A
 * change of state is appended to the outbox as an event (forwarded ahead of telemetry);
 * inventory is appended when it first appears or changes; the retained status and thumbnails
 * are published directly (latest value only).
 */
export class CameraProber {
  private readonly opts: CameraProberOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly limiter: ConcurrencyLimiter;
  private trackers: CameraTracker[] = [];
  private clients = new Map<string, MediaClient>();
  private decoder: JpegDecoder | undefined;
  private ownsDecoder = false;
  private discovery: CameraDiscovery | undefined;
  private timer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusDebounce: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;

  constructor(opts: CameraProberOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.limiter = new ConcurrencyLimiter(opts.config.concurrency);
  }

  /**
   * Sets up every enabled camera (credentials read, client built), then schedules probes and
   * discovery. A camera that cannot be set up is reported misconfigured at once. Does nothing
   * when cameras are disabled.
   */
  start(): void {
    if (this.running) return;
    const { config } = this.opts;
    if (!config.enabled) return;
    const cameras = config.devices.filter((c) => c.enabled);
    this.decoder = this.opts.decoder ?? new JpegWorker();
    this.ownsDecoder = this.opts.decoder === undefined;
    this.trackers = cameras.map((c) => new CameraTracker(c, config.confirmAfter, { after: config.snapshot.staleAfter, minMs: config.snapshot.staleMinMs }));
    this.running = true;
    for (const t of this.trackers) {
      const problem = this.setUp(t);
      if (problem) this.record(t, problem);
    }
    const start = this.now();
    this.trackers.forEach((t, i) => {
      t.due = start + Math.floor((i * config.probeIntervalMs) / Math.max(1, this.trackers.length));
    });
    this.arm();
    if (this.opts.publishStatus) this.statusTimer = setInterval(() => this.publishStatus(), config.probeIntervalMs);
    if (config.discovery.enabled) {
      this.discovery = new CameraDiscovery({
        config: config.discovery,
        cameras: config.devices,
        appendEvent: (e) => this.emit(e),
        logger: this.log.child({ part: 'discovery' }),
        now: this.now,
        ...(this.opts.discover && { discover: this.opts.discover }),
      });
      this.discovery.start();
    }
    this.log.info({ cameras: this.trackers.length, concurrency: config.concurrency, probeIntervalMs: config.probeIntervalMs, discovery: config.discovery.enabled }, 'camera prober started');
  }

  /** Stops scheduling, closes every camera connection and waits for probes under way. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    clearInterval(this.statusTimer);
    clearTimeout(this.statusDebounce);
    await this.discovery?.stop();
    for (const c of this.clients.values()) c.close();
    await Promise.allSettled([...this.inFlight]);
    for (const c of this.clients.values()) c.close();
    if (this.ownsDecoder) await this.decoder?.close();
    this.log.info('camera prober stopped');
  }

  /** Probes every camera now (within the concurrency limit) and resolves when all are done. */
  async probeAll(): Promise<void> {
    await Promise.all(this.trackers.filter((t) => !t.busy).map((t) => this.launch(t)));
  }

  /**
   * Probes one camera now (the `camera.probe` command) and returns its state afterwards; a probe
   * already running for it is waited for instead of starting another. Undefined: no such camera.
   */
  async probeNow(id: string): Promise<CameraStatusEntry | undefined> {
    const t = this.trackers.find((x) => x.id === id);
    if (!t) return undefined;
    while (t.busy) await new Promise((r) => setTimeout(r, 50));
    await this.launch(t);
    return t.status();
  }

  /** Ids of the configured cameras. */
  ids(): string[] {
    return this.trackers.map((t) => t.id);
  }

  /** Runs one discovery round now (when discovery is enabled). */
  async discoverNow(): Promise<void> {
    await this.discovery?.runOnce();
  }

  /** Current state of every camera probed at least once. */
  status(): CameraStatusEntry[] {
    return this.trackers.map((t) => t.status()).filter((s): s is CameraStatusEntry => s !== undefined);
  }

  stats(): CameraProberStats {
    const byState: CameraProberStats['byState'] = { online: 0, degraded: 0, unauthorized: 0, unreachable: 0, misconfigured: 0, unknown: 0 };
    let probes = 0;
    for (const t of this.trackers) {
      byState[t.state]++;
      probes += t.probes;
    }
    const l = this.limiter.stats();
    return { cameras: this.trackers.length, byState, probes, running: l.running, waiting: l.waiting, peakRunning: l.peak };
  }

  /**
   * Builds the camera's client with its credentials; a misconfigured outcome (reason and the
   * config path of the problem) when the password file cannot be read or the client cannot be
   * built. Called at start and again before each probe of a camera that is not set up.
   */
  private setUp(t: CameraTracker): ProbeOutcome | undefined {
    const { config } = this.opts;
    const c = t.config;
    const misconfigured = (reason: CameraReason, detail: string): ProbeOutcome => ({ state: 'misconfigured', reasons: [reason], code: 'EDGE_CAMERA_CONFIG', detail, source: cameraUsesOnvif(c) ? 'onvif' : 'rtsp' });
    const creds = lookUpCredentials(config, c.credentials, this.opts.readFile);
    if (!creds.ok) return misconfigured(CameraReason.credentialsUnreadable, `${creds.path}: ${creds.message}`);
    try {
      const client = cameraUsesOnvif(c)
        ? (this.opts.clientFactory ?? defaultClient(config))(c, creds.credentials)
        : (this.opts.mediaClientFactory ?? defaultMediaClient(config))(c, creds.credentials);
      this.clients.set(c.id, client);
      t.secrets = [creds.credentials?.password];
      return undefined;
    } catch (err) {
      return misconfigured(CameraReason.invalidConfig, `cameras.devices[${config.devices.indexOf(c)}]: ${(err as Error).message}`);
    }
  }

  /** Arms the timer for the next camera due (cameras probing or waiting for a slot are skipped). */
  private arm(): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    let next = Infinity;
    for (const t of this.trackers) if (!t.busy && t.due < next) next = t.due;
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - this.now()), 60_000);
    this.timer = setTimeout(() => this.dispatch(), delay);
  }

  private dispatch(): void {
    const now = this.now();
    for (const t of this.trackers) if (!t.busy && t.due <= now) void this.launch(t);
    this.arm();
  }

  private launch(t: CameraTracker): Promise<void> {
    t.busy = true;
    const run = this.limiter
      .run(() => this.probeOne(t))
      .catch((err: unknown) => this.log.error({ camera: t.id, err }, 'camera probe failed unexpectedly'))
      .finally(() => {
        t.busy = false;
        const interval = this.opts.config.probeIntervalMs;
        // A change waiting for confirmation is re-checked sooner.
        t.due = this.now() + (t.confirming ? Math.min(interval, Math.max(5000, Math.floor(interval / 4))) : interval);
        this.inFlight.delete(run);
        this.arm();
      });
    this.inFlight.add(run);
    return run;
  }

  private async probeOne(t: CameraTracker): Promise<void> {
    if (!this.decoder || !this.running) return;
    if (!this.clients.has(t.id)) {
      const problem = this.setUp(t);
      if (problem) {
        this.record(t, problem);
        return;
      }
    }
    const client = this.clients.get(t.id);
    if (!client) return;
    const { config } = this.opts;
    const now = this.now();
    const settings = {
      profileToken: t.config.profileToken,
      rtsp: t.config.rtsp ?? config.rtsp,
      snapshot: t.config.snapshot ?? config.snapshot.enabled,
      clockSkewToleranceMs: config.clockSkewToleranceMs,
      maxMegapixels: config.snapshot.maxMegapixels,
      thumbnail: config.thumbnail.enabled && this.opts.publishThumbnail && t.wantsThumbnail(now, config.thumbnail.intervalMs) ? { maxWidth: config.thumbnail.maxWidth, maxBase64Bytes: config.thumbnail.maxBytes } : undefined,
    };
    const outcome = cameraUsesOnvif(t.config)
      ? await probeCamera(client as CameraClient, settings, t.memory, this.decoder, this.now)
      : await probeRtspCamera(client, { stream: t.config.rtspUrl, snapshot: t.config.snapshotUrl }, settings, t.memory, this.decoder, this.now);
    // A configured URL the probe could not use: name the entry, as for a problem found at set-up.
    if (outcome.state === 'misconfigured' && outcome.detail !== undefined) outcome.detail = `cameras.devices[${config.devices.indexOf(t.config)}]: ${outcome.detail}`;
    client.close();
    if (!this.running) return;
    this.record(t, outcome);
  }

  /** Tracks one outcome: state change and inventory events, the thumbnail. */
  private record(t: CameraTracker, outcome: ProbeOutcome): void {
    const ts = this.now();
    const r = t.track(outcome, ts);
    this.log.debug({ camera: t.id, state: outcome.state, reasons: outcome.reasons, code: outcome.code }, 'camera probed');
    if (r.change) this.reportChange(t, r.change, ts);
    if (r.inventory) {
      const what = [r.inventory.manufacturer, r.inventory.model, r.inventory.firmware].filter(Boolean).join(' ') || (r.inventory.source === 'rtsp' ? 'stream without ONVIF' : 'inventory');
      this.emit({ type: CameraEventType.inventory, ts, severity: 'info', dev: t.id, message: `camera ${t.id}: ${what}`, data: { ...r.inventory } });
    }
    if (outcome.thumbnail && outcome.state === 'online' && t.state === 'online' && this.opts.publishThumbnail) {
      t.lastThumbnailAt = ts;
      const th = outcome.thumbnail;
      this.opts.publishThumbnail(encodeCameraThumbnail({ v: 1, gw: this.opts.gatewayId, cam: t.id, ts, mime: 'image/jpeg', width: th.width, height: th.height, data: th.base64 }));
    }
  }

  private reportChange(t: CameraTracker, c: StateChange, ts: number): void {
    // Only a misconfigured camera's detail is forwarded: it names a config path, while probe errors stay in the log.
    const detail = c.state === 'misconfigured' ? c.detail : undefined;
    const data: CameraStateEventData = {
      state: c.state,
      previous: c.previous,
      reasons: c.reasons,
      ...(c.code !== undefined && { code: c.code }),
      ...(detail !== undefined && { detail }),
      ...(c.clockSkewMs !== undefined && { clockSkewMs: c.clockSkewMs }),
    };
    const why = (c.reasons.length ? `: ${c.reasons.join(', ')}` : '') + (detail !== undefined ? ` (${detail})` : '');
    this.emit({ type: CameraEventType[c.state], ts, severity: cameraStateSeverity(c.state), dev: t.id, message: `camera ${t.id} is ${c.state}${why}`, data: { ...data } });
    const level = c.state === 'online' ? 'info' : 'warn';
    this.log[level]({ camera: t.id, state: c.state, previous: c.previous, reasons: c.reasons, code: c.code, detail: c.detail }, 'camera state changed');
    this.scheduleStatus();
  }

  private emit(event: GatewayEvent): void {
    try {
      this.opts.appendEvent(event);
    } catch (err) {
      this.log.error({ type: event.type, err }, 'could not append a camera event');
    }
  }

  private scheduleStatus(): void {
    if (!this.opts.publishStatus || this.statusDebounce) return;
    this.statusDebounce = setTimeout(() => {
      this.statusDebounce = undefined;
      this.publishStatus();
    }, STATUS_DEBOUNCE_MS);
  }

  private publishStatus(): void {
    if (!this.running || !this.opts.publishStatus) return;
    try {
      this.opts.publishStatus(encodeCamerasStatus({ v: 1, gw: this.opts.gatewayId, ts: this.now(), cameras: this.status() }));
    } catch (err) {
      this.log.warn({ err }, 'could not publish camera status');
    }
  }
}

function limitsOf(config: CamerasConfig) {
  return { timeoutMs: config.callTimeoutMs, maxResponseBytes: config.maxResponseBytes, maxSnapshotBytes: config.snapshot.maxBytes };
}

function defaultClient(config: CamerasConfig): (camera: CameraConfig, cred: CameraCredentialsResolved | undefined) => CameraClient {
  return (camera, cred) => {
    if (camera.host === undefined) throw new Error('host: required for an ONVIF camera');
    return new OnvifCameraClient({
      endpoint: { host: camera.host, port: camera.port, path: camera.path, preserveAddress: camera.preserveAddress, ...(cred && { username: cred.username, password: cred.password }) },
      limits: limitsOf(config),
    });
  };
}

function defaultMediaClient(config: CamerasConfig): (camera: CameraConfig, cred: CameraCredentialsResolved | undefined) => MediaClient {
  return (_camera, cred) => new RtspCameraClient({ limits: limitsOf(config), ...(cred && { credentials: cred }) });
}
