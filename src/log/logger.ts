export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. component=remote_write). */
  with(fields: LogFields): Logger;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** logfmt quoting: bare when safe, else a double-quoted string with \" \\ \n escapes. */
function logfmtValue(value: string | number | boolean): string {
  const text = String(value);
  if (text !== '' && !/[\s"=\\]/.test(text) && !/[\u0000-\u001f\u007f]/.test(text)) return text;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

export function formatLogLine(format: LogFormat, time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const record: Record<string, string | number | boolean> = { ts: time.toISOString(), level, msg };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) record[key] = value;
  if (format === 'json') return JSON.stringify(record);
  return Object.entries(record)
    .map(([key, value]) => `${key}=${logfmtValue(value)}`)
    .join(' ');
}

export function createLogger(opts: {
  level: LogLevel;
  format: LogFormat;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = opts.now ?? (() => new Date());
  const make = (bound: LogFields): Logger => {
    const log = (level: LogLevel) => (msg: string, fields: LogFields = {}) => {
      if (RANK[level] < RANK[opts.level]) return;
      write(formatLogLine(opts.format, now(), level, msg, { ...bound, ...fields }));
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      with: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make({});
}
