import type { HttpDestinationOptions } from '../http/http-destination-options';
import { isReservedHeader } from '../http/reserved-headers';
import { redactUrl } from '../log/redact-url';
import type { PushgatewayOptions } from '../sinks/pushgateway/pushgateway-options';
import type { RemoteWriteOptions } from '../sinks/remote-write/remote-write-options';
import type { ConfigDocument } from './config-file';
import { ConfigError, invalidSetting } from './config-error';
import { connectionOptions } from './connection-options';
import type { CONNECTION_SETTINGS, PUSH_TARGET_SETTINGS } from './connection-settings';
import { fileListLayers } from './file-layers';
import { PUSHGATEWAY_SCOPE, PUSHGATEWAY_SETTINGS } from './pushgateway-settings';
import { REMOTE_WRITE_SCOPE, REMOTE_WRITE_SETTINGS } from './remote-write-settings';
import { envLayer, flagLayer, SettingReader, type Environment, type FlagValues, type Layer } from './setting-reader';
import type { Scope, SettingTable } from './setting-spec';

export interface Destinations {
  readonly remoteWrite: readonly RemoteWriteOptions[];
  readonly pushgateway: readonly PushgatewayOptions[];
}

/**
 * A scope's destinations: one per entry of the file's list, then the one
 * from flags and environment (flag first), switched on by its URL.
 */
function readers<T extends SettingTable>(scope: Scope<T>, flags: FlagValues, env: Environment, file: ConfigDocument | undefined): Array<SettingReader<T>> {
  const list = file?.content[scope.file.list!];
  const fromFile: Layer[] = file !== undefined && list !== undefined ? fileListLayers(scope, file, list) : [];
  const layers = fromFile.map((layer) => [layer]);
  const fromFlags = [flagLayer(scope, flags), envLayer(scope, env)];
  if (fromFlags.some((layer) => layer.size > 0)) {
    const reader = new SettingReader(scope, fromFlags);
    if (!reader.has('url')) {
      const first = fromFlags.find((layer) => layer.size > 0)!.values().next().value!;
      throw new ConfigError(`${first.origin} is set but --${scope.prefix}.url is not: set the URL to push to`);
    }
    layers.push(fromFlags);
  }
  return layers.map((stack) => new SettingReader(scope, stack));
}

function http(reader: SettingReader<typeof PUSH_TARGET_SETTINGS & typeof CONNECTION_SETTINGS>, extraHeaders: ReadonlyArray<readonly [string, string]> = []): HttpDestinationOptions {
  return { url: reader.require('url'), timeoutMs: reader.require('timeout'), ...connectionOptions(reader, extraHeaders) };
}

function remoteWriteOptions(reader: SettingReader<typeof REMOTE_WRITE_SETTINGS>): RemoteWriteOptions {
  const tenant = reader.get('tenant-id');
  const tenantHeader = reader.require('tenant-header');
  if (tenant === undefined && reader.has('tenant-header')) {
    throw new ConfigError(`--remote-write.tenant-header${reader.from('tenant-header')} is set but --remote-write.tenant-id is not: set the tenant to send in it`);
  }
  if (tenant !== undefined) {
    if (isReservedHeader(tenantHeader)) {
      throw invalidSetting('--remote-write.tenant-header', reader.origin('tenant-header'), tenantHeader, 'a header the agent does not set itself, such as X-Scope-OrgID or THANOS-TENANT');
    }
    const clash = reader.list('header').find(([name]) => name.toLowerCase() === tenantHeader.toLowerCase());
    if (clash !== undefined) {
      throw new ConfigError(
        `--remote-write.header${reader.from('header')} sets ${JSON.stringify(clash[0])}, the header that carries --remote-write.tenant-id${reader.from('tenant-id')}: set the tenant with --remote-write.tenant-id only`,
      );
    }
  }
  const options = http(reader, tenant !== undefined ? [[tenantHeader, tenant]] : []);
  const minBackoffMs = reader.require('min-backoff');
  const maxBackoffMs = reader.require('max-backoff');
  if (minBackoffMs > maxBackoffMs) throw new ConfigError(`--remote-write.min-backoff must not be longer than --remote-write.max-backoff`);
  return {
    name: reader.get('name') ?? new URL(options.url).host,
    ...optional('job', reader.get('job')),
    ...optional('instance', reader.get('instance')),
    http: options,
    // A file entry is named by its place (`remote_write[0].url`), a flag or variable by the flag.
    urlSetting: reader.origin('url').includes(' ') ? reader.origin('url') : reader.name('url'),
    maxSamplesPerRequest: reader.require('max-samples-per-request'),
    retryOn429: reader.require('retry-on-429'),
    minBackoffMs,
    maxBackoffMs,
    protobufMessage: reader.require('protobuf-message'),
    protobufMessageSetting: reader.origin('protobuf-message').includes(' ') ? reader.origin('protobuf-message') : reader.name('protobuf-message'),
    onAuthError: reader.require('on-auth-error'),
    credentialSettings: credentialSettings(reader, options.url),
  };
}

/** The credential settings given, where they were given (the flag, the variable, the file's place); the URL when it carries user:password@. */
function credentialSettings(reader: SettingReader<typeof REMOTE_WRITE_SETTINGS>, url: string): string[] {
  const keys = ['username', 'password-file', 'password', 'bearer-token-file', 'bearer-token'] as const;
  const named = keys.filter((key) => reader.has(key)).map((key) => reader.origin(key));
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '') named.push(reader.origin('url'));
  return named;
}

function pushgatewayOptions(reader: SettingReader<typeof PUSHGATEWAY_SETTINGS>): PushgatewayOptions {
  const grouping = reader.list('grouping');
  const names = new Set<string>();
  for (const [name] of grouping) {
    if (names.has(name)) throw new ConfigError(`grouping label ${JSON.stringify(name)} is given twice (${reader.origin('grouping')})`);
    names.add(name);
  }
  return {
    http: http(reader),
    ...optional('job', reader.get('job')),
    ...optional('instance', reader.get('instance')),
    grouping,
    deleteOnShutdown: reader.require('delete-on-shutdown'),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** File destinations first, then the one from flags/environment; the same URL twice, or two remote-write destinations of one name, are refused. */
export function loadDestinations(flags: FlagValues, env: Environment, file: ConfigDocument | undefined): Destinations {
  const remoteWrite = readers(REMOTE_WRITE_SCOPE, flags, env, file).map(remoteWriteOptions);
  const pushgateway = readers(PUSHGATEWAY_SCOPE, flags, env, file).map(pushgatewayOptions);
  const seen = new Set<string>();
  for (const url of [...remoteWrite, ...pushgateway].map((d) => d.http.url)) {
    if (seen.has(url)) throw new ConfigError(`the destination ${JSON.stringify(redactUrl(url))} is configured twice`);
    seen.add(url);
  }
  const names = new Set<string>();
  for (const { name } of remoteWrite) {
    if (names.has(name)) throw new ConfigError(`two remote-write destinations are named ${JSON.stringify(name)}: give each a --remote-write.name`);
    names.add(name);
  }
  return { remoteWrite, pushgateway };
}
