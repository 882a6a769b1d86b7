// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').NodeMessage} NodeMessage */
/**
 * @typedef {import('./lib/node-red.js').NodeConfig & { above?: string | number, below?: string | number, key?: string, topic?: string }} Config
 * The node's settings in the editor; `above` and `below` may be `${ENV}` names, which Node-RED fills in from the
 * flow's environment (the CO2 flow's CO2_ON and CO2_OFF) before the node is created.
 */

/**
 * Series one node keeps apart. Zones and sensors come from the gateway's registry, so a school has far fewer; the
 * cap only bounds what a flow feeding it arbitrary keys can make it hold.
 */
const MAX_SERIES = 10_000;

/**
 * campus threshold: on above one level, off again below a lower one (hysteresis), separately for each zone (or any
 * other message field), and a message only when that state changes. What the default CO2 flow needs at every
 * reading, without a function node: a function node runs its code in a vm context, ~150 µs a message on Node 20,
 * which at a few hundred sensors was most of the gateway's CPU (docs/node-red.md, Cost per message).
 */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus threshold', /** @param {Config} config */ (node, api, config) => {
    const above = Number(config.above);
    const below = Number(config.below);
    const key = pick(config.key) || 'zone';
    const topic = pick(config.topic);
    const status = throttledStatus(node);
    if (!Number.isFinite(above) || !Number.isFinite(below) || below > above) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('campus-threshold.status.badLevels') });
      node.error(`campus threshold needs numbers with "off below" (${config.below}) ≤ "on above" (${config.above})`);
      node.on('input', (_msg, _send, done) => done());
      return;
    }
    /** @type {Map<string, 'on' | 'off'>} */
    const states = new Map();
    let on = 0;

    node.on('input', (msg, send, done) => {
      const series = msg[key];
      const value = typeof msg.payload === 'number' ? msg.payload : Number(msg.payload);
      if ((typeof series !== 'string' && typeof series !== 'number') || series === '' || !Number.isFinite(value)) return done();
      const id = String(series);
      const was = states.get(id) ?? 'off';
      const now = value > above && was !== 'on' ? 'on' : value < below && was === 'on' ? 'off' : null;
      if (!now) return done();
      if (!states.has(id) && states.size >= MAX_SERIES) {
        const oldest = states.keys().next().value;
        if (oldest !== undefined && states.get(oldest) === 'on') on--;
        if (oldest !== undefined) states.delete(oldest);
      }
      states.set(id, now);
      on += now === 'on' ? 1 : -1;
      status({ fill: on > 0 ? 'yellow' : 'green', shape: 'dot', text: RED._('campus-threshold.status.on', { on, last: `${id} ${now}` }) });
      const metric = pick(msg.metric) || 'value';
      if (topic) msg.topic = topic.replace(/\{(\w+)\}/g, (_m, /** @type {string} */ name) => fieldText(msg[name]));
      msg.payload = { state: now, [key]: series, [metric]: value, threshold: now === 'on' ? above : below, at: new Date(api.now()).toISOString() };
      send(msg);
      done();
    });
    stopOnClose(node, () => states.clear(), status);
  });
};

/**
 * A message field as it goes into a topic: a string or number as it is, with MQTT's wildcards and level separator
 * taken out so that a field can never widen or move the topic; anything else is empty.
 * @param {unknown} v
 */
function fieldText(v) {
  return typeof v === 'string' || typeof v === 'number' ? String(v).replace(/[+#/]/g, '_') : '';
}
