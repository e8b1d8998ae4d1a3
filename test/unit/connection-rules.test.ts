import { writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/config-error';
import { checkConnection } from '../../src/config/connection-rules';
import type { HttpDestinationOptions } from '../../src/http/http-destination-options';
import { RESERVED_HEADERS } from '../../src/http/reserved-headers';
import { redactUrl } from '../../src/log/redact-url';
import { TestCertificates } from '../helpers/test-certificates';

// The rules a connection's settings follow, checked once at start by the configuration.

const PASSWORD = 'S3cret-Pa55word-do-not-leak';
const TOKEN = 'tok-AbCdEf0123456789-bearer';
const certs = new TestCertificates();
const dir = certs.dir;
const file = (name: string): string => certs.file(name);

function options(url: string, extra: Partial<HttpDestinationOptions> = {}): HttpDestinationOptions {
  return { url, timeoutMs: 5000, headers: {}, tls: { insecureSkipVerify: false }, ...extra };
}

function refusal(opts: HttpDestinationOptions, env: Record<string, string> = {}): string {
  try {
    checkConnection(opts, '--remote-write', env);
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  assert.unreachable(`expected ${JSON.stringify(opts)} to be refused`);
  throw new Error('unreachable');
}

writeFileSync(file('password'), `${PASSWORD}\n`);
writeFileSync(file('token'), `${TOKEN}\n`);

// ---------------------------------------------------------------- validation

const validation = suite('http destination options: validation');

validation('a complete, valid destination passes', () => {
  checkConnection(
    options('https://mimir.example/api/v1/push', {
      basicAuth: { username: '12345', passwordFile: file('password') },
      headers: { 'X-Scope-OrgID': 'tenant-1', 'THANOS-TENANT': 'jvb' },
      tls: { caFile: file('ca.crt'), certFile: file('client.crt'), keyFile: file('client.key'), serverName: 'push.test', insecureSkipVerify: false },
      proxyUrl: 'http://proxy.example:3128',
    }),
    '--remote-write',
    {},
  );
});

validation('every reserved header is refused, whatever its letter case, naming the header and the setting', () => {
  for (const reserved of RESERVED_HEADERS) {
    for (const spelling of [reserved, reserved.toUpperCase(), reserved.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())]) {
      const message = refusal(options('http://127.0.0.1:9009/api/v1/push', { headers: { [spelling]: 'x' } }));
      assert.ok(message.includes(`"${spelling}"`), message);
      assert.ok(message.includes('--remote-write.header'), message);
    }
  }
  assert.match(refusal(options('http://h/', { headers: { 'Content-Type': 'text/plain' } })), /reserved \(any letter case\): host, content-encoding/);
});

validation('an Authorization header is refused with a pointer to the auth settings', () => {
  const message = refusal(options('http://h/', { headers: { AUTHORIZATION: 'Bearer abc' } }));
  assert.match(message, /"AUTHORIZATION"/);
  assert.match(message, /--remote-write\.bearer-token-file/);
  assert.match(message, /--remote-write\.username and --remote-write\.password-file/);
  assert.ok(!message.includes('Bearer abc'));
});

validation('bad custom header names and values, and case-duplicates, are refused', () => {
  assert.match(refusal(options('http://h/', { headers: { 'bad header': 'x' } })), /invalid header name "bad header"/);
  assert.match(refusal(options('http://h/', { headers: { 'X-Tenant': 'a\r\nInjected: 1' } })), /line breaks/);
  assert.match(refusal(options('http://h/', { headers: { 'X-Scope-OrgID': 'a', 'x-scope-orgid': 'b' } })), /given twice/);
});

validation('a URL that is not http(s) is refused, without echoing its password', () => {
  assert.match(refusal(options('ftp://example.com/x')), /--remote-write\.url.*expected an http:\/\/ or https:\/\/ URL/);
  assert.match(refusal(options('not a url')), /"not a url" for --remote-write\.url/);
  const message = refusal(options(`gopher://user:${PASSWORD}@example.com/`));
  assert.ok(!message.includes(PASSWORD), message);
});

validation('basic auth and bearer token together are refused', () => {
  const message = refusal(options('http://h/', { basicAuth: { username: 'u', passwordFile: file('password') }, bearerTokenFile: file('token') }));
  assert.match(message, /--remote-write\.username and --remote-write\.bearer-token-file are both set/);
  assert.match(
    refusal(options('http://h/', { bearerToken: TOKEN, bearerTokenFile: file('token') })),
    /--remote-write\.bearer-token-file and --remote-write\.bearer-token are both set/,
  );
  assert.match(refusal(options('http://h/', { basicAuth: { username: 'u', password: PASSWORD }, bearerToken: TOKEN })), /--remote-write\.username and --remote-write\.bearer-token/);
});

validation('credentials in the URL together with basic auth are refused, without the password', () => {
  const message = refusal(options(`http://u:${PASSWORD}@h/`, { basicAuth: { username: 'u', passwordFile: file('password') } }));
  assert.match(message, /carries credentials/);
  assert.ok(!message.includes(PASSWORD), message);
});

validation('unreadable password, token, CA, cert and key files are refused at start, naming the setting and path', () => {
  const missing = file('does-not-exist');
  assert.match(refusal(options('http://h/', { basicAuth: { username: 'u', passwordFile: missing } })), /cannot read --remote-write\.password-file ".*does-not-exist": ENOENT/);
  assert.match(refusal(options('http://h/', { bearerTokenFile: missing })), /cannot read --remote-write\.bearer-token-file .*ENOENT/);
  assert.match(refusal(options('http://h/', { bearerTokenFile: dir })), /cannot read --remote-write\.bearer-token-file .*EISDIR/);
  assert.match(refusal(options('https://h/', { tls: { caFile: missing, insecureSkipVerify: false } })), /cannot read --remote-write\.tls\.ca-file .*ENOENT/);
  assert.match(refusal(options('https://h/', { tls: { certFile: missing, keyFile: file('client.key'), insecureSkipVerify: false } })), /cannot read --remote-write\.tls\.cert-file/);
  assert.match(refusal(options('https://h/', { tls: { certFile: file('client.crt'), keyFile: missing, insecureSkipVerify: false } })), /cannot read --remote-write\.tls\.key-file/);
});

validation('an empty token file, a CA file without certificates and a mismatched cert/key are refused', () => {
  writeFileSync(file('empty-token'), '\n');
  assert.match(refusal(options('http://h/', { bearerTokenFile: file('empty-token') })), /is empty/);
  assert.match(refusal(options('https://h/', { tls: { caFile: file('password'), insecureSkipVerify: false } })), /not a usable CA bundle/);
  assert.match(
    refusal(options('https://h/', { tls: { certFile: file('client.crt'), keyFile: file('server.key'), insecureSkipVerify: false } })),
    /not a usable certificate and key/,
  );
});

validation('a cert without key, and a key without cert, are refused', () => {
  assert.match(refusal(options('https://h/', { tls: { certFile: file('client.crt'), insecureSkipVerify: false } })), /--remote-write\.tls\.cert-file is set without --remote-write\.tls\.key-file/);
  assert.match(refusal(options('https://h/', { tls: { keyFile: file('client.key'), insecureSkipVerify: false } })), /--remote-write\.tls\.key-file is set without --remote-write\.tls\.cert-file/);
});

validation('bad proxy URLs are refused, from the setting and from the environment, without their password', () => {
  assert.match(refusal(options('http://h/', { proxyUrl: 'socks5://127.0.0.1:1080' })), /--remote-write\.proxy-url: proxy scheme "socks5" is not supported/);
  assert.match(refusal(options('http://h/', { proxyUrl: 'not a url' })), /--remote-write\.proxy-url/);
  const message = refusal(options('https://h/'), { HTTPS_PROXY: `socks5://u:${PASSWORD}@proxy:1080` });
  assert.match(message, /HTTPS_PROXY \(environment variable\)/);
  assert.ok(!message.includes(PASSWORD), message);
});

validation('a non-positive timeout and an IP as TLS server name are refused', () => {
  assert.match(refusal(options('http://h/', { timeoutMs: 0 })), /--remote-write\.timeout/);
  assert.match(refusal(options('https://h/', { tls: { serverName: '10.0.0.1', insecureSkipVerify: false } })), /--remote-write\.tls\.server-name/);
});

validation('redactUrl strips user:password@ and leaves the rest', () => {
  // Query values are hidden too: test/redaction.test.ts.
  assert.is(redactUrl(`https://user:${PASSWORD}@mimir.example:443/api/v1/push`), 'https://mimir.example/api/v1/push');
  assert.is(redactUrl('http://127.0.0.1:9091/metrics/job/jvb'), 'http://127.0.0.1:9091/metrics/job/jvb');
  assert.is(redactUrl(`not a url //u:${PASSWORD}@host/path`), 'not a url //host/path');
});


validation.run();

process.on('exit', () => certs.remove());
