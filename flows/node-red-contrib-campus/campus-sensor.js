// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick, msgId } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { zone?: string, metric?: string }} Config The node's settings in the editor. */

/** campus sensor: sensor readings (`sensor.reading`) by zone and metric; the value is the payload. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus sensor', /** @param {Config} config */ (node, api, config) => {
    const zone = pick(config.zone);
    const metric = pick(config.metric);
    const status = throttledStatus(node);
    const off = api.onSensorReading((r) => {
      status({ fill: 'blue', shape: 'dot', text: `${r.zone || r.sensorId} ${r.metric} ${r.value}${r.unit || ''}` });
      node.send({
        _msgid: msgId(),
        topic: `campus/sensors/${r.zone || r.sensorId}/${r.metric}`,
        payload: r.value,
        zone: r.zone,
        metric: r.metric,
        unit: r.unit,
        sensorId: r.sensorId,
        reading: r,
      });
    }, { zone, metric });
    stopOnClose(node, off, status);
  });
};
