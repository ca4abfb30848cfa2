import * as z from 'zod';
import { CAMERA_FAULT_MODES, CameraSpec, type CameraFaultMode } from './camera/camera-spec.js';
import { CAMERA_SYNTAX, DEVICE_SYNTAX } from './cli-args.js';
import { MODEL_NAMES, MODELS } from './devices/models.js';
import { FAULT_MODES, type FaultMode } from './faults.js';
import { EndpointSpec } from './spec.js';

/**
 * The text of `cityedge-sim --help`. Model options, camera options, transports and fault modes
 * are read from the schemas the simulator checks its input with, so the help names exactly
 * what is accepted.
 */

/** How each fault mode is written on the command line; every mode of FAULT_MODES has one. */
const DEVICE_FAULT_FORMS: Record<FaultMode, string> = {
  'none': 'none                 no fault (clears one from the config)',
  'no-reply': 'no-reply             the request is lost: no answer',
  'crc-error': 'crc-error            RTU: bad CRC; TCP: malformed MBAP header',
  'exception': 'exception:CODE       a Modbus exception reply (CODE 1..11)',
  'slow': 'slow:MS              a correct reply after MS milliseconds',
  'garbage': 'garbage              3..16 random bytes instead of the reply',
  'truncated': 'truncated            only the first part of the reply',
  'wrong-unit': 'wrong-unit[:UNIT]    a reply from another unit id (default this + 1)',
};

const CAMERA_FAULT_FORMS: Record<CameraFaultMode, string> = {
  'wrong-password': 'wrong-password       the password was rotated: ONVIF, snapshot and RTSP refuse it',
  'clock-skew': 'clock-skew[:SEC]     the camera clock is off by SEC seconds (default 3600)',
  'soap-hang': 'soap-hang            SOAP requests are read and never answered',
  'malformed-xml': 'malformed-xml        SOAP answers are HTTP 200 with broken XML',
  'rtsp-down': 'rtsp-down            the RTSP port refuses connections; ONVIF still answers',
  'frozen-snapshot': 'frozen-snapshot      snapshot and video show the same frame forever',
  'reboot': 'reboot[:SEC]         every service down for SEC seconds (default 5), then back',
};

const TRANSPORT_HELP: Record<z.infer<typeof EndpointSpec>['transport'], string> = {
  'tcp': 'tcp:PORT             Modbus TCP server (PORT 0: any free port, printed at start)',
  'rtu-over-tcp': 'rtu-over-tcp:PORT    RTU frames over a TCP socket, as behind a serial device server',
  'serial': 'serial:PATH          RTU on a serial device or pty (e.g. one end of a socat pair);\n                       :baud=N (default 9600), :parity=none|even|odd',
};

const WIDTH = 100;

/** Names after a label, wrapped under the label's indent. */
function wrapList(label: string, names: readonly string[], indent = 17): string {
  const lines: string[] = [];
  let line = `  ${label}`.padEnd(indent);
  for (const [i, name] of names.entries()) {
    const word = i < names.length - 1 ? `${name},` : name;
    if (line.trim().length > label.length && line.length + 1 + word.length > WIDTH) {
      lines.push(line.trimEnd());
      line = ' '.repeat(indent);
    }
    line += line.endsWith(' ') ? word : ` ${word}`;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

/** `name`, or `name=a|b|c` for a choice: the values an option takes when it is not a number. */
function optionLabel(name: string, schema: z.ZodType): string {
  let t: z.ZodType = schema;
  while (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodPrefault) t = t.unwrap() as z.ZodType;
  if (t instanceof z.ZodEnum) return `${name}=${(t.options as string[]).join('|')}`;
  if (t instanceof z.ZodBoolean) return `${name}=true|false`;
  if (t instanceof z.ZodArray && t.element instanceof z.ZodObject) return `${name} (in --config)`;
  return name;
}

function optionLabels(schema: z.ZodType, skip: readonly string[] = []): string[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => optionLabel(k, v));
}

export function usage(): string {
  const models = MODEL_NAMES.map((m) => wrapList(m, optionLabels(MODELS[m].options), 19)).join('\n');
  return `Usage: cityedge-sim [--config sims.yaml] [--device SPEC]... [--camera SPEC]...
                    [--firmata-board SPEC]... [--fault ID=FAULT]... [options]

Simulated Modbus field devices, ONVIF/RTSP cameras and Firmata boards with fault injection, on
real sockets; prints where each listens and stops cleanly on SIGINT/SIGTERM.

Options:
  --config FILE      simulation spec, YAML or JSON (see simulators/examples/city-block.yaml):
                     endpoints (Modbus buses with their devices) and cameras
  --device SPEC      ${DEVICE_SYNTAX.replace('[:parity', '\n                     [:parity')}
                     e.g. river=vegapuls-c21@tcp:5020:unit=246; devices on the same
                     transport and port/path share one endpoint (one bus)
  --camera SPEC      ${CAMERA_SYNTAX}
                     e.g. gate:httpPort=8080:rtspPort=8554:username=admin:password=s3cret
  --firmata-board SPEC
                     an Arduino Uno running StandardFirmata in the AVR emulator:
                     ID@PATH (serial: one end of a socat pty pair) or ID@tcp:PORT
                     (a network board); its inputs go in the spec (firmataBoards)
  --fault ID=FAULT   a fault of a device (mode[:arg][@probability]) or of a camera (mode[:arg]),
                     e.g. river=no-reply, aq=exception:4, m=slow:800@0.2, gate=rtsp-down;
                     repeat --fault for several faults of one camera
  --host HOST        listen address for --device endpoints (default 127.0.0.1; cameras
                     always listen on 127.0.0.1)
  --time-scale N     simulated time runs N times faster (e.g. 240: a 24 h flood in 6 min)
  --seed N           seed of every random stream (default 1)
  --start ISO        simulated start time, e.g. 2020-10-17T06:00:00+07:00
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (default info, on stderr)
  -h, --help

Transports (--device MODEL@TRANSPORT:...):
${Object.values(TRANSPORT_HELP).map((t) => `  ${t}`).join('\n')}

Device models and their options (--device MODEL@...:option=value, or options: in --config;
a list is comma-separated, e.g. channels=0,1):
${models}

Device faults (--fault DEVICE=FAULT[@probability], probability 0..1, default 1):
${FAULT_MODES.map((m) => `  ${DEVICE_FAULT_FORMS[m]}`).join('\n')}

Camera options (--camera ID:option=value, or cameras: in --config; ports 0 = any free port):
${wrapList('', optionLabels(CameraSpec, ['id', 'fault']), 2)}

Camera faults (--fault CAMERA=FAULT, or fault: in --config):
${CAMERA_FAULT_MODES.map((m) => `  ${CAMERA_FAULT_FORMS[m]}`).join('\n')}
`;
}
