// Modbus access
export * from './modbus-transport.js';
export { ModbusArgumentError, LIMITS as MODBUS_LIMITS } from './modbus-args.js';
export {
  ModbusSerialTransport,
  describeEndpoint,
  type ModbusEndpoint,
  type ModbusSerialTransportOptions,
  type TransportLogger,
} from './modbus-serial-transport.js';
export { createTransport, endpointOf, type CreateTransportOptions } from './create-transport.js';

// Point codec and read planning
export { CodecError, type CodecErrorCode } from './codec-error.js';
export { planReads, registerCount, isBitTable, MAX_READ_BITS, MAX_READ_REGISTERS, type PlanOptions, type ReadBlock } from './read-plan.js';
export { decodeBlock, decodePoints, decodeRegisters, encodeValue, reorderWords, type BlockData, type PointValue } from './point-codec.js';
export { scaleValue, unscaleValue, isValidValue, clampDecimals, shortestFloat32, MAX_DECIMALS } from './value-scaling.js';
