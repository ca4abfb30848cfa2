import type { Logger } from 'pino';
import type { Fault } from '../faults.js';
import type { SimDevice } from '../devices/sim-device.js';
import { exceptionPdu, isWriteRequest, servePdu } from '../modbus/pdu.js';
import { EXCEPTION } from '../modbus/register-bank.js';

export type ActiveFault = Exclude<Fault, { mode: 'none' }>;

export interface DeviceReply {
  /** Response PDU (data, echo or exception). */
  pdu: Buffer;
  /** The fault to show while sending it, if this request rolled one. */
  fault?: ActiveFault;
}

/**
 * One request to one device: rolls the device's fault dice, then serves the PDU. A device that
 * stays silent (no-reply) did not hear the request, and an injected exception rejects it: in
 * both cases nothing is applied. Other faults corrupt only the reply. A model that throws (a bug)
 * answers exception 04 rather than taking the endpoint down.
 */
export function serveDevice(device: SimDevice, pdu: Buffer, logger: Logger): DeviceReply | undefined {
  const fault = device.rollFault();
  const fc = pdu[0] ?? 0;
  if (fault?.mode === 'no-reply') {
    logger.debug({ device: device.id, fc }, 'fault: no reply');
    return undefined;
  }
  if (fault?.mode === 'exception') return { pdu: exceptionPdu(fc, fault.code), fault };
  let reply: Buffer;
  try {
    reply = servePdu(pdu, device.bank);
  } catch (err) {
    logger.error({ err, device: device.id, fc }, 'device model failed; answering exception 04');
    reply = exceptionPdu(fc, EXCEPTION.SERVER_DEVICE_FAILURE);
  }
  return fault ? { pdu: reply, fault } : { pdu: reply };
}

/** A broadcast (unit 0): every device applies a write, none answers. Reads are ignored. */
export function serveBroadcast(devices: readonly SimDevice[], pdu: Buffer, logger: Logger): void {
  if (!isWriteRequest(pdu)) return;
  for (const device of devices) {
    if (device.rollFault()?.mode === 'no-reply') continue;
    try {
      servePdu(pdu, device.bank);
    } catch (err) {
      logger.error({ err, device: device.id }, 'device model failed on a broadcast');
    }
  }
}
