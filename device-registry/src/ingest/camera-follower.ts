import type { Logger } from 'pino';
import { allGateways, Channel, DEFAULT_TOPIC_PREFIX, type CamerasStatusMessage, type CameraThumbnailMessage } from '@cityedge/contract';
import type { MqttConnection } from '../broker/mqtt-connection.js';
import { TopicFollower, type FollowerCounters } from './topic-follower.js';
import { EventsEnvelope } from '@cityedge/contract';
import { CamerasStatusMessageSchema, parseCameraEvent, thumbnailSchema, type CameraEvent } from './camera-payloads.js';

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

export interface CameraFollowerStats extends FollowerCounters {
  statuses: number;
  /** camera.* events handed to the listener. */
  cameraEvents: number;
  /** Events of other kinds (device.*, buffer.*...) passed over. */
  otherEvents: number;
  thumbnails: number;
}

/**
 * Follows what gateways say about their cameras: the retained `{prefix}/+/cameras` status,
 * `{prefix}/+/cameras/thumbnail`, and the camera.* events in `{prefix}/+/events` (other events
 * are left to their consumers). Every payload is validated and trusted only when its `gw`
 * equals the topic's gateway id; messages are handled one at a time in arrival order. Bad
 * payloads are counted and logged; nothing here throws.
 */
export class CameraFollower extends TopicFollower {
  private readonly thumbnail: ReturnType<typeof thumbnailSchema>;
  private readonly maxThumbnailBase64: number;
  private readonly counters = { statuses: 0, cameraEvents: 0, otherEvents: 0, thumbnails: 0 };

  constructor(private readonly opts: CameraFollowerOptions) {
    const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    super(opts.connection, opts.logger.child({ module: 'camera-follower' }), 'camera', prefix, [
      allGateways(Channel.cameras, prefix),
      allGateways(Channel.cameraThumbnail, prefix),
      allGateways(Channel.events, prefix),
    ]);
    this.maxThumbnailBase64 = opts.maxThumbnailBase64 ?? 65_536;
    this.thumbnail = thumbnailSchema(this.maxThumbnailBase64);
  }

  stats(): CameraFollowerStats {
    return { ...this.counters, ...this.common };
  }

  protected async handle(topic: string, gatewayId: string, channel: string, payload: Buffer): Promise<void> {
    const max = this.opts.maxPayloadBytes ?? 2 * 1024 * 1024;
    if (channel === Channel.cameras) {
      const status = this.accept(CamerasStatusMessageSchema, payload, max, topic, gatewayId);
      if (!status) return;
      this.counters.statuses++;
      await this.opts.listener.onCamerasStatus(gatewayId, status);
    } else if (channel === Channel.cameraThumbnail) {
      // base64 plus a small envelope
      const thumb = this.accept(this.thumbnail, payload, this.maxThumbnailBase64 + 1024, topic, gatewayId);
      if (!thumb) return;
      this.counters.thumbnails++;
      await this.opts.listener.onThumbnail(gatewayId, thumb);
    } else if (channel === Channel.events) {
      await this.events(topic, gatewayId, payload, max);
    }
  }

  private async events(topic: string, gatewayId: string, payload: Buffer, max: number): Promise<void> {
    const envelope = this.accept(EventsEnvelope, payload, max, topic, gatewayId);
    if (!envelope) return;
    for (const [i, raw] of envelope.events.entries()) {
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
        this.listenerFailed(topic, err, { seq: envelope.seq, index: i });
      }
    }
  }
}
