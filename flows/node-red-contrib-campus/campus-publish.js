// @ts-check
'use strict';
const { registerCampusNode, fail, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { topic?: string, retain?: boolean }} Config The node's settings in the editor. */

/**
 * campus publish: publishes on the embedded broker as the gateway (commands to actuators, notifications).
 * Unlike the core mqtt-out node it needs no broker connection or credentials, and it may write gateway topics.
 */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus publish', /** @param {Config} config */ (node, api, config) => {
    const retain = config.retain === true;

    node.on('input', (msg, send, done) => {
      const topic = pick(config.topic, msg.topic);
      api.publish(topic, msg.payload, { retain }).then(
        () => {
          node.status({ fill: 'green', shape: 'dot', text: topic });
          done();
        },
        (err) => fail(node, done, err),
      );
    });
  });
};
