import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throw-away PKI made with the openssl CLI in a temporary folder: a CA,
 * a server certificate for 127.0.0.1, localhost and push.test, a client
 * certificate, and an unrelated CA. `file('ca.crt')` etc. give the paths.
 */
export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-certs-'));

  constructor() {
    this.makeCa('ca');
    this.makeCa('other-ca');
    this.makeLeaf('server', 'ca', 'push.test', 'subjectAltName=IP:127.0.0.1,DNS:push.test,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n', '1001');
    this.makeLeaf('client', 'ca', 'jvb-agent', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n', '1002');
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  private makeCa(name: string): void {
    this.openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }

  private makeLeaf(name: string, ca: string, cn: string, ext: string, serial: string): void {
    writeFileSync(this.file(`${name}.ext`), ext);
    this.openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    this.openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', serial, '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  }
}
