'use strict';
const { campusApi, errorText, pick } = require('./lib/common.js');

/**
 * campus publish: publishes on the embedded broker as the gateway (commands to actuators, notifications).
 * Unlike the core mqtt-out node it needs no broker connection or credentials, and it may write gateway topics.
 */
module.exports = function (RED) {
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
