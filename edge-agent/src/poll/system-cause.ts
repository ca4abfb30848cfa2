/**
 * The errno name of why a port could not be opened. Sockets carry it as `code`; serialport's
 * native binding gives only the C library's text ("No such file or directory, cannot open
 * /dev/ttyUSB0"), so the common texts are mapped back to their names.
 */
const STRERROR: ReadonlyArray<[RegExp, string]> = [
  [/no such file or directory/i, 'ENOENT'],
  [/permission denied/i, 'EACCES'],
  [/device or resource busy/i, 'EBUSY'],
  [/inappropriate ioctl/i, 'ENOTTY'],
  [/no such device or address/i, 'ENXIO'],
  [/no such device/i, 'ENODEV'],
  [/input\/output error/i, 'EIO'],
  [/is a directory/i, 'EISDIR'],
];

export function systemCause(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') for (const [re, name] of STRERROR) if (re.test(message)) return name;
  }
  return undefined;
}
