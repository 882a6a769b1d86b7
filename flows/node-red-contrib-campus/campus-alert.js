// @ts-check
'use strict';
const { registerCampusNode, fail, fields, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { alertType?: string, severity?: string, message?: string }} Config The node's settings in the editor. */

/** campus alert: raises a gateway alert (persisted, de-duplicated, on the console and `campus/alerts/<severity>`). */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus alert', /** @param {Config} config */ (node, api, config) => {
    node.on('input', (msg, send, done) => {
      const over = fields(msg.alert) ?? {};
      const input = {
        type: pick(over.type, config.alertType) || 'flow',
        severity: pick(over.severity, msg.severity, config.severity) || 'warning',
        message: pick(over.message, config.message, typeof msg.payload === 'string' ? msg.payload : undefined) ||
          `${pick(config.alertType) || 'flow'} (${node.name || node.id})`,
        source: pick(over.source) || `node-red:${node.name || node.id}`,
        accessPoint: pick(over.accessPoint, msg.accessPoint),
        zone: pick(over.zone, msg.zone),
        data: fields(over.data),
        dedupKey: pick(over.dedupKey, msg.dedupKey),
        snapshotId: pick(over.snapshotId, msg.snapshotId),
      };
      try {
        const alert = api.raiseAlert(input);
        node.status({ fill: alert.severity === 'critical' ? 'red' : 'yellow', shape: 'dot', text: `${alert.type} ×${alert.count}` });
        msg.payload = alert;
        msg.alertId = alert.id;
        send(msg);
        done();
      } catch (err) {
        fail(node, done, err);
      }
    });
  });
};
