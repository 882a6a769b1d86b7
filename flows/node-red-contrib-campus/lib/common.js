// @ts-check
'use strict';
/**
 * Shared by the campus nodes: the gateway's API comes from Node-RED's settings (`settings.campus`), which the
 * embedding gateway sets. Outside the gateway (a plain Node-RED) the nodes load but say they have no gateway.
 */

/** @typedef {import('./node-red.js').NodeRed} NodeRed */
/** @typedef {import('./node-red.js').CampusNode} CampusNode */
/** @typedef {import('./node-red.js').NodeStatus} NodeStatus */
/** @typedef {import('./node-red.js').NodeConfig} NodeConfig */
/** @typedef {import('./node-red.js').CampusFlowApi} CampusFlowApi */
/** @typedef {import('./node-red.js').Done} Done */
const { randomBytes } = require('node:crypto');
const { registerPlaceLists } = require('./places.js');

/**
 * Texts every campus node shows (no gateway, …) live once, in the `common` block of campus-tap's catalog
 * (locales/<lang>/campus-tap.json); a key with a namespace is looked up there whichever node asks.
 */
const COMMON = 'node-red-contrib-campus/campus-tap:common.';

/**
 * The CampusFlowApi, or null after marking the node as disconnected.
 * @param {NodeRed} RED
 * @param {CampusNode} node
 * @returns {import('./node-red.js').CampusFlowApi | null}
 */
function campusApi(RED, node) {
  const api = RED.settings.campus;
  if (!api || typeof api.onEvent !== 'function') {
    node.status({ fill: 'red', shape: 'ring', text: RED._(`${COMMON}status.noGateway`) });
    node.warn('campus nodes run only inside the campus gateway (settings.campus is missing)');
    return null;
  }
  return api;
}

/**
 * Registers a campus node type. Every campus node starts the same way (Node-RED creates it, then it looks for the
 * gateway's API); `setup` runs only when the API is there, so each node file holds only what the node itself does.
 * @template {NodeConfig} C
 * @param {NodeRed} RED
 * @param {string} type
 * @param {(node: CampusNode, api: CampusFlowApi, config: C) => void} setup
 */
function registerCampusNode(RED, type, setup) {
  /**
   * @this {CampusNode}
   * @param {C} config
   */
  function CampusNodeType(config) {
    RED.nodes.createNode(this, config);
    const api = campusApi(RED, this);
    if (api) setup(this, api, config);
  }
  RED.nodes.registerType(type, CampusNodeType);
  registerPlaceLists(RED);
}

/**
 * A failed gateway call: the node shows why in red and hands the error to Node-RED (Catch nodes, debug sidebar).
 * @param {CampusNode} node
 * @param {Done} done
 * @param {unknown} err
 */
function fail(node, done, err) {
  node.status({ fill: 'red', shape: 'ring', text: errorText(err) });
  done(err);
}

/**
 * A listening node: on close (redeploy, stop) it unsubscribes from the gateway and drops a pending status update.
 * @param {CampusNode} node
 * @param {() => void} off
 * @param {{ cancel(): void }} status
 */
function stopOnClose(node, off, status) {
  node.on('close', () => {
    off();
    status.cancel();
  });
}

/**
 * Status updates go to every open editor; at a thousand taps a second, at most one per second.
 * @param {CampusNode} node
 * @param {number} [intervalMs]
 */
function throttledStatus(node, intervalMs) {
  let last = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  /** @type {NodeStatus | null} */
  let pending = null;
  const every = intervalMs || 1000;
  const flush = () => {
    timer = null;
    last = Date.now();
    if (pending) node.status(pending);
    pending = null;
  };
  /** @param {NodeStatus} status */
  const set = (status) => {
    pending = status;
    const wait = last + every - Date.now();
    if (wait <= 0) flush();
    else if (!timer) timer = setTimeout(flush, wait);
  };
  set.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return set;
}

/**
 * A typed gateway error's message, or the error's own.
 * @param {unknown} err
 */
function errorText(err) {
  const message = err && /** @type {{ message?: unknown }} */ (err).message;
  return message ? String(message) : String(err);
}

/**
 * First non-empty string among the candidates.
 * @param {...unknown} values
 * @returns {string | undefined}
 */
function pick(...values) {
  for (const v of values) if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/**
 * A message field that holds an object (`msg.payload`, `msg.alert`, `msg.person`), with its fields still unchecked;
 * undefined for anything else (a string payload, null, a list, a Buffer).
 * @param {unknown} value
 * @returns {Record<string, unknown> | undefined}
 */
function fields(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return undefined;
  return /** @type {Record<string, unknown>} */ (value);
}

/**
 * The `_msgid` of a message a campus node starts. Without one, Node-RED makes each from eight Math.random() bytes
 * turned into hex strings and joined: 3 % of the gateway's main thread in bench/ingest, where every CO2 reading
 * starts a message. A random prefix per run of ids and a counter are as unique within the runtime, in the same
 * 16 hex digits, for one string.
 */
let idPrefix = randomBytes(4).toString('hex');
let idCount = 0;
function msgId() {
  idCount = (idCount + 1) % 0x1_0000_0000;
  if (idCount === 0) idPrefix = randomBytes(4).toString('hex');
  return idPrefix + idCount.toString(16).padStart(8, '0');
}

module.exports = { COMMON, campusApi, registerCampusNode, fail, stopOnClose, throttledStatus, errorText, pick, fields, msgId };
