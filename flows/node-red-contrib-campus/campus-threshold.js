// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').NodeMessage} NodeMessage */
/**
 * @typedef {import('./lib/node-red.js').NodeConfig & { above?: string | number, below?: string | number, key?: string, topic?: string }} Config
 * The node's settings in the editor; `above` and `below` may be `${NAME}`, which Node-RED fills in from the tab's
 * environment variables (the CO2 flow's CO2_ON and CO2_OFF) before the node is created.
 */

/**
 * Series one node keeps on at once. Zones and sensors come from the gateway's registry, so a school has far fewer;
 * the cap bounds what a flow feeding it made-up keys can make it hold (and write to its context file).
 */
const MAX_ON = 1_000;
/** A key longer than this is no zone or sensor id: ignored, so a message cannot park a megabyte in the state. */
const MAX_KEY_LENGTH = 128;
/** Payload fields the node writes itself: a metric by one of these names is called `value` instead. */
const OWN_FIELDS = new Set(['state', 'threshold', 'at']);

/**
 * campus threshold: on above one level, off again below a lower one (hysteresis), separately for each zone (or any
 * other message field), and a message only when that state changes. What the default CO2 flow needs at every
 * reading, without a function node: a function node runs its code in a vm context, ~150 µs a message on Node 20,
 * over a third of the gateway's CPU with 500 sensors publishing as fast as they could (docs/node-red.md, Cost per
 * message).
 *
 * The series that are on are kept in the node's context (on disk in the gateway, like the function node's before),
 * so a restart or a deploy does not forget a fan that is running and never send it its `off`.
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
      node.error(
        `campus threshold needs two numbers, "off below" (${config.below}) ≤ "on above" (${config.above}); ` +
          'a ${NAME} left as it is means the tab has no environment variable NAME',
      );
      node.on('input', (_msg, _send, done) => done());
      return;
    }
    const context = node.context();
    const saved = context.get('on');
    /** The series that are on; every other one is off. */
    const on = new Set(Array.isArray(saved) ? saved.filter((s) => typeof s === 'string').slice(0, MAX_ON) : []);
    /** Each kind of refusal is logged once per deploy: a misfit flow must not log every reading. */
    const warned = new Set();
    /** @param {string} kind @param {string} text @param {() => void} done */
    const warnOnce = (kind, text, done) => {
      if (!warned.has(kind)) node.warn(`campus threshold: ${text}`);
      warned.add(kind);
      done();
    };

    node.on('input', (msg, send, done) => {
      const series = msg[key];
      const value = typeof msg.payload === 'number' ? msg.payload : Number(msg.payload);
      if ((typeof series !== 'string' && typeof series !== 'number') || !Number.isFinite(value)) return done();
      const id = String(series);
      if (id === '' || id.length > MAX_KEY_LENGTH) return done();
      const was = on.has(id);
      const now = value > above && !was ? 'on' : value < below && was ? 'off' : null;
      if (!now) return done();
      // Built before the state changes: a message that cannot name its topic changes nothing.
      const target = topic ? fill(topic, msg) : msg.topic;
      if (target === undefined) return warnOnce('topic', `the topic "${topic}" needs fields a message did not have (${id}); it changed nothing`, done);
      if (now === 'on' && on.size >= MAX_ON) return warnOnce('full', `at most ${MAX_ON} series can be on; ${id} and later ones are left off`, done);
      if (now === 'on') on.add(id);
      else on.delete(id);
      context.set('on', [...on]);
      status({ fill: on.size > 0 ? 'yellow' : 'green', shape: 'dot', text: RED._('campus-threshold.status.on', { on: on.size, last: `${id} ${now}` }) });
      const metric = pick(msg.metric);
      const name = metric && metric !== key && !OWN_FIELDS.has(metric) ? metric : 'value';
      msg.topic = target;
      msg.payload = { state: now, [key]: series, [name]: value, threshold: now === 'on' ? above : below, at: new Date(api.now()).toISOString() };
      send(msg);
      done();
    });
    stopOnClose(node, () => {}, status);
  });
};

/**
 * The topic template with each `{field}` taken from the message: a string or number, with MQTT's wildcards, its level
 * separator and control characters made `_`, so that a field can never widen or move the topic. Undefined when a
 * field is missing or empty (`campus/actuators//fan` is nobody's fan).
 * @param {string} template
 * @param {NodeMessage} msg
 * @returns {string | undefined}
 */
function fill(template, msg) {
  let missing = false;
  const topic = template.replace(/\{(\w+)\}/g, (_m, /** @type {string} */ name) => {
    const v = msg[name];
    const text = typeof v === 'string' || typeof v === 'number' ? String(v) : '';
    if (text === '') missing = true;
    // eslint-disable-next-line no-control-regex
    return text.replace(/[+#/\u0000-\u001f\u007f]/g, '_');
  });
  return missing ? undefined : topic;
}
