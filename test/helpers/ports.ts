import http from 'node:http';
import { listenOnLoopback } from './close-server';

/** A loopback port with nothing listening on it. */
export async function unusedPort(): Promise<number> {
  const server = http.createServer();
  const port = await listenOnLoopback(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
