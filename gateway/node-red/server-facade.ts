/**
 * The HTTP server as Node-RED is given it (`RED.init`, and `RED.server` for flows' nodes): the real server, except
 * that listeners for 'upgrade' are kept here, and called by the gateway with the socket it chooses. Node-RED's
 * editor websocket (comms.js) is thus handed a socket whose client frames the gateway has vetted
 * (vetted-socket.ts), rather than reading the client beside the gateway, where nothing it had read could be taken
 * back. Flows' websocket nodes (`RED.server.on('upgrade', …)`) get the client's socket, as before.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const LISTENER_METHODS = new Set(['on', 'addListener', 'prependListener', 'once', 'prependOnceListener', 'off', 'removeListener', 'removeAllListeners', 'listeners', 'listenerCount', 'rawListeners']);

export interface NodeRedServer {
  /** What to give Node-RED as its server. */
  server: Server;
  /** Calls the 'upgrade' listeners Node-RED and its nodes added. */
  upgrade: UpgradeListener;
}

export function nodeRedServer(real: Server): NodeRedServer {
  const upgrades = new EventEmitter();
  upgrades.setMaxListeners(0); // one per websocket node path, as many as the flows have
  const server = new Proxy(real, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && LISTENER_METHODS.has(prop)) {
        return (event: string | symbol, ...rest: unknown[]): unknown => {
          const on = event === 'upgrade' ? upgrades : target;
          const result: unknown = (on as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(event, ...rest);
          return result === on ? receiver : result; // chaining returns the facade
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { server, upgrade: (req, socket, head) => void upgrades.emit('upgrade', req, socket, head) };
}
