import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { Document, ErrorCode, LineCounter } from 'yaml';

/**
 * The YAML parser, loaded only when a config file is given: it adds about
 * 8 MB to the agent's RSS, which flag- and environment-configured agents
 * (the systemd unit, containers) need not carry.
 */
function yaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}
import { closestName } from './closest-name';
import { ConfigError } from './config-error';
import { DESTINATION_KINDS, type DestinationKind } from './destination-settings';
import { findSetting, SETTINGS, type SettingSpec } from './settings';

/** The largest --config.file read; a larger one is refused before it is read. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;
const CONFIG_FILE_MAX_TEXT = '1MiB';

/**
 * Where a key of the file is, for messages: ` (line 3, column 5)`, or ''
 * when it cannot be told. `path` is the key's path in the document, e.g.
 * `['remote_write', 0, 'tls', 'ca-fle']`.
 */
export type KeyLocator = (path: ReadonlyArray<string | number>) => string;

/**
 * The YAML file's settings, flattened to flag names: `{poll: {interval: 15s}}`
 * becomes `poll.interval = "15s"`; `labels` is a map of constant labels.
 * Unknown keys are refused, as Prometheus refuses them, so a typo never
 * silently falls back to a default.
 *
 * Error messages never quote the file's text beyond the names of its keys
 * (and the values of settings it does hold): pointed by mistake at another
 * file (`/etc/shadow`), the agent must not print its lines.
 */
export interface FileSettings {
  readonly path: string;
  readonly values: ReadonlyMap<string, string>;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** The `bridges:`, `remote_write:` and `pushgateway:` lists, read by load-bridges.ts and load-destinations.ts. */
  readonly lists: Partial<Record<DestinationKind, unknown>>;
  /** The `jvb:` section: settings every bridge inherits, read by load-bridges.ts. */
  readonly bridgeDefaults: unknown;
  readonly locate: KeyLocator;
}

type Yaml = unknown;

function isMapping(value: Yaml): value is Record<string, Yaml> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: Yaml): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A key shown in messages must look like a setting name; anything else may be a line of some other file. */
const SHOWABLE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * How an unknown key is named in a message: `"poll.intervall"` (with the
 * known prefix `shownPrefix`, e.g. `remote_write[0].`), or, when the key
 * does not look like a setting name, only where it is.
 */
export function describeFileKey(shownPrefix: string, key: string, location: string): string {
  if (SHOWABLE_KEY.test(key)) return `${JSON.stringify(shownPrefix + key)}${location}`;
  const under = shownPrefix === '' ? '' : ` under ${JSON.stringify(shownPrefix.replace(/\.$/, ''))}`;
  const at = location.replace(/^ \((.*)\)$/, ' at $1');
  return `${under}${at} (its key is not shown: it does not look like a setting name)`.trimStart();
}

/**
 * Reads at most `maxBytes` bytes: a regular file larger than that is refused
 * from its size alone, anything else (a pipe, /dev/zero) once more than that
 * has been read.
 */
function readBounded(path: string, maxBytes: number): string | 'too-large' {
  const stat = statSync(path);
  if (stat.isFile() && stat.size > maxBytes) return 'too-large';
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read`), { code: 'EISDIR' });
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return length > maxBytes ? 'too-large' : buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** What went wrong in a YAML file, in words that quote none of its text. */
const YAML_ERROR_KINDS: Partial<Record<ErrorCode, string>> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used as indentation',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  DUPLICATE_KEY: 'a key is given twice',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping nested on a single line (as in "a: b: c")',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines',
  UNEXPECTED_TOKEN: 'unexpected text',
  MULTIPLE_DOCS: 'more than one YAML document',
  BAD_ALIAS: 'an alias to an anchor that does not exist',
  BAD_DQ_ESCAPE: 'a bad escape sequence in a double-quoted string',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
};

function yamlErrorKind(code: ErrorCode): string {
  return YAML_ERROR_KINDS[code] ?? code.toLowerCase().replace(/_/g, ' ');
}

/** Finds a key's line and column in the parsed document. */
function keyLocator(doc: Document, lines: LineCounter): KeyLocator {
  const { isMap, isScalar, isSeq } = yaml();
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const step of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(step));
        if (pair === undefined) return '';
        offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step];
      } else {
        return '';
      }
    }
    if (offset === undefined) return '';
    const { line, col } = lines.linePos(offset);
    return ` (line ${line}, column ${col})`;
  };
}

export function readConfigFile(path: string, readFile?: (path: string) => string): FileSettings {
  const tooLarge = (): ConfigError =>
    new ConfigError(`--config.file ${JSON.stringify(path)} is larger than ${CONFIG_FILE_MAX_TEXT}, the most a config file may hold: is it the right file?`);
  let text: string;
  try {
    const read = readFile === undefined ? readBounded(path, CONFIG_FILE_MAX_BYTES) : readFile(path);
    if (read === 'too-large') throw tooLarge();
    text = read;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read --config.file ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  if (Buffer.byteLength(text, 'utf8') > CONFIG_FILE_MAX_BYTES) throw tooLarge();

  const { LineCounter, parseDocument, visit } = yaml();
  const lines = new LineCounter();
  // No pretty errors (they quote the offending line), no warnings on stderr (they do too).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, logLevel: 'silent', uniqueKeys: true });
  const [first] = doc.errors;
  if (first !== undefined) {
    const { line, col } = lines.linePos(first.pos[0]);
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error${doc.errors.length > 2 ? 's' : ''})` : '';
    throw new ConfigError(`--config.file ${JSON.stringify(path)} is not valid YAML: ${yamlErrorKind(first.code)} at line ${line}, column ${col}${more}`);
  }
  let unresolved: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      unresolved = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  if (unresolved !== undefined) {
    const { line, col } = lines.linePos(unresolved);
    throw new ConfigError(`--config.file ${JSON.stringify(path)} is not valid YAML: ${yamlErrorKind('BAD_ALIAS')} at line ${line}, column ${col}`);
  }
  let content: Yaml;
  try {
    content = doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new ConfigError(`--config.file ${JSON.stringify(path)} is not usable YAML: its aliases expand too many times`);
  }
  return flattenConfigDocument(path, content ?? {}, keyLocator(doc, lines));
}

/** The keys a flat section of the file may hold (`poll.interval`, ...), for "did you mean". */
function fileSettingNames(): string[] {
  const flat = (SETTINGS as readonly SettingSpec[]).filter((s) => s.flagAndEnvOnly !== true && s.repeatable !== true).map((s) => s.flag);
  return [...flat, 'jvb', 'labels', ...Object.values(DESTINATION_KINDS).map((k) => k.fileKey)];
}

export function flattenConfigDocument(path: string, doc: Yaml, locate: KeyLocator = () => ''): FileSettings {
  const where = `--config.file ${JSON.stringify(path)}`;
  if (!isMapping(doc)) throw new ConfigError(`${where}: expected a mapping of settings at the top level`);
  const values = new Map<string, string>();
  const labels: Array<readonly [string, string]> = [];
  const lists: Partial<Record<DestinationKind, unknown>> = {};
  let bridgeDefaults: unknown;

  for (const [section, body] of Object.entries(doc)) {
    const kind = (Object.keys(DESTINATION_KINDS) as DestinationKind[]).find((k) => DESTINATION_KINDS[k].fileKey === section);
    if (kind !== undefined) {
      lists[kind] = body;
      continue;
    }
    if (section === 'jvb') {
      if (!isMapping(body)) throw new ConfigError(`${where}: "jvb" must be a mapping of bridge settings (url, timeout, source, ...)`);
      bridgeDefaults = body;
      continue;
    }
    if (section === 'labels') {
      if (!isMapping(body)) throw new ConfigError(`${where}: "labels" must be a mapping of NAME: VALUE`);
      for (const [name, value] of Object.entries(body)) {
        const text = scalarText(value);
        if (text === undefined) throw new ConfigError(`${where}: label ${describeFileKey('', name, locate(['labels', name]))} must have a scalar value`);
        labels.push([name, text]);
      }
      continue;
    }
    const entries: Array<[string, Yaml, ReadonlyArray<string>]> = isMapping(body)
      ? Object.entries(body).map(([key, value]) => [`${section}.${key}`, value, [section, key]])
      : [[section, body, [section]]];
    for (const [flag, value, keyPath] of entries) {
      const spec = findSetting(flag);
      if (spec === undefined || spec.flagAndEnvOnly === true || spec.repeatable === true) {
        const location = locate(keyPath);
        const shown = keyPath.length === 1 ? describeFileKey('', section, location) : SHOWABLE_KEY.test(section) ? describeFileKey(`${section}.`, keyPath[1]!, location) : describeFileKey('', section, locate([section]));
        const guess = SHOWABLE_KEY.test(flag) ? closestName(flag, fileSettingNames()) : undefined;
        throw new ConfigError(`${where}: unknown setting ${shown}${guess !== undefined ? `; did you mean "${guess}"?` : ''}`);
      }
      const text = scalarText(value);
      if (text === undefined) throw new ConfigError(`${where}: setting ${JSON.stringify(flag)} must be a scalar (string, number or boolean)`);
      values.set(flag, text);
    }
  }
  return { path, values, labels, lists, bridgeDefaults, locate };
}
