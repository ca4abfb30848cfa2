import { FirmataError } from './board-transport.js';

/**
 * Every failure of the Firmata stack becomes a FirmataError here. What the libraries report:
 * - serialport 13: open errors ("Error: No such file or directory, cannot open /dev/ttyACM0",
 *   "Permission denied"), a 'close' event carrying an error with `disconnected: true` when the
 *   device disappears (USB unplugged, the pty's other end closed);
 * - net.Socket: ECONNREFUSED, ETIMEDOUT, ECONNRESET, EHOSTUNREACH on connect or later;
 * - firmata-io: no errors of its own; a board that does not answer just never emits "ready",
 *   and a query that is not answered never calls back (hence our timers);
 * - johnny-five: 'error' events (its connect timeout, io errors relayed after ready), which it
 *   would otherwise throw as unhandled 'error' events.
 */
export function portError(where: string, err: unknown): FirmataError {
  if (err instanceof FirmataError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return new FirmataError('EDGE_FIRMATA_PORT', `${where}: ${message.startsWith(code) ? message : code + message}`, { cause: err });
}

export function lostError(where: string, cause?: unknown): FirmataError {
  const why = cause instanceof Error ? ` (${cause.message})` : '';
  return new FirmataError('EDGE_FIRMATA_PORT', `${where}: connection lost${why}`, cause === undefined ? {} : { cause });
}

export function closedError(where: string): FirmataError {
  return new FirmataError('EDGE_FIRMATA_PORT', `${where} is not open`);
}

export function handshakeTimeout(where: string, ms: number, stage: string): FirmataError {
  return new FirmataError('EDGE_FIRMATA_TIMEOUT', `${where}: the board did not complete the Firmata handshake within ${ms} ms (${stage}); is StandardFirmata running at this baud rate?`);
}

export function queryTimeout(where: string, what: string, ms: number): FirmataError {
  return new FirmataError('EDGE_FIRMATA_TIMEOUT', `${where}: no answer to ${what} within ${ms} ms`);
}

export function pinError(where: string, message: string): FirmataError {
  return new FirmataError('EDGE_FIRMATA_PIN', `${where}: ${message}`);
}
