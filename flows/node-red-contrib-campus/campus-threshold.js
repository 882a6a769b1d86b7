// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick } = require('./lib/common.js');
const { createLevels } = require('./lib/levels.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/**
 * @typedef {import('./lib/node-red.js').NodeConfig & { above?: string | number, below?: string | number, holdS?: string | number, key?: string, topic?: string }} Config
 * The node's settings in the editor; `above` and `below` may be `${NAME}`, which Node-RED fills in from the tab's
 * environment variables (the CO2 flow's CO2_ON and CO2_OFF) before the node is created; so may `holdS`, the seconds a
 * zone keeps its state after a change (lib/levels.js).
 */

/**
 * campus threshold: on above one level, off again below a lower one (hysteresis), separately for each zone (or any
 * other message field), and a message only when that state changes (lib/levels.js). Without a function node: a
 * function node runs its code in a vm context, ~150 µs a message on Node 20 (docs/node-red.md, Cost per message).
 * Fed by a campus sensor, a campus sensor with levels of its own does the same without a Node-RED message per reading.
 */
/** Without a topic template the message keeps its own topic. @param {import('./lib/node-red.js').NodeMessage} msg */
const topicOfMessage = (msg) => msg.topic;

module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus threshold', /** @param {Config} config */ (node, api, config) => {
    const key = pick(config.key) || 'zone';
    const status = throttledStatus(node);
    const levels = createLevels(RED, node, config, { catalog: 'campus-threshold', type: 'campus threshold', now: () => api.now(), status });
    node.on('input', (msg, send, done) => {
      const out = levels?.step(key, msg[key], msg.payload, pick(msg.metric), msg, topicOfMessage);
      if (out) {
        msg.topic = out.topic;
        msg.payload = out.payload;
        send(msg);
      }
      done();
    });
    stopOnClose(node, () => {}, status);
  });
};
