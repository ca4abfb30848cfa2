import type { FirmataLineConfig } from '@cityedge/contract';
import type { TransportLogger } from '../modbus-serial-transport.js';
import type { BoardTransport } from './board-transport.js';
import { FirmataBoardTransport, type FirmataEndpoint } from './firmata-board-transport.js';

/** StandardFirmataEthernet's default port. */
export const FIRMATA_TCP_PORT = 3030;

export function firmataEndpointOf(line: FirmataLineConfig): FirmataEndpoint {
  if (line.path !== undefined) return { kind: 'serial', path: line.path, baudRate: line.baudRate };
  return { kind: 'tcp', host: line.host ?? '', port: line.port ?? FIRMATA_TCP_PORT };
}

/** The transport of a Firmata line: a serial board or a network board. Nothing is opened yet. */
export function createBoardTransport(line: FirmataLineConfig, options: { logger?: TransportLogger; now?: () => number } = {}): BoardTransport {
  return new FirmataBoardTransport({
    endpoint: firmataEndpointOf(line),
    handshakeTimeoutMs: line.handshakeTimeoutMs,
    samplingIntervalMs: line.samplingIntervalMs,
    ...(options.logger && { logger: options.logger }),
    ...(options.now && { now: options.now }),
  });
}
