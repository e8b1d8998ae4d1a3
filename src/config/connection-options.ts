import type { ConnectionOptions } from '../http/http-destination-options';
import { ConfigError } from './config-error';
import type { CONNECTION_SETTINGS } from './connection-settings';
import { checkHeaders } from './connection-rules';
import type { SettingReader } from './setting-reader';
import { envVarName } from './setting-spec';

type ConnectionReader = SettingReader<typeof CONNECTION_SETTINGS>;

/**
 * A scope's connection settings as the transport takes them. `extraHeaders`
 * are headers another setting adds (the tenant); they follow the same rules.
 * The rules that need the files read are checked by checkConnection.
 */
export function connectionOptions(reader: ConnectionReader, extraHeaders: ReadonlyArray<readonly [string, string]> = []): ConnectionOptions {
  const prefix = reader.name('header').replace(/\.header$/, '');
  const headerList = [...reader.list('header'), ...extraHeaders];
  checkHeaders(headerList, `${reader.name('header')}${reader.from('header')}`, prefix);
  const headers = Object.fromEntries(headerList);

  const username = reader.get('username');
  const passwordFile = reader.get('password-file');
  const password = reader.get('password');
  const passwordVar = envVarName(reader.name('password').slice(2));
  if ((passwordFile !== undefined || password !== undefined) && username === undefined) {
    throw new ConfigError(`${reader.name('password-file')} (or ${passwordVar}) is set without ${reader.name('username')}`);
  }
  if (username !== undefined && passwordFile === undefined && password === undefined) {
    throw new ConfigError(`${reader.name('username')} is set without a password: set ${reader.name('password-file')} (or ${passwordVar})`);
  }
  if (passwordFile !== undefined && password !== undefined) {
    throw new ConfigError(`both ${reader.name('password-file')} and ${passwordVar} are set: use one`);
  }
  const bearerTokenFile = reader.get('bearer-token-file');
  const bearerToken = reader.get('bearer-token');
  const caFile = reader.get('tls.ca-file');
  const certFile = reader.get('tls.cert-file');
  const keyFile = reader.get('tls.key-file');
  const serverName = reader.get('tls.server-name');
  const proxyUrl = reader.get('proxy-url');
  return {
    ...(username !== undefined ? { basicAuth: { username, ...(passwordFile !== undefined ? { passwordFile } : { password: password! }) } } : {}),
    ...(bearerTokenFile !== undefined ? { bearerTokenFile } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    headers,
    tls: {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(certFile !== undefined ? { certFile } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
      ...(serverName !== undefined ? { serverName } : {}),
      insecureSkipVerify: reader.require('tls.insecure-skip-verify'),
    },
    ...(proxyUrl !== undefined ? { proxyUrl } : {}),
  };
}
