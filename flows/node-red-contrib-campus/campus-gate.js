// @ts-check
'use strict';
const { registerCampusNode, fail, fields, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { accessPoint?: string, action?: string }} Config The node's settings in the editor. */

/** campus gate: open, hold or lock a gate → `campus/gates/<gateId>/command`. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus gate', /** @param {Config} config */ (node, api, config) => {
    node.on('input', (msg, send, done) => {
      const p = fields(msg.payload) ?? {};
      const target = pick(config.accessPoint, msg.accessPoint, p.accessPoint);
      const action = pick(config.action, msg.action, p.action, typeof msg.payload === 'string' ? msg.payload : undefined);
      if (!target) {
        done(new Error(RED._('campus-gate.error.noTarget')));
        return;
      }
      api.gate(target, action, `node-red:${node.name || node.id}`).then(
        (r) => {
          node.status({ fill: r.command.action === 'lock' ? 'red' : 'green', shape: 'dot', text: `${r.gateId}: ${r.command.action}` });
          msg.topic = r.topic;
          msg.payload = r.command;
          send(msg);
          done();
        },
        (err) => fail(node, done, err),
      );
    });
  });
};
