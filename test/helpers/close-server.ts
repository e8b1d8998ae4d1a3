import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Closes a test server at once, open keep-alive connections included. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts a test server on 127.0.0.1 at `port` (0: any free one); resolves with its port, rejects if it cannot listen. */
export function listenOnLoopback(server: http.Server, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
