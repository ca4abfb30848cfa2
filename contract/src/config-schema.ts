import * as z from 'zod';
import { DeviceProfile, SerialParity, ValueRange, WordOrder } from './profile-schema.js';
import { DEFAULT_TOPIC_PREFIX } from './topics.js';
import { GatewayId } from './payloads.js';
import { CamerasConfig, checkCamerasConfig } from './camera-config.js';
import { RulesConfig } from './rules-config.js';
import { firmataLineBodySchema, firmataLineSchema } from './firmata-config.js';

const id = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, `expected a ${what} id of letters, digits, ".", "_" and "-" (at most 64)`);

/**
 * A serial device: a path under /dev/ of device-name segments (letters, digits, "_", ".", ":",
 * "+", "@", "-"), none of them "." or "..", e.g. /dev/ttyUSB0, /dev/ttySC0 or
 * /dev/serial/by-id/usb-FTDI_FT232R_USB_UART-if00-port0. The one rule for the agent's schema
 * and the registry's line records: a line can never point the agent at /etc/passwd.
 */
export const SerialPath = z
  .string()
  .max(256, 'expected at most 256 characters')
  .regex(/^\/dev(\/[A-Za-z0-9_][A-Za-z0-9_.:+@-]*)+$/, 'expected a serial device under /dev/ (e.g. /dev/ttyUSB0 or /dev/serial/by-id/...), without "." or ".." segments');

/**
 * A file of the agent's state: relative to the state directory, or absolute inside it (the
 * agent checks that part, knowing the directory). No ".." segment: state never escapes it.
 */
export const StateFilePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.split(/[\\/]/).includes('..'), 'expected a file inside the state directory (no ".." segments)');

/** Per-point adjustments a device makes to its profile. */
export const PointOverride = z.strictObject({
  /** false: the device does not have this point (e.g. an AQT530 without gas cells): never read, never published. */
  enabled: z.boolean().optional(),
  wordOrder: WordOrder.optional(),
  scale: z.number().finite().optional(),
  offset: z.number().finite().optional(),
  unit: z.string().max(32).optional(),
  /** Valid engineering range at this site, replacing the profile's (in the point's unit). */
  range: ValueRange.optional(),
});

export const DeviceConfig = z.strictObject({
  id: id('device'),
  name: z.string().optional(),
  /** Id of a built-in profile, one under `profiles` or one loaded from `profileDirs`. */
  profile: z.string().min(1),
  /** Modbus unit (slave) id: 1..247 on a serial bus, 0..255 on Modbus TCP. Defaults to the profile's. */
  unitId: z.int().min(0).max(255).optional(),
  pollIntervalMs: z.int().min(100).max(86_400_000).optional(),
  enabled: z.boolean().default(true),
  /** Added to every point address, e.g. a DALI ballast's base 7000*channel + 100*address. */
  addressOffset: z.int().min(0).max(65535).default(0),
  /** Per-request timeout for this device; defaults to the line's. */
  timeoutMs: z.int().min(10).max(60_000).optional(),
  points: z.record(z.string(), PointOverride).default({}),
});
export type DeviceConfig = z.infer<typeof DeviceConfig>;

const schedulerKnobs = {
  /** Per-request timeout. */
  timeoutMs: z.int().min(10).max(60_000),
  /** Extra attempts after a failed request before the poll counts as failed. */
  retries: z.int().min(0).max(5).default(1),
  /** Largest gap of unused registers bridged to merge two reads into one request. */
  maxGapRegisters: z.int().min(0).max(100).default(8),
  /** Consecutive failed polls after which a device is quarantined (polled with backoff, no retries). */
  quarantineAfter: z.int().min(1).max(100).default(3),
  /** Longest interval between probes of a quarantined device. */
  maxBackoffMs: z.int().min(1000).max(3_600_000).default(60_000),
  devices: z.array(DeviceConfig).default([]),
};

export const RtuLine = z.strictObject({
  id: id('line'),
  type: z.literal('rtu'),
  /** Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... */
  path: SerialPath,
  baudRate: z.int().positive().max(4_000_000).default(9600),
  parity: SerialParity.default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Silence kept between frames; defaults to 3.5 character times (1.75 ms above 19200 baud). */
  interFrameGapMs: z.number().min(0).max(1000).optional(),
  ...schedulerKnobs,
  timeoutMs: schedulerKnobs.timeoutMs.default(500),
});

export const TcpLine = z.strictObject({
  id: id('line'),
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(502),
  ...schedulerKnobs,
  timeoutMs: schedulerKnobs.timeoutMs.default(1000),
});

/** RTU frames carried over TCP by an RS-485 serial device server: one bus behind one socket. */
export const RtuOverTcpLine = z.strictObject({
  id: id('line'),
  type: z.literal('rtu-over-tcp'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(4001),
  interFrameGapMs: z.number().min(0).max(1000).default(2),
  ...schedulerKnobs,
  timeoutMs: schedulerKnobs.timeoutMs.default(1000),
});

/** A microcontroller running StandardFirmata (see firmata-config.ts); its path follows the RTU rule. */
export const FirmataLine = firmataLineSchema({ lineId: id('line'), deviceId: id('device'), serialPath: RtuLine.shape.path });
/** A Firmata line without its id: the registry's line record, whose id is in the request path. */
export const FirmataLineBody = firmataLineBodySchema({ lineId: id('line'), deviceId: id('device'), serialPath: RtuLine.shape.path });

/** The Modbus lines: what the line scheduler and the Modbus transports take. */
export const ModbusLineConfig = z.discriminatedUnion('type', [RtuLine, TcpLine, RtuOverTcpLine]);
export type ModbusLineConfig = z.infer<typeof ModbusLineConfig>;
export const LineConfig = z.discriminatedUnion('type', [RtuLine, TcpLine, RtuOverTcpLine, FirmataLine]);
export type LineConfig = z.infer<typeof LineConfig>;
export type FirmataLineConfig = z.infer<typeof FirmataLine>;
export type RtuLineConfig = z.infer<typeof RtuLine>;
export type TcpLineConfig = z.infer<typeof TcpLine>;
export type RtuOverTcpLineConfig = z.infer<typeof RtuOverTcpLine>;

const BrokerUrl = z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'expected a mqtt://, mqtts://, ws:// or wss:// URL');

/**
 * The default backoff cap: how long a gateway may wait to reconnect once the broker is back, and
 * the window over which a fleet's reconnects spread (full jitter: uniform over [0, cap) once the
 * ceiling is reached). Chosen from the fleet a broker must absorb, 1,000 gateways: at 15 s they
 * arrive at about 67 connects/s on average. The bench's reconnect storm (`--only storm`) saw
 * Mosquitto with dynamic security take all 1,000 back within 15 s, no attempt failing after its
 * return, at most about 200 connects in one second, leaving room for TLS handshakes and the
 * backlog each gateway drains right after its connect. 60 s made alarms wait up to a minute (43 s was seen) for no gain at that size;
 * a fleet of 10,000 on one broker should set about 60 s again.
 */
export const RECONNECT_MAX_MS_DEFAULT = 15_000;

export const ForwardingConfig = z.strictObject({
  /** mqtt://, mqtts://, ws:// or wss:// URL of the broker (the first one tried). */
  brokerUrl: BrokerUrl,
  /**
   * Further nodes of the same broker cluster (one identity, one ACL). The agent tries brokerUrl
   * first; every lost connection or failed attempt moves on to the next URL, round the list,
   * after the usual jittered backoff. brokerUrl need not be repeated here.
   */
  brokerUrls: z.array(BrokerUrl).min(1).max(16).optional(),
  /**
   * MQTT protocol: 5 (default) or 4 (3.1.1). A broker that refuses 5 (aedes, old brokers) is
   * retried with 3.1.1 automatically; the sequence numbers in the payload make either safe.
   */
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
  /** Defaults to the gateway id. */
  clientId: z.string().min(1).max(128).optional(),
  /**
   * MQTT clean session. false on a RabbitMQ cluster: its subscription queue is then a replicated
   * quorum queue that survives the death of a node (a clean session's queue lives on one node,
   * and while that node is down the gateway cannot subscribe on another).
   */
  cleanSession: z.boolean().default(true),
  username: z.string().optional(),
  /** Prefer passwordFile: a file readable only by the agent. */
  password: z.string().optional(),
  passwordFile: z.string().optional(),
  tls: z
    .strictObject({
      caFile: z.string().optional(),
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  topicPrefix: z.string().regex(/^[^#+\s]+[^/#+\s]$/, 'expected a topic prefix without wildcards, spaces or a trailing "/"').default(DEFAULT_TOPIC_PREFIX),
  /** Readings per telemetry message. */
  maxBatchReadings: z.int().min(1).max(10_000).default(500),
  /** Messages published and not yet acknowledged (PUBACK) at once. */
  inflightWindow: z.int().min(1).max(1000).default(16),
  keepaliveSec: z.int().min(5).max(3600).default(30),
  /** Reconnect with capped exponential backoff and full jitter. */
  reconnectMinMs: z.int().min(100).max(600_000).default(1000),
  reconnectMaxMs: z.int().min(1000).max(3_600_000).default(RECONNECT_MAX_MS_DEFAULT),
  /** How often the retained status (backlog, failing devices) is refreshed. */
  statusIntervalMs: z.int().min(1000).max(3_600_000).default(30_000),
});
export type ForwardingConfig = z.infer<typeof ForwardingConfig>;

export const BufferConfig = z.strictObject({
  /** SQLite file, inside the state directory (relative paths are taken from it). */
  path: StateFilePath.default('outbox.db'),
  /** Readings and events kept at most; past it the overflow policy applies. */
  maxRows: z.int().min(100).max(100_000_000).default(2_000_000),
  /** Payload bytes kept at most (the file is somewhat larger). */
  maxBytes: z.int().min(65_536).default(512 * 1024 * 1024),
  /** Which telemetry goes when the buffer is full. Events and alarms are kept over telemetry. */
  telemetryOverflow: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
  /** Readings are committed (fsync) in groups at most this far apart: what a power cut can lose. */
  commitIntervalMs: z.int().min(1).max(10_000).default(20),
});
export type BufferConfig = z.infer<typeof BufferConfig>;

export const HttpConfig = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.int().min(0).max(65535).default(9102),
});

export const GatewayConfig = z
  .strictObject({
    /** Configuration version; set by the registry, only goes up. */
    version: z.int().min(0).default(0),
    gateway: z.strictObject({
      id: GatewayId,
      name: z.string().optional(),
      site: z.string().optional(),
    }),
    lines: z.array(LineConfig).default([]),
    forwarding: ForwardingConfig,
    buffer: BufferConfig.default(BufferConfig.parse({})),
    http: HttpConfig.default(HttpConfig.parse({})),
    /** Extra device profiles, inline. */
    profiles: z.array(DeviceProfile).default([]),
    /** Directories of extra profile files (*.json, *.yaml). */
    profileDirs: z.array(z.string()).default([]),
    /** Over-the-air configuration: how long a new configuration must stay healthy before it is committed. */
    ota: z.strictObject({ healthWindowMs: z.int().min(1000).max(3_600_000).default(60_000) }).default({ healthWindowMs: 60_000 }),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).default({ level: 'info' }),
    /** ONVIF cameras probed by this gateway (see camera-config.ts). */
    cameras: CamerasConfig.default(() => CamerasConfig.parse({})),
    /** Rules evaluated on the gateway: flood warning, air-quality index, lighting clock (see rules-config.ts). */
    rules: RulesConfig.optional(),
  })
  .superRefine((cfg, ctx) => {
    const lineIds = new Map<string, number>();
    const deviceIds = new Map<string, string>();
    cfg.lines.forEach((line, li) => {
      const prev = lineIds.get(line.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['lines', li, 'id'], message: `duplicate line id "${line.id}" (also lines[${prev}])` });
      else lineIds.set(line.id, li);
      line.devices.forEach((dev, di) => {
        const at = `lines[${li}].devices[${di}]`;
        const prevDev = deviceIds.get(dev.id);
        if (prevDev !== undefined) ctx.addIssue({ code: 'custom', path: ['lines', li, 'devices', di, 'id'], message: `duplicate device id "${dev.id}" (also ${prevDev})` });
        else deviceIds.set(dev.id, at);
        if ('unitId' in dev && dev.unitId !== undefined && line.type !== 'tcp' && (dev.unitId < 1 || dev.unitId > 247)) {
          ctx.addIssue({ code: 'custom', path: ['lines', li, 'devices', di, 'unitId'], message: 'expected 1..247 on a serial bus' });
        }
      });
    });
    const profileIds = new Map<string, number>();
    cfg.profiles.forEach((p, i) => {
      if (profileIds.has(p.id)) ctx.addIssue({ code: 'custom', path: ['profiles', i, 'id'], message: `duplicate profile id "${p.id}"` });
      profileIds.set(p.id, i);
    });
    checkCamerasConfig(cfg.cameras, new Set(deviceIds.keys()), ctx);
    const tls = cfg.forwarding.tls;
    if (tls && (tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['forwarding', 'tls', tls.certFile === undefined ? 'certFile' : 'keyFile'], message: 'certFile and keyFile go together (a client certificate needs its key)' });
    }
    if (cfg.forwarding.reconnectMaxMs < cfg.forwarding.reconnectMinMs) {
      ctx.addIssue({ code: 'custom', path: ['forwarding', 'reconnectMaxMs'], message: 'must not be less than reconnectMinMs' });
    }
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;
