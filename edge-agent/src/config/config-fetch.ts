import type { Logger } from 'pino';
import type { Identity } from './identity.js';

export interface ConfigFetcherOptions {
  identity: Pick<Identity, 'gatewayId' | 'registryUrl' | 'mqtt'>;
  logger: Logger;
  /** Hands a fetched signed configuration to the configuration manager (as if it came over MQTT). */
  receive: (payload: Buffer) => void;
  /** Default 10 s. */
  timeoutMs?: number;
}

export type FetchOutcome = 'delivered' | 'unchanged' | 'none' | 'failed';

/**
 * Fetches the gateway's newest signed configuration over HTTP(S) from the registry
 * (`GET /v1/gateways/{id}/config`, Basic auth with the MQTT identity, If-None-Match with the last
 * ETag), each time the broker connection comes up. A broker cluster whose retained messages are
 * node-local (RabbitMQ) may not hold the retained configuration on the node the gateway reached;
 * this path delivers it anyway. The document is verified by the configuration manager exactly as
 * one from MQTT, and a version already running is ignored there, so both paths may deliver it.
 */
export class ConfigFetcher {
  private etag: string | undefined;
  private inFlight: Promise<FetchOutcome> | undefined;

  constructor(private readonly opts: ConfigFetcherOptions) {}

  /** One fetch at a time; a call during a fetch shares it. Never rejects. */
  fetch(): Promise<FetchOutcome> {
    this.inFlight ??= this.fetchOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchOnce(): Promise<FetchOutcome> {
    const { identity, logger } = this.opts;
    const url = new URL(`v1/gateways/${encodeURIComponent(identity.gatewayId)}/config`, identity.registryUrl.replace(/\/*$/, '/')).toString();
    const auth = Buffer.from(`${identity.mqtt.username}:${identity.mqtt.password}`).toString('base64');
    try {
      const res = await fetch(url, {
        headers: { authorization: `Basic ${auth}`, ...(this.etag && { 'if-none-match': this.etag }) },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      if (res.status === 304) return 'unchanged';
      if (res.status === 404) return 'none';
      if (!res.ok) {
        logger.warn({ status: res.status }, 'configuration fetch refused by the registry');
        return 'failed';
      }
      const body = Buffer.from(await res.arrayBuffer());
      this.etag = res.headers.get('etag') ?? undefined;
      this.opts.receive(body);
      return 'delivered';
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'configuration fetch failed; the retained MQTT message remains the path');
      return 'failed';
    }
  }
}
