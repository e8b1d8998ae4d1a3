// Loaded into the agent with `node --require` (test/integration/shutdown.test.ts):
// when the agent writes its `stopped` log line, prints on stderr, as one line
// `EXIT-PROBE {...}`, what could still keep the process alive: the handles
// that hold the event loop (sockets not destroyed, servers still listening,
// anything else referenced; the standard streams left out) and the
// referenced timers and immediates; then, at `exit`, how long after
// `stopped` that came. (File system requests in flight are not judged: one
// just finishing looks the same as one left running.) Plain JavaScript: the agent runs the built dist/, without tsx.
'use strict';

const write = process.stderr.write.bind(process.stderr);
const standard = new Set([process.stdin, process.stdout, process.stderr]);

function holding(handle) {
  if (standard.has(handle)) return undefined;
  if (typeof handle.hasRef === 'function' && !handle.hasRef()) return undefined;
  const kind = (handle.constructor && handle.constructor.name) || typeof handle;
  if (kind === 'Socket' || kind === 'TLSSocket') {
    if (handle.destroyed) return undefined;
    return `${kind} ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
  }
  if (kind === 'Server') return handle.listening ? `Server listening on ${JSON.stringify(handle.address())}` : undefined;
  if (kind === 'Timeout') return `Timeout of ${handle._idleTimeout} ms${handle._repeat ? ' (interval)' : ''}`;
  return kind;
}

let stoppedAt;
process.stderr.write = function (chunk, ...rest) {
  const result = write(chunk, ...rest);
  if (stoppedAt === undefined && /msg="?stopped"?( |$)/m.test(String(chunk))) {
    stoppedAt = performance.now();
    const handles = process._getActiveHandles().map(holding).filter((h) => h !== undefined);
    // Timers are not among the handles listed above; the resources list counts the referenced ones.
    const resources = process.getActiveResourcesInfo();
    for (const kind of ['Timeout', 'Immediate']) {
      const n = resources.filter((r) => r === kind).length;
      if (n > 0) handles.push(`${n} referenced ${kind}`);
    }
    write(`EXIT-PROBE ${JSON.stringify({ at: 'stopped', handles, resources })}\n`);
    process.once('exit', () => write(`EXIT-PROBE ${JSON.stringify({ at: 'exit', afterStoppedMs: Math.round(performance.now() - stoppedAt) })}\n`));
  }
  return result;
};
