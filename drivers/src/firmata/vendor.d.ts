/**
 * The parts of firmata-io 2.3 and johnny-five 2.1 the board transport uses (neither ships
 * typings). Both are CommonJS.
 */
declare module 'firmata-io' {
  import type { EventEmitter } from 'node:events';

  export interface FirmataPin {
    supportedModes: number[];
    mode?: number;
    value: number;
    report: number;
    analogChannel: number;
    state?: number;
  }

  export interface FirmataTransport extends EventEmitter {
    write(data: Buffer, callback?: (err?: Error | null) => void): unknown;
  }

  export interface FirmataOptions {
    reportVersionTimeout?: number;
    samplingInterval?: number;
    skipCapabilities?: boolean;
  }

  export class Firmata extends EventEmitter {
    constructor(transport: FirmataTransport, options?: FirmataOptions);
    readonly MODES: { INPUT: 0; OUTPUT: 1; ANALOG: 2; PWM: 3; SERVO: 4; PULLUP: 11 } & Record<string, number>;
    isReady: boolean;
    versionReceived: boolean;
    transport: FirmataTransport;
    pins: FirmataPin[];
    ports: number[];
    analogPins: number[];
    version: { major?: number; minor?: number };
    firmware: { name?: string; version?: { major: number; minor: number } };
    pinMode(pin: number, mode: number): void;
    digitalWrite(pin: number, value: 0 | 1): void;
    reportDigitalPin(pin: number, value: 0 | 1): void;
    reportAnalogPin(channel: number, value: 0 | 1): void;
    queryPinState(pin: number, callback: () => void): void;
    reportVersion(callback: () => void): void;
    queryFirmware(callback: () => void): void;
  }
  const FirmataIo: { Firmata: typeof Firmata };
  export default FirmataIo;
}

declare module 'johnny-five' {
  import type { EventEmitter } from 'node:events';
  import type { Firmata } from 'firmata-io';

  export interface BoardOptions {
    io: Firmata;
    id?: string;
    repl?: boolean;
    debug?: boolean;
    sigint?: boolean;
    timeout?: number;
  }

  export class Board extends EventEmitter {
    constructor(options: BoardOptions);
    readonly io: Firmata;
    isReady: boolean;
    timer: NodeJS.Timeout | null;
    /** Every Board ever made (johnny-five's module-level registry). */
    static readonly cache: Board[];
  }
  const five: { Board: typeof Board };
  export default five;
}
