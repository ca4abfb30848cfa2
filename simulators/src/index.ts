/**
 * Simulated Modbus field devices for tests, the demo and the `cityedge-sim` CLI.
 *
 * Why our own Modbus server and not modbus-serial's ServerTCP/ServerSerial: fault injection
 * needs control of the wire (bad CRCs, garbage, truncated frames, silence, slow or wrong-unit
 * replies), and those servers add latency of their own (ServerTCP about 1 ms per request,
 * ServerSerial waits 30 ms per frame). So this package has a small, strict Modbus server:
 * CRC-16, PDU serving against a sparse register bank, MBAP and RTU framing, and endpoints that
 * host several devices by unit id.
 */
export { startSimulation, parseSimulationSpec, type Simulation, type SimulationOptions } from './simulation.js';
export { SimulationSpec, EndpointSpec, DeviceSpec, type SimulationSpecInput } from './spec.js';
export { SimError, type SimErrorCode } from './errors.js';
export { FaultSpec, FaultObject, FAULT_MODES, faultFromString, type Fault, type FaultInput, type FaultMode } from './faults.js';
export type { Clock } from './sim-clock.js';
export type { EndpointInfo, Transport } from './endpoints/endpoint.js';
export { SimDevice, type Snapshot } from './devices/sim-device.js';
export { MODEL_NAMES, defaultUnitId, type ModelName } from './devices/models.js';
export { VegapulsC21 } from './devices/vegapuls-c21.js';
export { RiverModel, riverOptions, type RiverOptions } from './devices/river.js';
export { createRandom } from './random.js';
export { GeoluxLx80 } from './devices/geolux-lx80.js';
export { PressureLevel } from './devices/pressure-level.js';
export { VaisalaAqt530, type PollutionEpisode } from './devices/vaisala-aqt530.js';
export { Sht20 } from './devices/sht20.js';
export { IntesisDali, type BallastState, type PowerSource } from './devices/intesis-dali.js';
export { EastronSdm120 } from './devices/eastron-sdm120.js';
export { RelayIo } from './devices/relay-io.js';
export { crc16, withCrc, crcMatches } from './modbus/crc16.js';
export type { RegisterBank, Table } from './modbus/register-bank.js';
export { runCli, type CliIo } from './cli-run.js';
export { openPtyPair, socatAvailable, type PtyPair } from './pty-pair.js';
export {
  startCameraSimulation,
  parseCameraSimulationSpec,
  SimCamera,
  CameraSpec,
  CameraSimulationSpec,
  CameraFaultSpec,
  CAMERA_FAULT_MODES,
  cameraFaultFromString,
  type CameraSimulation,
  type CameraSimulationOptions,
  type CameraInfo,
  type CameraProfileInfo,
  type CameraSpecInput,
  type CameraSimulationSpecInput,
  type CameraFault,
  type CameraFaultInput,
  type CameraFaultMode,
  type CameraStats,
} from './camera/index.js';
export { SimFirmataBoard, standardFirmataHex, unoPin, type FirmataLink, type FirmataBoardInfo, type SimFirmataBoardOptions } from './firmata/firmata-board.js';
export { AvrUno, CPU_HZ, type AvrUnoOptions, type AvrUnoStats, type PinChange, type PinLevel } from './firmata/avr-uno.js';
