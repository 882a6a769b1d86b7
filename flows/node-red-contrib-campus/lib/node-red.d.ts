/**
 * The part of Node-RED's runtime API the campus nodes use, for `// @ts-check` with JSDoc in their JavaScript
 * (Node-RED 4.1 ships no types of its own). The gateway's side is its real type, CampusFlowApi.
 */
import type { CampusFlowApi, ClassAttendance, FlowSensorReading, PersonAttendance } from '../../../gateway/node-red/api.js';
import type { FlowPlaces } from '../../../gateway/node-red/places.js';

export type { CampusFlowApi, ClassAttendance, FlowSensorReading, PersonAttendance, FlowPlaces };

/**
 * A flow message: whatever the nodes before this one put on it. Its fields are `unknown`: nothing on it is trusted
 * until a node has read it through `pick()` or a `typeof` check, the way a flow author expects them to be read.
 */
export type NodeMessage = Record<string, unknown>;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type Send = (msg: NodeMessage | (NodeMessage | null)[] | null) => void;
export type Done = (err?: unknown) => void;

/** A node instance, as `this` in a node's constructor after `RED.nodes.createNode`. */
export interface CampusNode {
  readonly id: string;
  readonly name?: string;
  on(event: 'input', handler: (msg: NodeMessage, send: Send, done: Done) => void): void;
  on(event: 'close', handler: () => void): void;
  status(status: NodeStatus | Record<string, never>): void;
  send: Send;
  warn(message: unknown): void;
  /** The node's own context (Node-RED's default store: a file under the gateway's data dir, flushed every 30 s). */
  context(): { get(key: string): unknown; set(key: string, value: unknown): void };
  error(message: unknown, msg?: NodeMessage): void;
}

/** The editor's settings of a node: each node file names its own fields. */
export interface NodeConfig {
  id: string;
  name?: string;
}

export interface NodeRed {
  nodes: {
    createNode(node: CampusNode, config: NodeConfig): void;
    registerType<C extends NodeConfig>(type: string, constructor: (this: CampusNode, config: C) => void): void;
  };
  /** `settings.campus` is set by the embedding gateway (gateway/node-red/settings.ts); absent in a plain Node-RED. */
  settings: { campus?: CampusFlowApi };
  /** A text from the node set's message catalog (locales/<lang>/<node file>.json), in the runtime's language. */
  _(key: string, substitutions?: Record<string, string | number>): string;
  /** The editor's express app (below the editor root, /flows in the gateway), behind adminAuth. */
  httpAdmin: {
    get(path: string, ...handlers: AdminHandler[]): void;
  };
  auth: {
    /** 401 unless the caller's editor or API token carries the permission (`read` covers every `*.read`). */
    needsPermission(permission: string): AdminHandler;
  };
}

/** An express handler, as much of one as the campus admin routes use. */
export type AdminHandler = (
  req: unknown,
  res: { status(code: number): { json(body: unknown): void }; json(body: unknown): void },
  next: () => void,
) => void;
