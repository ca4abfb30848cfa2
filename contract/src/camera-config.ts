import * as z from 'zod';

/**
 * The `cameras` section of the gateway configuration: which cameras the agent probes (over ONVIF,
 * or by their RTSP and snapshot URLs when they have no ONVIF or it is switched off), how hard,
 * and whether it looks for new ones with WS-Discovery. Every field has a default, so an empty
 * section (or none) is valid and probes nothing.
 */

const cameraId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a camera id of letters, digits, ".", "_" and "-" (at most 64)');

/** A host name or IP address, nothing else: no scheme, no user info, no port, no path. */
const host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*|[0-9A-Fa-f:.]+)$/, 'expected a host name or IP address without scheme, port or credentials');

/** `host` or `host:port` of a WS-Discovery unicast target. */
const hostPort = z
  .string()
  .regex(/^([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/, 'expected "host" or "host:port" (IPv6 in brackets)');

export const CameraCredentials = z
  .strictObject({
    username: z.string().min(1).max(128).regex(/^[^<>&"']+$/, 'must not contain < > & " or \''),
    /** Prefer passwordFile: a file readable only by the agent. */
    password: z.string().max(256).optional(),
    passwordFile: z.string().min(1).optional(),
  })
  .refine((c) => !(c.password !== undefined && c.passwordFile !== undefined), { message: 'give password or passwordFile, not both' });
export type CameraCredentials = z.infer<typeof CameraCredentials>;

/** How deep the stream check goes: none, RTSP DESCRIBE with a parsed SDP, or DESCRIBE + SETUP + PLAY up to the first frame over RTP. */
export const RtspCheck = z.enum(['off', 'describe', 'frame']);
export type RtspCheck = z.infer<typeof RtspCheck>;

/**
 * A camera URL as configured: absolute, of the given schemes, with a host and without user info
 * (credentials come from `cameras.credentials`, so they are never in a URL that could be logged
 * or forwarded).
 */
function cameraUrl(schemes: readonly string[], example: string) {
  return z
    .string()
    .max(2048)
    .superRefine((text, ctx) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected an absolute URL such as ${example}` });
        return;
      }
      if (!schemes.includes(url.protocol)) ctx.addIssue({ code: 'custom', message: `expected an ${schemes.map((p) => `${p}//`).join(' or ')} URL such as ${example}` });
      else if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'expected a host in the URL' });
      else if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'must not contain credentials: name an entry of cameras.credentials instead' });
    });
}

export const CameraConfig = z
  .strictObject({
    id: cameraId,
    name: z.string().max(128).optional(),
    /** ONVIF camera: the host of its device service. */
    host: host.optional(),
    /**
     * Probe over ONVIF (device information, profiles, stream and snapshot URIs from the camera).
     * Default: true when `host` is given. false: the camera is checked by `rtspUrl` and
     * `snapshotUrl` alone (a camera without ONVIF, or with ONVIF switched off).
     */
    onvif: z.boolean().optional(),
    /** Camera without ONVIF: the RTSP stream checked (DESCRIBE, optionally the first frame). */
    rtspUrl: cameraUrl(['rtsp:'], 'rtsp://10.20.1.30:554/Streaming/Channels/101').optional(),
    /** Camera without ONVIF: a snapshot (JPEG) URL, checked like an ONVIF snapshot. */
    snapshotUrl: cameraUrl(['http:', 'https:'], 'http://10.20.1.30/ISAPI/Streaming/channels/101/picture').optional(),
    /** Port of the ONVIF device service (HTTP). */
    port: z.int().min(1).max(65535).default(80),
    path: z.string().regex(/^\/[^\s?#]*$/, 'expected an absolute path such as /onvif/device_service').default('/onvif/device_service'),
    /** Name of an entry under `cameras.credentials`; default: the entry called "default", if any. */
    credentials: z.string().min(1).optional(),
    enabled: z.boolean().default(true),
    /** Media profile whose stream and snapshot are checked; default: the camera's first profile. */
    profileToken: z.string().min(1).max(64).optional(),
    /**
     * Use the configured host (keeping the port) in the stream and snapshot URIs the camera
     * reports: for cameras behind NAT or that report an internal address.
     */
    preserveAddress: z.boolean().default(false),
    /** Overrides `cameras.rtsp` for this camera. */
    rtsp: RtspCheck.optional(),
    /** Overrides `cameras.snapshot.enabled` for this camera. */
    snapshot: z.boolean().optional(),
  })
  .superRefine((cam, ctx) => {
    if (cameraUsesOnvif(cam)) {
      if (cam.host === undefined) ctx.addIssue({ code: 'custom', path: ['host'], message: 'required for an ONVIF camera (for a camera without ONVIF give rtspUrl and onvif: false)' });
      for (const key of ['rtspUrl', 'snapshotUrl'] as const) {
        if (cam[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'applies to a camera without ONVIF (onvif: false); an ONVIF camera reports its own URIs' });
      }
    } else if (cam.rtspUrl === undefined) {
      if (cam.onvif === undefined) ctx.addIssue({ code: 'custom', path: ['host'], message: 'expected host (an ONVIF camera) or rtspUrl (a camera without ONVIF)' });
      else ctx.addIssue({ code: 'custom', path: ['rtspUrl'], message: 'required for a camera without ONVIF (onvif: false)' });
    }
  });
export type CameraConfig = z.infer<typeof CameraConfig>;

/** How a configured camera is probed: over ONVIF (the default when it has a host) or by its URLs alone. */
export function cameraUsesOnvif(cam: Pick<CameraConfig, 'onvif' | 'host'>): boolean {
  return cam.onvif ?? cam.host !== undefined;
}

export const CameraSnapshotConfig = z.strictObject({
  /** Fetch the snapshot on every probe and check that it is a JPEG that decodes and is fresh. */
  enabled: z.boolean().default(true),
  /** Snapshots byte-identical this many fetches in a row, over at least staleMinMs, mean a frozen picture (snapshot-stale). */
  staleAfter: z.int().min(2).max(100).default(3),
  staleMinMs: z.int().min(0).max(86_400_000).default(10_000),
  /** Largest snapshot fetched; a bigger one fails the check (snapshot-unavailable). */
  maxBytes: z.int().min(16_384).max(33_554_432).default(4 * 1024 * 1024),
  /** Largest picture decoded, in megapixels. */
  maxMegapixels: z.number().min(0.1).max(64).default(16),
});

export const CameraThumbnailConfig = z.strictObject({
  enabled: z.boolean().default(false),
  /** Width of the thumbnail in pixels (height keeps the aspect ratio). */
  maxWidth: z.int().min(32).max(640).default(160),
  /** Cap on the base64 JPEG; the quality and size are lowered until it fits. */
  maxBytes: z.int().min(1024).max(65_536).default(16_384),
  /** A thumbnail is sent when the camera comes online and at most this often otherwise. */
  intervalMs: z.int().min(60_000).max(86_400_000).default(3_600_000),
});

export const CameraDiscoveryConfig = z.strictObject({
  enabled: z.boolean().default(false),
  intervalMs: z.int().min(10_000).max(86_400_000).default(600_000),
  /** How long ProbeMatches are collected after each Probe. */
  timeoutMs: z.int().min(100).max(30_000).default(3000),
  /** Network interfaces (by name, e.g. eth0) on which a Probe goes to 239.255.255.250:3702. */
  interfaces: z.array(z.string().min(1).max(64)).default([]),
  /** Unicast targets, "host" or "host:port" (default port 3702). */
  targets: z.array(hostPort).default([]),
});

export const CamerasConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Time between two probes of one camera; probes are spread evenly over it. */
  probeIntervalMs: z.int().min(5000).max(86_400_000).default(60_000),
  /**
   * Cameras probed at the same time. Probes are spread over the interval, so few overlap in
   * steady state; the cap bounds bursts. Each probe costs ~20 ms of main-thread CPU (SOAP
   * parsing), so a higher cap mostly adds event-loop delay on a small board.
   */
  concurrency: z.int().min(1).max(256).default(8),
  /** Timeout of each ONVIF, RTSP or snapshot request. */
  callTimeoutMs: z.int().min(100).max(60_000).default(5000),
  /**
   * Largest SOAP or RTSP reply accepted; a bigger one fails the call. Real replies are a few
   * KB (GetProfiles with many profiles some tens of KB); SOAP is parsed on the main thread
   * (on the order of a millisecond per KB, counting onvif's parser and ours), so the cap also
   * bounds how long one hostile reply can hold it.
   */
  maxResponseBytes: z.int().min(4096).max(16_777_216).default(128 * 1024),
  /**
   * Camera clock offset tolerated before the camera is reported degraded (clock-skew). Requests
   * are always signed with the camera's own time, so a skewed clock does not break login.
   */
  clockSkewToleranceMs: z.int().min(1000).max(86_400_000).default(30_000),
  /** Consecutive probes that must agree before a change of state is reported (1 = at once). */
  confirmAfter: z.int().min(1).max(10).default(2),
  rtsp: RtspCheck.default('describe'),
  snapshot: CameraSnapshotConfig.default(() => CameraSnapshotConfig.parse({})),
  thumbnail: CameraThumbnailConfig.default(() => CameraThumbnailConfig.parse({})),
  discovery: CameraDiscoveryConfig.default(() => CameraDiscoveryConfig.parse({})),
  /** Named credential sets; cameras refer to them by name, "default" applies to cameras that name none. */
  credentials: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a credentials name of letters, digits, ".", "_" and "-"'), CameraCredentials).default({}),
  devices: z.array(CameraConfig).default([]),
});
export type CamerasConfig = z.infer<typeof CamerasConfig>;
export type CameraDiscoveryConfig = z.infer<typeof CameraDiscoveryConfig>;

interface IssueSink {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/**
 * Cross-field checks of the cameras section: unique ids (also against Modbus device ids, since
 * events name either in `dev`), credentials that exist, something to check on a camera without
 * ONVIF, discovery that has somewhere to look.
 */
export function checkCamerasConfig(cameras: CamerasConfig, modbusDeviceIds: ReadonlySet<string>, ctx: IssueSink): void {
  const seen = new Map<string, number>();
  cameras.devices.forEach((cam, i) => {
    const prev = seen.get(cam.id);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['cameras', 'devices', i, 'id'], message: `duplicate camera id "${cam.id}" (also cameras.devices[${prev}])` });
    else seen.set(cam.id, i);
    if (modbusDeviceIds.has(cam.id)) ctx.addIssue({ code: 'custom', path: ['cameras', 'devices', i, 'id'], message: `camera id "${cam.id}" is also a Modbus device id; ids must be unique across both` });
    if (!cameraUsesOnvif(cam) && (cam.rtsp ?? cameras.rtsp) === 'off' && !(cam.snapshotUrl !== undefined && (cam.snapshot ?? cameras.snapshot.enabled))) {
      ctx.addIssue({ code: 'custom', path: ['cameras', 'devices', i, 'rtsp'], message: 'a camera without ONVIF is checked by its rtspUrl and snapshotUrl: with rtsp off and no snapshot nothing would be checked' });
    }
    if (cam.credentials !== undefined && !(cam.credentials in cameras.credentials)) {
      const known = Object.keys(cameras.credentials);
      ctx.addIssue({
        code: 'custom',
        path: ['cameras', 'devices', i, 'credentials'],
        message: `no credentials named "${cam.credentials}" under cameras.credentials${known.length ? ` (there are ${known.map((k) => `"${k}"`).join(', ')})` : ' (there are none)'}`,
      });
    }
  });
  const d = cameras.discovery;
  if (d.enabled && d.interfaces.length === 0 && d.targets.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['cameras', 'discovery'], message: 'discovery is enabled but names no interfaces and no targets' });
  }
  for (const [i, t] of d.targets.entries()) {
    const port = /:(\d+)$/.exec(t)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      ctx.addIssue({ code: 'custom', path: ['cameras', 'discovery', 'targets', i], message: 'expected a port 1..65535' });
    }
  }
}
