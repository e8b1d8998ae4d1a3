// One contestant of node-floor.bench.ts (plain JavaScript, so that no
// loader runs in it): every interval it does what a poll of one bridge
// needs of the network and nothing else, a GET of the bridge's /metrics
// (the whole body read) and a POST of a body of the agent's push size,
// through one of three clients, so that their CPU can be set beside the
// whole agent's:
//   idle       the interval timer alone (Node's own cost of being awake once a second)
//   node-http  node:http with a keep-alive agent, the least a Node program can do
//   transport  the agent's own HTTP transport (dist/http/http-transport.js: axios
//              configured as the agent configures it, with its deadline, credentials
//              and secret scrubbing), as a poll and a push use it
//
//   node <flags> test/bench/floor-loop.js <mode> <bridge /metrics URL> <sink URL> <interval ms> <post bytes>
'use strict';
const http = require('node:http');
const { join } = require('node:path');

const [mode, bridgeUrl, sinkUrl, intervalArg, postBytesArg] = process.argv.slice(2);
const intervalMs = Number(intervalArg);
const body = Buffer.alloc(Number(postBytesArg), 0x5a);
const PUSH_HEADERS = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

function nodeHttpClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (url, method, payload) =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method, agent, headers: payload ? { ...PUSH_HEADERS, 'Content-Length': payload.length } : {} }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => (res.statusCode < 300 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  return { get: () => request(bridgeUrl, 'GET'), post: () => request(sinkUrl, 'POST', body) };
}

function transportClient() {
  const { createHttpTransport } = require(join(__dirname, '..', '..', 'dist', 'http', 'http-transport.js'));
  const options = (url) => ({ url, timeoutMs: intervalMs, headers: {}, tls: { insecureSkipVerify: false } });
  const poll = createHttpTransport(options(bridgeUrl), 'floor-loop');
  const push = createHttpTransport(options(sinkUrl), 'floor-loop');
  const check = (outcome) => {
    if (outcome.kind !== 'response' || outcome.status >= 300) throw new Error(`request failed: ${JSON.stringify(outcome)}`);
  };
  return {
    get: async () => check(await poll.send({ method: 'GET', headers: { Accept: 'text/plain' }, readBodyUpToBytes: 64 << 20 })),
    post: async () => check(await push.send({ method: 'POST', headers: PUSH_HEADERS, body })),
  };
}

const client = mode === 'idle' ? undefined : mode === 'node-http' ? nodeHttpClient() : mode === 'transport' ? transportClient() : undefined;
if (mode !== 'idle' && client === undefined) throw new Error(`unknown mode ${mode}`);
let rounds = 0;
setInterval(() => {
  if (client === undefined) return void rounds++;
  client
    .get()
    .then(() => client.post())
    .then(
      () => rounds++,
      (err) => {
        console.error(`floor-loop ${mode}: ${err.message}`);
        process.exit(1);
      },
    );
}, intervalMs);
// The bench reads how many rounds were done from this line, on SIGUSR2.
process.on('SIGUSR2', () => console.log(`rounds=${rounds}`));
