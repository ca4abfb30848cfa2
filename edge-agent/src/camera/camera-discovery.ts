import type { Logger } from 'pino';
import { CameraEventType, cameraUsesOnvif, type CameraConfig, type CameraDiscoveredData, type CameraDiscoveryConfig, type GatewayEvent } from '@cityedge/contract';
import { stripUriSecrets, wsDiscover, type DiscoveryResult, type WsDiscoveryOptions } from '@cityedge/drivers/camera';

export interface CameraDiscoveryOptions {
  config: CameraDiscoveryConfig;
  /** Configured cameras: a device answering at one of their addresses is not reported. */
  cameras: readonly CameraConfig[];
  appendEvent: (event: GatewayEvent) => void;
  logger: Logger;
  now?: () => number;
  /** Default wsDiscover; tests may point the multicast group elsewhere through it. */
  discover?: (opts: WsDiscoveryOptions) => Promise<DiscoveryResult>;
  /** Delay of the first run after start; default 5 s. */
  firstRunDelayMs?: number;
}

/** Devices remembered as already reported; beyond it the oldest are forgotten (and may be reported again). */
const MAX_REMEMBERED = 5000;

/**
 * WS-Discovery on a slow interval: probes the configured interfaces and unicast targets and
 * reports each device that is not a configured camera as a `camera.discovered` event, once per
 * agent run (again if its addresses change). Discovered devices are untrusted: the registry
 * shows them for a technician to accept, the agent never probes them on its own.
 */
export class CameraDiscovery {
  private readonly opts: CameraDiscoveryOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly reported = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly known: Set<string>;
  private readonly knownHosts: Set<string>;

  constructor(opts: CameraDiscoveryOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    const hostOf = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, '');
    this.known = new Set(opts.cameras.filter((c) => cameraUsesOnvif(c) && c.host !== undefined).map((c) => `${hostOf(c.host ?? '')}:${c.port}`));
    // A camera probed without ONVIF may still answer discovery (ONVIF switched off in our config, not on the camera): its host is known.
    this.knownHosts = new Set(
      opts.cameras
        .filter((c) => !cameraUsesOnvif(c))
        .flatMap((c) => [c.host, urlHost(c.rtspUrl), urlHost(c.snapshotUrl)])
        .filter((h): h is string => h !== undefined)
        .map(hostOf),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(this.opts.firstRunDelayMs ?? 5000);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  /** One discovery round now; resolves with the devices reported this time. */
  async runOnce(): Promise<CameraDiscoveredData[]> {
    const { config } = this.opts;
    const discover = this.opts.discover ?? wsDiscover;
    const result = await discover({
      timeoutMs: config.timeoutMs,
      interfaces: config.interfaces,
      targets: config.targets.map((t) => {
        const m = /^(.*?)(?::(\d+))?$/.exec(t);
        const host = (m?.[1] ?? t).replace(/^\[|\]$/g, '');
        return m?.[2] ? { host, port: Number(m[2]) } : { host };
      }),
    });
    for (const p of result.problems) this.log.warn({ problem: p }, 'camera discovery problem');
    const out: CameraDiscoveredData[] = [];
    for (const d of result.devices) {
      const xaddrs = d.xaddrs.map((x) => stripUriSecrets(x));
      if (xaddrs.some((x) => this.isKnown(x))) continue;
      const key = xaddrs.join(' ');
      if (this.reported.get(d.epr) === key) continue;
      this.reported.delete(d.epr);
      this.reported.set(d.epr, key);
      if (this.reported.size > MAX_REMEMBERED) this.reported.delete(this.reported.keys().next().value as string);
      const data: CameraDiscoveredData = {
        epr: d.epr,
        xaddrs,
        scopes: d.scopes.slice(0, 16).map((s) => s.slice(0, 256)),
        types: d.types.slice(0, 8),
        from: d.from,
        ...(d.name !== undefined && { name: d.name }),
        ...(d.hardware !== undefined && { hardware: d.hardware }),
        ...(d.location !== undefined && { location: d.location }),
      };
      out.push(data);
      this.opts.appendEvent({
        type: CameraEventType.discovered,
        ts: this.now(),
        severity: 'info',
        message: `discovered an ONVIF device${data.name ? ` "${data.name}"` : ''} at ${data.from}; not trusted until accepted in the registry`,
        data: { ...data },
      });
    }
    this.log.info({ found: result.devices.length, reported: out.length, dropped: result.dropped }, 'camera discovery done');
    return out;
  }

  private isKnown(xaddr: string): boolean {
    try {
      const u = new URL(xaddr);
      const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      return this.knownHosts.has(host) || this.known.has(`${host}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`);
    } catch {
      return false;
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, 'camera discovery failed'))
        .finally(() => {
          this.inFlight = undefined;
          this.schedule(this.opts.config.intervalMs);
        });
    }, delayMs);
  }
}

function urlHost(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
