import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export const BROKER_FLAG = '--aedes-broker';

/**
 * The child side of `bench.js --aedes-broker <port>`: an aedes broker on 127.0.0.1 in a process
 * of its own, so it does not share an event loop with what is measured. Prints
 * `{"listening":<port>}` once bound and exits when its stdin closes (the parent ended or died).
 */
export async function runAedesBrokerChild(port: number): Promise<void> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as AddressInfo).port })}\n`);
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    for (const s of sockets) s.destroy();
    server.close();
    broker.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.stdin.on('end', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
  process.on('SIGTERM', exit);
  process.on('SIGINT', () => undefined); // the parent decides when the broker goes
}
