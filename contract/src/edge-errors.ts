/**
 * The agent's error catalogue: every code the gateway software (agent and drivers) can give, with
 * where a person meets it. Beside the registry's REG_* catalogue (device-registry/src/errors.ts);
 * README.md lists the same codes, and a test keeps code, catalogue and README in step.
 *
 * - reading: the `err` of a reading published with `q: "bad"` (and `v: null`);
 * - command: the `error.code` of a command's answer;
 * - camera: why a camera probe failed (in camera events and logs);
 * - startup: why the agent did not start or enroll (exit 2 or 1, with the path at fault);
 * - storage: the outbox (logs, events, /healthz).
 */
export type EdgeErrorKind = 'reading' | 'command' | 'camera' | 'startup' | 'storage';

export const EDGE_ERRORS = {
  EDGE_MODBUS_TIMEOUT: { kind: 'reading', summary: 'No (complete) reply within the timeout.' },
  EDGE_MODBUS_CRC: { kind: 'reading', summary: 'A reply whose CRC did not match (RTU).' },
  EDGE_MODBUS_FRAME: { kind: 'reading', summary: 'A reply that is not a valid answer: wrong unit or function, wrong length, garbage, a Modbus TCP header that is not Modbus.' },
  EDGE_MODBUS_PORT: { kind: 'reading', summary: 'The serial port or socket cannot be opened or was closed.' },
  EDGE_MODBUS_EXCEPTION: { kind: 'reading', summary: 'The device answered with a Modbus exception; readings carry it as EDGE_MODBUS_EXCEPTION_0X with the exception code X.' },
  EDGE_MODBUS_ARGUMENT: { kind: 'command', summary: 'A Modbus request the transport refuses to send (address, count or value out of its range).' },
  EDGE_VALUE_INVALID: { kind: 'reading', summary: 'The value read is NaN or infinite.' },
  EDGE_VALUE_RANGE: { kind: 'reading', summary: "The value read is outside the point's valid range (profile or site override): published bad, never as good garbage." },
  EDGE_VALUE_TYPE: { kind: 'command', summary: 'A value of the wrong kind for the point (a string for a number, a number for a coil).' },
  EDGE_VALUE_OUT_OF_RANGE: { kind: 'command', summary: "A value to write that is outside the point's valid range or does not fit its type once scaled." },
  EDGE_POINT_INVALID: { kind: 'startup', summary: 'A point the codec cannot handle (spans past address 65535 or more than one request can read).' },
  EDGE_FIRMATA_PORT: { kind: 'reading', summary: 'The Firmata board is not connected (port or socket closed, board unplugged).' },
  EDGE_FIRMATA_TIMEOUT: { kind: 'reading', summary: 'The Firmata board did not answer (handshake or round trip), or has not reported the input yet.' },
  EDGE_FIRMATA_PIN: { kind: 'reading', summary: 'The Firmata board cannot use the pin as configured.' },
  EDGE_RULE_INPUT_BAD: { kind: 'reading', summary: "A derived reading (flood stage, expression) whose input reading is bad: it carries the input's code when it has one." },
  EDGE_RULE_EXPR_NOT_FINITE: { kind: 'reading', summary: 'A derived reading whose expression gave NaN or an infinite value.' },
  EDGE_RULE_AQI_COVERAGE: { kind: 'reading', summary: 'An air-quality index without enough hours or pollutants to be computed (the coverage rules).' },
  EDGE_RULE_WRITE_FAILED: { kind: 'command', summary: "A rule's write to an output failed without a code of its own (the output.fault alarm carries it)." },
  EDGE_CMD_MALFORMED: { kind: 'command', summary: 'The command is not a command: bad JSON shape, unknown name.' },
  EDGE_CMD_WRONG_GATEWAY: { kind: 'command', summary: 'The command is for another gateway (never answered on this one).' },
  EDGE_CMD_UNTRUSTED: { kind: 'command', summary: "The command's signature does not verify with the registry keys this gateway trusts." },
  EDGE_CMD_EXPIRED: { kind: 'command', summary: 'The command arrived after its expiry: refused, never executed late.' },
  EDGE_CMD_BAD_ARGS: { kind: 'command', summary: "The command's arguments do not fit its name (`message` names the argument)." },
  EDGE_CMD_UNKNOWN_TARGET: { kind: 'command', summary: 'No such device, point, line, camera, alarm or lighting group on this gateway.' },
  EDGE_CMD_NOT_WRITABLE: { kind: 'command', summary: 'The point exists but is not writable.' },
  EDGE_CMD_NOT_CONFIRMED: { kind: 'command', summary: 'A write went out but the value read back differs (or could not be read).' },
  EDGE_CMD_UNSUPPORTED: { kind: 'command', summary: 'This agent cannot do it here (e.g. restart without a supervisor).' },
  EDGE_CMD_FAILED: { kind: 'command', summary: 'The command failed for another reason (`message` says which); also a command the agent stopped while running.' },
  EDGE_CAMERA_TIMEOUT: { kind: 'camera', summary: "No (complete) answer within the call's timeout." },
  EDGE_CAMERA_CONNECT: { kind: 'camera', summary: 'Connection refused, reset or closed early; no route; unknown host.' },
  EDGE_CAMERA_UNAUTHORIZED: { kind: 'camera', summary: 'The camera rejected the credentials (SOAP NotAuthorized, HTTP/RTSP 401).' },
  EDGE_CAMERA_BAD_RESPONSE: { kind: 'camera', summary: 'A malformed or unexpected reply: broken XML, a SOAP fault, a bad RTSP or SDP message.' },
  EDGE_CAMERA_TOO_LARGE: { kind: 'camera', summary: 'A reply bigger than the configured cap.' },
  EDGE_CAMERA_STATUS: { kind: 'camera', summary: 'An HTTP or RTSP error status other than 401.' },
  EDGE_CAMERA_JPEG: { kind: 'camera', summary: 'A snapshot that is not a JPEG that decodes.' },
  EDGE_CAMERA_ARGUMENT: { kind: 'camera', summary: 'A camera setting the client cannot use (an unparsable URI).' },
  EDGE_CAMERA_CONFIG: { kind: 'camera', summary: "A camera's configuration cannot be used (an unreadable password file): that camera is misconfigured, the others go on." },
  EDGE_CONFIG_REJECTED: { kind: 'startup', summary: 'A delivered configuration was refused: malformed, for another gateway, untrusted signature, or not newer than what runs.' },
  EDGE_FORWARD_CONFIG: { kind: 'startup', summary: 'A file the forwarding configuration names (password, TLS) cannot be read.' },
  EDGE_ENROLL_UNREACHABLE: { kind: 'startup', summary: 'Enrollment: the registry cannot be reached (exit 1: try again).' },
  EDGE_ENROLL_REFUSED: { kind: 'startup', summary: 'Enrollment: the registry refused the code (used, expired, unknown).' },
  EDGE_ENROLL_EXISTS: { kind: 'startup', summary: 'Enrollment: this gateway is enrolled already (use --force to replace the identity).' },
  EDGE_ENROLL_BAD_ANSWER: { kind: 'startup', summary: "Enrollment: the registry's answer, or the stored identity file, is not an identity." },
  EDGE_OUTBOX_OPEN: { kind: 'storage', summary: 'The outbox file cannot be opened or created (permissions, missing directory, a newer schema).' },
  EDGE_OUTBOX_STORAGE: { kind: 'storage', summary: 'A write to the outbox failed (disk full, I/O error): new data waits in memory, counted, and nothing committed is lost.' },
} as const satisfies Record<string, { kind: EdgeErrorKind; summary: string }>;

export type EdgeErrorCode = keyof typeof EDGE_ERRORS;

/**
 * The base of the agent's coded errors (ModbusError, CameraError, FirmataError, OutboxError...):
 * a code from the catalogue and the cause, so logs (`{ err }`), events and command answers all
 * carry the same code.
 */
export class EdgeError<C extends EdgeErrorCode = EdgeErrorCode> extends Error {
  override name = 'EdgeError';
  constructor(
    readonly code: C,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The code of an error when it is one of ours, else undefined. */
export function edgeErrorCode(err: unknown): EdgeErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in EDGE_ERRORS ? (code as EdgeErrorCode) : undefined;
}
