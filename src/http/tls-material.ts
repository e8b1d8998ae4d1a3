/**
 * The TLS settings of a destination turned into Node TLS options for the
 * connection to the receiver (not to a proxy). Files are read once, when the
 * transport is created; replacing a CA, certificate or key needs a restart.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { HttpTlsOptions } from './http-destination-options';

export interface OriginTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** SNI and the name the server certificate is verified against. */
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Reads the files named in `tls`. Throws the fs error of the first unreadable one. */
export function loadOriginTlsOptions(tls: HttpTlsOptions): OriginTlsOptions {
  const out: OriginTlsOptions = { rejectUnauthorized: !tls.insecureSkipVerify };
  if (tls.caFile !== undefined) out.ca = readFileSync(tls.caFile);
  if (tls.certFile !== undefined) out.cert = readFileSync(tls.certFile);
  if (tls.keyFile !== undefined) out.key = readFileSync(tls.keyFile);
  if (tls.serverName !== undefined && tls.serverName !== '') out.servername = tls.serverName;
  return out;
}

/**
 * Number of certificates in a PEM bundle; throws if there is none or one
 * does not parse (Node's TLS layer silently ignores a garbage CA file).
 */
export function countPemCertificates(pem: Buffer): number {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  for (const block of blocks) new X509Certificate(block);
  return blocks.length;
}
