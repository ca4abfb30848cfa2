import { EdgeError } from '@cityedge/contract';
/**
 * A board transport is one microcontroller running StandardFirmata, on a serial port (USB) or
 * behind a TCP socket (StandardFirmataEthernet, a ser2net-style serial server). Unlike Modbus
 * there is no request per reading: once a pin is set up the board reports it by itself (digital
 * inputs when they change, analog inputs every sampling interval), and the transport keeps the
 * latest value of each with the time it arrived. Writes and pin-state queries are requests.
 */
export type FirmataErrorCode =
  /** The port or socket could not be opened, or it closed (USB unplugged, socket dropped). */
  | 'EDGE_FIRMATA_PORT'
  /** The board did not answer: the handshake (version, firmware, capabilities) or a query. */
  | 'EDGE_FIRMATA_TIMEOUT'
  /** The board has no such pin or the pin cannot do the mode asked for. */
  | 'EDGE_FIRMATA_PIN';

export class FirmataError extends EdgeError<FirmataErrorCode> {
  override readonly name = 'FirmataError';

  constructor(code: FirmataErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** "D2" (digital pin 2), "A0" (analog input 0, wherever the board maps it) or a pin number. */
export type PinRef = string | number;

export type FirmataPinMode = 'digital-in' | 'analog-in' | 'digital-out' | 'pulse-counter';

export interface PinSetup {
  pin: PinRef;
  mode: FirmataPinMode;
  /** Inputs: the internal pull-up resistor (a switch to ground reads high when open). */
  pullUp?: boolean;
  /** Outputs: the level driven right after the mode is set (the board drives it low meanwhile). */
  initial?: boolean;
}

/** A value the board reported and when it arrived (host clock, ms). */
export interface Sample {
  value: number;
  at: number;
}

/** Edges seen on a pulse-counter pin since it was set up (this connection). */
export interface PulseCount {
  rising: number;
  falling: number;
  /** When counting started (the pin was set up), host clock ms. */
  since: number;
}

export interface BoardInfo {
  /** Firmware name and version as the board reports them, e.g. "StandardFirmata.ino 2.4". */
  firmware: string;
  /** Firmata protocol version, e.g. "2.4". */
  protocol: string;
  pinCount: number;
  analogPins: number[];
  /** Milliseconds from opening the port to the end of the capability query. */
  handshakeMs: number;
}

export interface BoardTransport {
  readonly kind: 'serial' | 'tcp';
  /** Where it talks, for logs: "/dev/ttyACM0 57600 (firmata)", "10.0.0.7:3030 (firmata)". */
  readonly description: string;
  readonly isOpen: boolean;
  /** What the board said in the handshake; undefined until open. */
  readonly info: BoardInfo | undefined;
  /**
   * Opens the port and completes the Firmata handshake (version, firmware, capabilities, analog
   * mapping). Rejects with EDGE_FIRMATA_PORT or EDGE_FIRMATA_TIMEOUT. Safe to call again after a
   * failure or a lost link; pins must be set up again after every open (the board may have reset).
   */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Sets a pin's mode and starts its reports; throws EDGE_FIRMATA_PIN (no such pin, mode not supported) or EDGE_FIRMATA_PORT. */
  setupPin(setup: PinSetup): void;
  /** The latest level (0/1) the board reported for a digital input or pulse-counter pin; undefined before its first report. */
  digitalValue(pin: PinRef): Sample | undefined;
  /** The latest raw reading (0..1023 on an Uno) of an analog input; undefined before its first report. */
  analogValue(pin: PinRef): Sample | undefined;
  pulseCount(pin: PinRef): PulseCount;
  /** Drives a digital output and reads the pin's state back from the board; resolves with that state. */
  digitalWrite(pin: PinRef, value: boolean, timeoutMs: number): Promise<boolean>;
  /** The board's own state of a pin (an output's last written level; an input's pull-up). */
  queryPinState(pin: PinRef, timeoutMs: number): Promise<number>;
  /** A round trip (REPORT_VERSION): proves the board still answers. Resolves with the time it took, ms. */
  ping(timeoutMs: number): Promise<number>;
  /** Called once when an open link is lost (not on close()). */
  onLost(listener: (err: FirmataError) => void): () => void;
}
