import type { LineConfig } from '@cityedge/contract';
import { ModbusSerialTransport, type ModbusEndpoint, type TransportLogger } from './modbus-serial-transport.js';
import type { ModbusTransport } from './modbus-transport.js';

export interface CreateTransportOptions {
  logger?: TransportLogger;
  /** Longest wait for a connection or the serial port to open. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** RTU only: pause after a timeout so a late reply cannot answer the next request. Default: that timeout, at most 500 ms. */
  drainAfterTimeoutMs?: number;
}

export function endpointOf(line: LineConfig): ModbusEndpoint {
  switch (line.type) {
    case 'rtu':
      return { kind: 'rtu', path: line.path, baudRate: line.baudRate, parity: line.parity, dataBits: line.dataBits, stopBits: line.stopBits };
    case 'tcp':
      return { kind: 'tcp', host: line.host, port: line.port };
    case 'rtu-over-tcp':
      return { kind: 'rtu-over-tcp', host: line.host, port: line.port };
    case 'firmata':
      throw new Error(`line ${line.id} is a Firmata board, not a Modbus line (see firmata/firmata-board-transport.ts)`);
  }
}

/** The transport for a line: serial RTU, Modbus TCP or RTU over TCP. Nothing is opened yet. */
export function createTransport(line: LineConfig, options: CreateTransportOptions = {}): ModbusTransport {
  return new ModbusSerialTransport({
    endpoint: endpointOf(line),
    ...(options.logger && { logger: options.logger }),
    ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.drainAfterTimeoutMs !== undefined && { drainAfterTimeoutMs: options.drainAfterTimeoutMs }),
  });
}
