'use strict';
const { campusApi, throttledStatus } = require('./lib/common.js');

/** campus alert in: alerts as they are raised (and, optionally, updated, acknowledged, resolved), by severity. */
module.exports = function (RED) {
  function CampusAlertInNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const api = campusApi(RED, node);
    if (!api) return;
    const severities = new Set(['info', 'warning', 'critical'].filter((s) => config[s] !== false));
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
