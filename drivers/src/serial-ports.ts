import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

export interface SerialPortInfo {
  path: string;
  /** Stable names for the same port (/dev/serial/by-id/..., /dev/serial/by-path/...): use these in configurations. */
  links: string[];
  /** The kernel driver (ftdi_sio, cp210x, ch341-uart, pl2303, cdc_acm, uart-pl011, sc16is7xx, serial8250...). */
  driver?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

/** Where to look; tests point these at a fake tree. */
export interface SerialPortRoots {
  sys: string;
  dev: string;
}

const DEFAULT_ROOTS: SerialPortRoots = { sys: '/sys', dev: '/dev' };

/**
 * The serial ports this machine has: every tty in /sys/class/tty backed by a device (USB
 * adapters, on-board UARTs, RS-485 HATs), with the udev links that stay stable across reboots
 * and re-plugging, and the USB descriptors when there are any. Read from sysfs directly:
 * serialport's list() spawns `udevadm`, and a machine without it crashes the process with an
 * unhandled spawn error.
 */
export async function listSerialPorts(roots: SerialPortRoots = DEFAULT_ROOTS): Promise<SerialPortInfo[]> {
  const classDir = join(roots.sys, 'class', 'tty');
  const names = await readdir(classDir).catch(() => [] as string[]);
  const links = await stableLinks(roots.dev);
  const ports: SerialPortInfo[] = [];
  for (const name of names) {
    const device = await realpath(join(classDir, name, 'device')).catch(() => undefined);
    if (!device) continue; // virtual terminals and pseudo-terminals have no device
    const driver = await readlink(join(device, 'driver')).then(basename, () => undefined);
    // The legacy 8250 ports every PC kernel creates: only those with a real UART behind them.
    if (driver === 'serial8250' && !(await hasUart(classDir, name))) continue;
    const path = join(roots.dev, name);
    ports.push({ path, links: links.get(path) ?? [], ...(driver && { driver }), ...(await usbDescriptors(device)) });
  }
  return ports.sort((a, b) => a.path.localeCompare(b.path));
}

async function hasUart(classDir: string, name: string): Promise<boolean> {
  const type = await readFile(join(classDir, name, 'type'), 'utf8').catch(() => '0');
  return Number(type.trim()) !== 0;
}

/** USB vendor, product and serial number of the adapter above a tty's device, when it is USB. */
async function usbDescriptors(device: string): Promise<Partial<SerialPortInfo>> {
  for (let dir = device, i = 0; i < 4 && dir !== '/'; i++, dir = resolve(dir, '..')) {
    const vendorId = await text(join(dir, 'idVendor'));
    if (!vendorId) continue;
    const [productId, manufacturer, product, serialNumber] = await Promise.all(['idProduct', 'manufacturer', 'product', 'serial'].map((f) => text(join(dir, f))));
    return { vendorId, ...(productId && { productId }), ...(manufacturer && { manufacturer }), ...(product && { product }), ...(serialNumber && { serialNumber }) };
  }
  return {};
}

async function text(path: string): Promise<string | undefined> {
  const t = await readFile(path, 'utf8').catch(() => undefined);
  return t?.trim() || undefined;
}

async function stableLinks(dev: string): Promise<Map<string, string[]>> {
  const links = new Map<string, string[]>();
  for (const kind of ['by-id', 'by-path']) {
    const dir = join(dev, 'serial', kind);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const link = join(dir, name);
      const target = await readlink(link).then((t) => resolve(dir, t)).catch(() => undefined);
      if (target) links.set(target, [...(links.get(target) ?? []), link]);
    }
  }
  return links;
}
