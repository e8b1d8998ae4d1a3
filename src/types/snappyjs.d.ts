// snappyjs ships no type declarations; these are the two functions it exports.
declare module 'snappyjs' {
  /** Compresses with the snappy *block* format (never the framed/stream format). */
  export function compress<T extends Uint8Array | ArrayBuffer | Buffer>(input: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer | Buffer>(input: T, maxLength?: number): T;
}
