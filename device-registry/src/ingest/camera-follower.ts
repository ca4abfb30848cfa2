import type { Logger } from 'pino';
import { allGateways, Channel, DEFAULT_TOPIC_PREFIX, parseTopic, type CamerasStatusMessage, type CameraThumbnailMessage } from '@cityedge/contract';
import type { MqttConnection } from '../broker/mqtt-connection.js';
import { TopicFollower } from './topic-follower.js';
import { CamerasStatusMessageSchema, EventsEnvelopeSchema, parseCameraEvent, thumbnailSchema, type CameraEvent } from './camera-payloads.js';
import { parsePayload } from './payloads.js';

/** Receives validated camera reports; the registry core stores them (CameraStatusService). */
export interface CameraListener {
  /** The retained `{prefix}/{gw}/cameras` status; `gatewayId` is the topic's, equal to `msg.gw`. */
  onCamerasStatus(gatewayId: string, msg: CamerasStatusMessage): unknown;
  /** One camera.* event of the gateway's events stream. */
  onCameraEvent(gatewayId: string, event: CameraEvent): unknown;
  /** A thumbnail, already checked to be a size-capped JPEG. */
  onThumbnail(gatewayId: string, msg: CameraThumbnailMessage): unknown;
}

export interface CameraFollowerOptions {
  /** The registry's service account. */
  connection: MqttConnection;
  listener: CameraListener;
  logger: Logger;
  prefix?: string;
  /** Larger status and events payloads count as malformed (default 2 MiB). */
  maxPayloadBytes?: number;
  /** Largest thumbnail accepted, in base64 characters (default 65,536: the agent's own maximum). */
  maxThumbnailBase64?: number;
}

export interface CameraFollowerStats {
  statuses: number;
  /** camera.* events handed to the listener. */
  cameraEvents: number;
  /** Events of other kinds (device.*, buffer.*...) passed over. */
  otherEvents: number;
  thumbnails: number;
  /** Messages or camera events that are not JSON, of the wrong shape or too large. */
  malformed: number;
  /** Payload `gw` differs from the topic's gateway id: not trusted. */
  mismatched: number;
  /** Empty payloads (a retained message being cleared). */
  cleared: number;
  listenerErrors: number;
}

/**
 * Follows what gateways say about their cameras: the retained `{prefix}/+/cameras` status,
 * `{prefix}/+/cameras/thumbnail`, and the camera.* events in `{prefix}/+/events` (other events
 * are left to their consumers). Every payload is validated and trusted only when its `gw`
 * equals the topic's gateway id; messages are handled one at a time in arrival order. Bad
 * payloads are counted and logged; nothing here throws.
 */
export class CameraFollower extends TopicFollower {
  private readonly prefix: string;
  private readonly thumbnail: ReturnType<typeof thumbnailSchema>;
  private readonly maxThumbnailBase64: number;
  private readonly counters: CameraFollowerStats = { statuses: 0, cameraEvents: 0, otherEvents: 0, thumbnails: 0, malformed: 0, mismatched: 0, cleared: 0, listenerErrors: 0 };

  constructor(private readonly opts: CameraFollowerOptions) {
    const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    super(opts.connection, opts.logger.child({ module: 'camera-follower' }), 'cameras', [
      allGateways(Channel.cameras, prefix),
      allGateways(Channel.cameraThumbnail, prefix),
      allGateways(Channel.events, prefix),
    ]);
    this.prefix = prefix;
    this.maxThumbnailBase64 = opts.maxThumbnailBase64 ?? 65_536;
    this.thumbnail = thumbnailSchema(this.maxThumbnailBase64);
  }

  stats(): CameraFollowerStats {
    return { ...this.counters };
  }

  protected async handle(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic, this.prefix);
    if (!t) return;
    if (payload.length === 0) {
      this.counters.cleared++;
      return;
    }
    const max = this.opts.maxPayloadBytes ?? 2 * 1024 * 1024;
    try {
      if (t.channel === Channel.cameras) {
        const r = parsePayload(CamerasStatusMessageSchema, payload, max);
        if (!r.ok) return this.malformed(topic, r.problem);
        if (r.value.gw !== t.gatewayId) return this.mismatch(topic, r.value.gw);
        this.counters.statuses++;
        await this.opts.listener.onCamerasStatus(t.gatewayId, r.value);
      } else if (t.channel === Channel.cameraThumbnail) {
        // base64 plus a small envelope
        const r = parsePayload(this.thumbnail, payload, this.maxThumbnailBase64 + 1024);
        if (!r.ok) return this.malformed(topic, r.problem);
        if (r.value.gw !== t.gatewayId) return this.mismatch(topic, r.value.gw);
        this.counters.thumbnails++;
        await this.opts.listener.onThumbnail(t.gatewayId, r.value);
      } else if (t.channel === Channel.events) {
        await this.events(topic, t.gatewayId, payload, max);
      }
    } catch (err) {
      this.counters.listenerErrors++;
      this.log.error({ topic, err: (err as Error).message }, 'camera listener failed');
    }
  }

  private async events(topic: string, gatewayId: string, payload: Buffer, max: number): Promise<void> {
    const r = parsePayload(EventsEnvelopeSchema, payload, max);
    if (!r.ok) return this.malformed(topic, r.problem);
    if (r.value.gw !== gatewayId) return this.mismatch(topic, r.value.gw);
    for (const [i, raw] of r.value.events.entries()) {
      const e = parseCameraEvent(raw);
      if (!e.ok) {
        if (e.ignored) this.counters.otherEvents++;
        else this.malformed(topic, `events[${i}].${e.problem}`);
        continue;
      }
      this.counters.cameraEvents++;
      try {
        await this.opts.listener.onCameraEvent(gatewayId, e.event);
      } catch (err) {
        this.counters.listenerErrors++;
        this.log.error({ topic, seq: r.value.seq, index: i, err: (err as Error).message }, 'camera listener failed');
      }
    }
  }

  private malformed(topic: string, problem: string): void {
    this.counters.malformed++;
    this.log.warn({ topic, problem }, 'malformed camera message dropped');
  }

  private mismatch(topic: string, payloadGw: string): void {
    this.counters.mismatched++;
    this.log.warn({ topic, payloadGw }, 'camera message names another gateway than its topic; dropped');
  }
}
