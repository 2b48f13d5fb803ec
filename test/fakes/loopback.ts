// What every fake server here shares: listening on loopback, and closing even while stalled.
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listenLoopback(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: http.Server, timers: Set<NodeJS.Timeout>): Promise<void> {
  for (const t of timers) clearTimeout(t);
  timers.clear();
  const closed = once(server, 'close');
  server.close();
  // Stalled responses never end by themselves; without this, close() would wait for clients.
  server.closeAllConnections();
  await closed;
}
