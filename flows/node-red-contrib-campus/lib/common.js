// @ts-check
'use strict';
/**
 * Shared by the campus nodes: the gateway's API comes from Node-RED's settings (`settings.campus`), which the
 * embedding gateway sets. Outside the gateway (a plain Node-RED) the nodes load but say they have no gateway.
 */

/** @typedef {import('./node-red.js').NodeRed} NodeRed */
/** @typedef {import('./node-red.js').CampusNode} CampusNode */
/** @typedef {import('./node-red.js').NodeStatus} NodeStatus */

/**
 * The CampusFlowApi, or null after marking the node as disconnected.
 * @param {NodeRed} RED
 * @param {CampusNode} node
 * @returns {import('./node-red.js').CampusFlowApi | null}
 */
function campusApi(RED, node) {
  const api = RED.settings.campus;
  if (!api || typeof api.onEvent !== 'function') {
    node.status({ fill: 'red', shape: 'ring', text: 'no gateway / 未连接网关' });
    node.warn('campus nodes run only inside the campus gateway (settings.campus is missing)');
    return null;
  }
  return api;
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

module.exports = { campusApi, throttledStatus, errorText, pick };
