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
import { ConfigError } from './config-error';

/** The largest --config.file read; a larger one is refused before it is read. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;
const CONFIG_FILE_MAX_TEXT = '1MiB';

/**
 * Where a key of the file is, for messages: ` (line 3, column 5)`, or ''
 * when it cannot be told. `path` is the key's path in the document, e.g.
 * `['remote_write', 0, 'tls', 'ca-fle']`.
 */
export type KeyLocator = (path: ReadonlyArray<string | number>) => string;

/** The YAML file, parsed: its top-level mapping, read scope by scope by file-layers.ts. */
export interface ConfigDocument {
  readonly path: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly locate: KeyLocator;
}

type Yaml = unknown;

export function isMapping(value: Yaml): value is Record<string, Yaml> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A key shown in messages must look like a setting name; anything else may be a line of some other file. */
export const SHOWABLE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

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

export function readConfigFile(path: string, readFile?: (path: string) => string): ConfigDocument {
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
  content ??= {};
  if (!isMapping(content)) throw new ConfigError(`--config.file ${JSON.stringify(path)}: expected a mapping of settings at the top level`);
  return { path, content, locate: keyLocator(doc, lines) };
}

