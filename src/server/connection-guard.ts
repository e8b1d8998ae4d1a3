import type http from 'node:http';
import type net from 'node:net';
import { ConditionLog } from '../log/condition-log';
import type { Logger } from '../log/logger';
import { ConnectionSlots, type SlotCounts } from './connection-slots';

export interface ConnectionGuardOptions {
  /** Connections held; at it, a new one pushes out an idle or slow one (connection-slots.ts). */
  readonly cap: number;
  /** Most connections at all, over the cap only while every one is busy or new. */
  readonly ceiling: number;
  /** A new connection's time to send its request head, a written answer's to be taken, before either may be pushed out. */
  readonly graceMs: number;
  readonly log: Logger;
}

export interface ConnectionGuard {
  /** The connections held now, by state. */
  counts(): SlotCounts;
}

/**
 * Keeps the server's connections within the cap by pushing out those that
 * hold a slot without an answer in progress, rather than refusing new ones
 * at accept (Node's `server.maxConnections`), which let a flood of idle or
 * slow connections lock health probes out. Call before the server's own
 * `request` listener is added, so that every answer is seen from its start.
 */
export function guardConnections(server: http.Server, opts: ConnectionGuardOptions): ConnectionGuard {
  const slots = new ConnectionSlots<net.Socket>(opts);
  const now = () => performance.now();
  const full = new ConditionLog(opts.log);
  const fields = { max_connections: opts.cap };

  server.on('connection', (socket: net.Socket) => {
    const admission = slots.opened(socket, now());
    if (!admission.admitted) {
      socket.destroy();
      full.report('connections at the cap, every one busy or new: refusing new ones', fields, { refused: 1 });
      return;
    }
    socket.once('close', () => {
      slots.closed(socket);
      // Back under half the cap: the flood is over (not at each close, or a full server would log on every connection).
      if (slots.size <= opts.cap / 2) full.end('connections back under the cap', fields);
    });
    if (admission.evicted !== undefined) {
      admission.evicted.key.destroy();
      full.report('connections at the cap: closing idle and slow ones to let new ones in', fields, { [`evicted_${admission.evicted.reason}`]: 1 });
    }
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    slots.requestStarted(socket);
    // `prefinish`: the answer is written (end() called and handed to the socket); `finish`: the socket has sent it all.
    res.once('prefinish', () => slots.answerWritten(socket, now()));
    res.once('finish', () => slots.answerFlushed(socket, now()));
  });

  return { counts: () => slots.counts() };
}
