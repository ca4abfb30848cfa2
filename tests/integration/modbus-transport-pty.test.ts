import { join } from 'node:path';
import { LineConfig } from '@cityedge/contract';
import { createTransport } from '@cityedge/drivers';
import { openPtyPair, startSimulation } from '@cityedge/simulators';
import { quiet, tempDir } from '../support/fixtures.js';
import { modbusTransportSuite, SUITE_DEVICES } from '../support/modbus-transport-suite.js';

/** The transport contract over a real serial line: socat joins two pseudo-terminals at 9600 8N1. */
modbusTransportSuite('RTU over a pseudo-terminal (socat, 9600 8N1)', async () => {
  const dir = tempDir('cityedge-pty-suite-');
  const pty = await openPtyPair(join(dir, 'devices'), join(dir, 'gateway'));
  const sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'serial', path: pty.devicePath, baudRate: 9600, devices: SUITE_DEVICES }] }, { logger: quiet });
  const transport = createTransport(LineConfig.parse({ id: 'bus', type: 'rtu', path: pty.hostPath, baudRate: 9600 }));
  return {
    sim,
    transport,
    timeoutMs: 400,
    close: async () => {
      await transport.close();
      await sim.stop();
      await pty.close();
    },
  };
});
