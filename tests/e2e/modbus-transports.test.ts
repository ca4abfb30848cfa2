import { LineConfig } from '@cityedge/contract';
import { createTransport } from '@cityedge/drivers';
import { startSimulation } from '@cityedge/simulators';
import { quiet } from '../support/fixtures.js';
import { modbusTransportSuite, SUITE_DEVICES } from '../support/modbus-transport-suite.js';

/** The transport contract over loopback TCP; the pseudo-terminal run is in the integration suite. */
for (const type of ['tcp', 'rtu-over-tcp'] as const) {
  modbusTransportSuite(type === 'tcp' ? 'Modbus TCP' : 'RTU over TCP (RS-485 device server)', async () => {
    const sim = await startSimulation({ endpoints: [{ id: 'bus', transport: type, devices: SUITE_DEVICES }] }, { logger: quiet });
    const transport = createTransport(LineConfig.parse({ id: 'bus', type, host: '127.0.0.1', port: sim.endpoint('bus').port }));
    return {
      sim,
      transport,
      timeoutMs: 300,
      close: async () => {
        await transport.close();
        await sim.stop();
      },
    };
  });
}
