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
export { decodeBlock, decodePoints, decodeRegisters, encodeValue, reorderWords, valueError, type BlockData, type PointValue, type ValueErrorCode } from './point-codec.js';
export { scaleValue, unscaleValue, isValidValue, clampDecimals, shortestFloat32, MAX_DECIMALS } from './value-scaling.js';

// Cameras: '@cityedge/drivers/camera' (kept apart so that the agent loads them only for cameras)

// Serial ports
export { listSerialPorts, type SerialPortInfo } from './serial-ports.js';

// Firmata boards (johnny-five + firmata-io): serial or network
export * from './firmata/board-transport.js';
export { FirmataBoardTransport, describeFirmataEndpoint, type FirmataEndpoint, type FirmataBoardTransportOptions } from './firmata/firmata-board-transport.js';
export { resolvePin, pinSyntaxError, type PinMap, type ResolvedPin } from './firmata/pin-ref.js';
export { createBoardTransport, firmataEndpointOf, FIRMATA_TCP_PORT } from './firmata/create-board-transport.js';
