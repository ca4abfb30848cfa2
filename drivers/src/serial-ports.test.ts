import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSerialPorts } from './serial-ports.js';

/** A sysfs and /dev as a Raspberry Pi with a USB RS-485 adapter and an SC16IS752 HAT shows them. */
function fakeMachine(): { sys: string; dev: string } {
  const root = mkdtempSync(join(tmpdir(), 'serial-ports-'));
  const sys = join(root, 'sys');
  const dev = join(root, 'dev');
  const devices = join(sys, 'devices');
  const tty = join(sys, 'class', 'tty');
  mkdirSync(tty, { recursive: true });
  mkdirSync(join(dev, 'serial', 'by-id'), { recursive: true });
  const drivers = join(sys, 'bus', 'drivers');
  for (const d of ['ftdi_sio', 'sc16is7xx', 'serial8250']) mkdirSync(join(drivers, d), { recursive: true });
  const port = (name: string, deviceDir: string, driver: string, type?: string) => {
    mkdirSync(deviceDir, { recursive: true });
    symlinkSync(join(drivers, driver), join(deviceDir, 'driver'));
    mkdirSync(join(tty, name));
    symlinkSync(deviceDir, join(tty, name, 'device'));
    if (type !== undefined) writeFileSync(join(tty, name, 'type'), type);
  };
  // USB adapter: the descriptors sit two levels above the interface
  const usb = join(devices, 'usb1', '1-1');
  mkdirSync(usb, { recursive: true });
  for (const [f, v] of Object.entries({ idVendor: '0403', idProduct: '6001', manufacturer: 'FTDI', product: 'USB RS485', serial: 'A10K1XYZ' })) writeFileSync(join(usb, f), `${v}\n`);
  port('ttyUSB0', join(usb, '1-1:1.0', 'ttyUSB0'), 'ftdi_sio');
  symlinkSync('../../ttyUSB0', join(dev, 'serial', 'by-id', 'usb-FTDI_USB_RS485_A10K1XYZ-if00-port0'));
  port('ttySC0', join(devices, 'spi0', 'spi0.0'), 'sc16is7xx');
  port('ttyS0', join(devices, 'serial8250', 'real'), 'serial8250', '4');
  port('ttyS3', join(devices, 'serial8250', 'ghost'), 'serial8250', '0');
  mkdirSync(join(tty, 'tty1')); // a virtual terminal: no device
  return { sys, dev };
}

describe('listSerialPorts', () => {
  it('lists USB adapters with their descriptors and stable links, HAT UARTs, and real 8250 ports only', async () => {
    const m = fakeMachine();
    const ports = await listSerialPorts(m);
    expect(ports).toEqual([
      { path: join(m.dev, 'ttyS0'), links: [], driver: 'serial8250' },
      { path: join(m.dev, 'ttySC0'), links: [], driver: 'sc16is7xx' },
      {
        path: join(m.dev, 'ttyUSB0'),
        links: [join(m.dev, 'serial', 'by-id', 'usb-FTDI_USB_RS485_A10K1XYZ-if00-port0')],
        driver: 'ftdi_sio',
        vendorId: '0403',
        productId: '6001',
        manufacturer: 'FTDI',
        product: 'USB RS485',
        serialNumber: 'A10K1XYZ',
      },
    ]);
  });

  it('reads this machine without throwing', async () => {
    expect(Array.isArray(await listSerialPorts())).toBe(true);
  });
});
