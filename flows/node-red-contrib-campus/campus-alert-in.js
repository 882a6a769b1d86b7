// @ts-check
'use strict';
const { campusApi, throttledStatus } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { changes?: string, info?: boolean, warning?: boolean, critical?: boolean }} Config The node's settings in the editor. */

/** campus alert in: alerts as they are raised (and, optionally, updated, acknowledged, resolved), by severity. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  /**
   * @this {CampusNode}
   * @param {Config} config
   */
  function CampusAlertInNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const api = campusApi(RED, node);
    if (!api) return;
    const severities = new Set(['info', 'warning', 'critical'].filter((s) => config[/** @type {'info' | 'warning' | 'critical'} */ (s)] !== false));
    const changes = config.changes === 'all' ? null : new Set(['raised']);
    const status = throttledStatus(node);
    const off = api.onAlert((change, alert) => {
      if (!severities.has(alert.severity)) return;
      if (changes && !changes.has(change)) return;
      status({ fill: alert.severity === 'critical' ? 'red' : 'yellow', shape: 'dot', text: `${change}: ${alert.type}` });
      node.send({ topic: `campus/alerts/${alert.severity}`, payload: alert, change, severity: alert.severity });
    });
    node.on('close', () => {
      off();
      status.cancel();
    });
  }
  RED.nodes.registerType('campus alert in', CampusAlertInNode);
};
