/**
 * Credentials kept in files (basic-auth password, bearer token), read again
 * for every request so that a rotated file takes effect without a restart.
 * The values never appear in errors: only the path and the system error code.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

/** What the file holds, minus the line ending(s) editors and `echo` add. */
export function trimSecret(content: string): string {
  return content.replace(/[\r\n]+$/, '');
}

/** Reads a secret now (used at start-up to check the file). Throws the fs error. */
export function readSecretFileSync(path: string): string {
  return trimSecret(readFileSync(path, 'utf8'));
}

/** Why a secret file could not be read, without its content. */
export class SecretFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`cannot read credentials file ${JSON.stringify(path)}: ${code}`);
    this.name = 'SecretFileError';
  }
}

/**
 * A secret file read at each call. If a read fails after an earlier one
 * succeeded (a rotation tool briefly removing the file), the last value read
 * is used; the receiver answers 401/403 if it is no longer valid.
 */
export class SecretFile {
  private lastGood: string | undefined;

  constructor(
    readonly path: string,
    private readonly normalise: (raw: string) => string = trimSecret,
  ) {}

  async read(): Promise<string> {
    try {
      const value = this.normalise(await readFile(this.path, 'utf8'));
      this.lastGood = value;
      return value;
    } catch (err) {
      if (this.lastGood !== undefined) return this.lastGood;
      throw new SecretFileError(this.path, (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN');
    }
  }

  /** The last value read, for scrubbing it out of messages; undefined before the first read. */
  current(): string | undefined {
    return this.lastGood;
  }
}
