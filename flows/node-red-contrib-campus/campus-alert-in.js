// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, msgId } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { changes?: string, info?: boolean, warning?: boolean, critical?: boolean }} Config The node's settings in the editor. */

/** campus alert in: alerts as they are raised (and, optionally, updated, acknowledged, resolved), by severity. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus alert in', /** @param {Config} config */ (node, api, config) => {
    const severities = new Set(['info', 'warning', 'critical'].filter((s) => config[/** @type {'info' | 'warning' | 'critical'} */ (s)] !== false));
    const changes = config.changes === 'all' ? null : new Set(['raised']);
    const status = throttledStatus(node);
    const off = api.onAlert((change, alert) => {
      if (!severities.has(alert.severity)) return;
      if (changes && !changes.has(change)) return;
      status({ fill: alert.severity === 'critical' ? 'red' : 'yellow', shape: 'dot', text: `${change}: ${alert.type}` });
      node.send({ _msgid: msgId(), topic: `campus/alerts/${alert.severity}`, payload: alert, change, severity: alert.severity });
    });
    stopOnClose(node, off, status);
  });
};
