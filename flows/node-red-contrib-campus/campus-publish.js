// @ts-check
'use strict';
const { campusApi, errorText, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { topic?: string, retain?: boolean }} Config The node's settings in the editor. */

/**
 * campus publish: publishes on the embedded broker as the gateway (commands to actuators, notifications).
 * Unlike the core mqtt-out node it needs no broker connection or credentials, and it may write gateway topics.
 */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  /**
   * @this {CampusNode}
   * @param {Config} config
   */
  function CampusPublishNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const api = campusApi(RED, node);
    if (!api) return;
    const retain = config.retain === true;

    node.on('input', (msg, send, done) => {
      const topic = pick(config.topic, msg.topic);
      api.publish(topic, msg.payload, { retain }).then(
        () => {
          node.status({ fill: 'green', shape: 'dot', text: topic });
          done();
        },
        (err) => {
          node.status({ fill: 'red', shape: 'ring', text: errorText(err) });
          done(err);
        },
      );
    });
  }
  RED.nodes.registerType('campus publish', CampusPublishNode);
};
