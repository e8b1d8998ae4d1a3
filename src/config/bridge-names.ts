import { hostname } from 'node:os';

/** The default name (instance label) of a bridge: host:port, or this machine's name for a local bridge (with the port when several local bridges are polled). */
export function defaultBridgeName(url: string, severalLocal: boolean): string {
  const parsed = new URL(url);
  if (!isLocalHost(parsed.hostname)) return parsed.host;
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return severalLocal ? `${hostname()}:${port}` : hostname();
}

export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}
