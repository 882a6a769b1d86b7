// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick, msgId } = require('./lib/common.js');
const { createLevels } = require('./lib/levels.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').NodeMessage} NodeMessage */
/** @typedef {import('./lib/node-red.js').FlowSensorReading} FlowSensorReading */
/**
 * @typedef {import('./lib/node-red.js').NodeConfig & { zone?: string, metric?: string, send?: string, above?: string | number, below?: string | number, holdS?: string | number, topic?: string }} Config
 * The node's settings in the editor. `send`: `each` reading (the default), or `levels`: on above `above`, off below
 * `below`, per zone, as campus threshold does (`above` and `below` may be the tab's `${NAME}` variables).
 */

/**
 * campus sensor: sensor readings (`sensor.reading`) by zone and metric; the value is the payload.
 *
 * With levels, only a zone's change of state leaves the node. A reading that changes nothing then costs no Node-RED
 * message at all: with 500 sensors publishing as fast as they can, the sensor → threshold pair of the default CO2 flow
 * spent a message and its delivery on every reading, and set how many readings a second the gateway took in
 * (docs/node-red.md, Cost per message).
 */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus sensor', /** @param {Config} config */ (node, api, config) => {
    const zone = pick(config.zone);
    const metric = pick(config.metric);
    const status = throttledStatus(node);
    /** @param {FlowSensorReading | NodeMessage} r */
    const topicOf = (r) => `campus/sensors/${r.zone || r.sensorId}/${r.metric}`;
    /** @param {FlowSensorReading} r @param {string} topic @param {unknown} payload */
    const message = (r, topic, payload) => ({
      _msgid: msgId(),
      topic,
      payload,
      zone: r.zone,
      metric: r.metric,
      unit: r.unit,
      sensorId: r.sensorId,
      reading: r,
    });
    let off = () => {};
    if (config.send !== 'levels') {
      off = api.onSensorReading((r) => {
        status({ fill: 'blue', shape: 'dot', text: `${r.zone || r.sensorId} ${r.metric} ${r.value}${r.unit || ''}` });
        node.send(message(r, topicOf(r), r.value));
      }, { zone, metric });
    } else if (!metric) {
      // One metric's levels: a zone's CO2 and its noise must not share one on/off state.
      node.status({ fill: 'red', shape: 'ring', text: RED._('campus-sensor.status.noMetric') });
      node.error('campus sensor with levels needs a metric (co2): the levels of one metric mean nothing for another');
    } else {
      const levels = createLevels(RED, node, config, { catalog: 'campus-sensor', type: 'campus sensor', now: () => api.now(), status });
      if (levels) {
        off = api.onSensorReading((r) => {
          const out = levels.step('zone', r.zone, r.value, r.metric, /** @type {NodeMessage} */ (/** @type {unknown} */ (r)), topicOf);
          if (out) node.send(message(r, out.topic, out.payload));
        }, { zone, metric });
      }
    }
    stopOnClose(node, off, status);
  });
};
