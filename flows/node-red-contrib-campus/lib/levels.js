// @ts-check
'use strict';
/** @typedef {import('./node-red.js').NodeRed} NodeRed */
/** @typedef {import('./node-red.js').CampusNode} CampusNode */
/** @typedef {import('./node-red.js').NodeMessage} NodeMessage */
/** @typedef {import('./node-red.js').NodeStatus} NodeStatus */

/**
 * Series one node keeps on at once. Zones and sensors come from the gateway's registry, so a school has far fewer;
 * the cap bounds what a flow feeding made-up keys can make a node hold (and write to its context file).
 */
const MAX_ON = 1_000;
/** A key longer than this is no zone or sensor id: ignored, so a message cannot park a megabyte in the state. */
const MAX_KEY_LENGTH = 128;
/** Payload fields the levels write themselves: a metric by one of these names is called `value` instead. */
const OWN_FIELDS = new Set(['state', 'threshold', 'at']);
/**
 * Seconds a series stays as it is after a change when the node sets none (a flow saved before the setting existed).
 * A minute: sensors report every 30-60 s, and a contactor or fan motor switched every few seconds wears out.
 */
const DEFAULT_HOLD_S = 60;

/**
 * @typedef {object} LevelsOptions
 * @property {string} catalog The node's message catalog prefix (`campus-threshold`): its `status.on` and `status.badLevels`.
 * @property {string} type The node's type, for its log lines.
 * @property {() => number} now The gateway's clock.
 * @property {(status: NodeStatus) => void} status The node's throttled status.
 */

/** @typedef {{ above?: string | number, below?: string | number, holdS?: string | number, topic?: string }} LevelsConfig */

/**
 * @typedef {object} Levels
 * @property {(key: string, series: unknown, value: unknown, metric: unknown, fields: NodeMessage, fallbackTopic: (fields: NodeMessage) => unknown) => { topic: string, payload: Record<string, unknown> } | null} step
 *   The message a value makes for its series: on when it rises above the upper level, off when it falls below the
 *   lower one, null for no change (or a series or value that cannot be one). `fallbackTopic(fields)` gives the topic
 *   when the node sets none; it is asked only on a change, so a reading that changes nothing builds no topic.
 *   A reading that would change a series within `holdS` of its last change changes nothing either.
 */

/**
 * On above one level, off again below a lower one (hysteresis), separately for each series, and a message only when
 * a series changes: what campus threshold does with its input and a campus sensor with levels with its readings.
 *
 * The series that are on are kept in the node's context (on disk in the gateway), so a restart or a deploy does not
 * forget a fan that is running and never send it its `off`.
 *
 * After a change a series keeps its state for at least `holdS` seconds (anti-short-cycle): the levels alone let a
 * sensor alternating 1600 and 900 ppm (faulty, or one whose secret leaked) switch a fan's relay at every message, up
 * to the broker's 50 a second per device. A reading within the hold changes nothing and is not kept: the first
 * reading after the hold decides, and sensors report every 30-60 s. The first change of a series is never held. The
 * times of the changes are kept in the context beside the series that are on: a gateway restarted (a crash, an
 * upgrade, a deploy in the editor) at every reading would otherwise let the fan switch at every one.
 *
 * @param {NodeRed} RED The node set's RED (its message catalog holds the status texts).
 * @param {CampusNode} node
 * @param {LevelsConfig} config `above`, `below` and `holdS` may be `${NAME}`, which Node-RED fills in from the tab's
 *   environment variables before the node is created. `holdS` missing or empty: 60; 0: no hold.
 * @param {LevelsOptions} opts
 * @returns {Levels | null} Null when the levels are not two numbers with off ≤ on, or the hold is no number of seconds
 *   ≥ 0: the node says so and sends nothing.
 */
function createLevels(RED, node, config, opts) {
  // numberOf: an empty level is no level, not 0.
  const above = numberOf(config.above);
  const below = numberOf(config.below);
  const topic = typeof config.topic === 'string' ? config.topic.trim() : '';
  if (!Number.isFinite(above) || !Number.isFinite(below) || below > above) {
    node.status({ fill: 'red', shape: 'ring', text: RED._(`${opts.catalog}.status.badLevels`) });
    node.error(
      `${opts.type} needs two numbers, "off below" (${config.below}) ≤ "on above" (${config.above}); ` +
        'a ${NAME} left as it is means the tab has no environment variable NAME',
    );
    return null;
  }
  const holdS = config.holdS == null || String(config.holdS).trim() === '' ? DEFAULT_HOLD_S : numberOf(config.holdS);
  if (!Number.isFinite(holdS) || holdS < 0) {
    node.status({ fill: 'red', shape: 'ring', text: RED._(`${opts.catalog}.status.badHold`) });
    node.error(
      `${opts.type} needs "hold at least" (${config.holdS}) to be a number of seconds ≥ 0 (0: no hold); ` +
        'a ${NAME} left as it is means the tab has no environment variable NAME',
    );
    return null;
  }
  const holdMs = holdS * 1000;
  const context = node.context();
  const saved = context.get('on');
  /** The series that are on; every other one is off. */
  const on = new Set(Array.isArray(saved) ? saved.filter((s) => typeof s === 'string').slice(0, MAX_ON) : []);
  /**
   * When each series last changed, oldest first (a change moves its series to the end), for the ones still within
   * their hold: older ones are dropped as changes come, so the map holds no more series than can change in one hold
   * (those on, and those that went off within it: at most twice MAX_ON).
   * @type {Map<string, number>}
   */
  const changedAt = restoredTimes(context.get('changedAt'));
  /** Within the hold after its last change. A wall clock set back ends the hold rather than stretching it. @param {number | undefined} at @param {number} t */
  const held = (at, t) => at !== undefined && t - at >= 0 && t - at < holdMs;
  /** Each kind of refusal is logged once per deploy: a misfit flow must not log every reading. */
  const warned = new Set();
  /** @param {string} kind @param {string} text */
  const warnOnce = (kind, text) => {
    if (!warned.has(kind)) node.warn(`${opts.type}: ${text}`);
    warned.add(kind);
    return null;
  };

  return {
    step(key, series, raw, metric, fields, fallbackTopic) {
      const value = numberOf(raw);
      if ((typeof series !== 'string' && typeof series !== 'number') || !Number.isFinite(value)) return null;
      const id = String(series);
      if (id === '' || id.length > MAX_KEY_LENGTH) return null;
      const was = on.has(id);
      const now = value > above && !was ? 'on' : value < below && was ? 'off' : null;
      if (!now) return null;
      const t = opts.now();
      if (held(changedAt.get(id), t)) return null;
      // Built before the state changes: a message that cannot name its topic changes nothing.
      const target = topic ? fillTopic(topic, fields) : nonEmptyString(fallbackTopic(fields));
      if (target === undefined) {
        return topic
          ? warnOnce('topic', `the topic "${topic}" needs fields a message did not have (${id}); it changed nothing`)
          : warnOnce('topic', `a message without a topic of its own (msg.topic) and no topic set on the node (${id}); it changed nothing`);
      }
      if (now === 'on' && on.size >= MAX_ON) return warnOnce('full', `at most ${MAX_ON} series can be on; ${id} and later ones are left off`);
      if (now === 'on') on.add(id);
      else on.delete(id);
      context.set('on', [...on]);
      changedAt.delete(id);
      if (holdMs > 0) changedAt.set(id, t);
      for (const [old, at] of changedAt) {
        if (held(at, t)) break;
        changedAt.delete(old);
      }
      context.set('changedAt', [...changedAt]);
      opts.status({ fill: on.size > 0 ? 'yellow' : 'green', shape: 'dot', text: RED._(`${opts.catalog}.status.on`, { on: on.size, last: `${id} ${now}` }) });
      const name = typeof metric === 'string' && metric !== '' && metric !== key && !OWN_FIELDS.has(metric) ? metric : 'value';
      return { topic: target, payload: { state: now, [key]: series, [name]: value, threshold: now === 'on' ? above : below, at: new Date(t).toISOString() } };
    },
  };
}

/**
 * The times of the changes as the context kept them (`[series, ms]` pairs), oldest first as `step` keeps them. Read
 * from a file anyone with the editor could have shaped: pairs that are not a series and a time are left out, and no
 * more are taken than the node can hold (twice MAX_ON, see `changedAt`).
 * @param {unknown} saved
 * @returns {Map<string, number>}
 */
function restoredTimes(saved) {
  if (!Array.isArray(saved)) return new Map();
  /** @type {[string, number][]} */
  const pairs = [];
  for (const p of saved.slice(-2 * MAX_ON)) {
    if (Array.isArray(p) && typeof p[0] === 'string' && p[0].length <= MAX_KEY_LENGTH && Number.isFinite(p[1])) pairs.push([p[0], p[1]]);
  }
  return new Map(pairs.sort((a, b) => a[1] - b[1]));
}

/**
 * A reading's value as a number: a number, a boolean (a smoke or leak metric: 1 or 0) or a numeric string. Anything
 * else is NaN and changes nothing: `Number(null)`, `Number('')` and `Number([])` are 0, which would turn a zone off.
 * @param {unknown} raw
 * @returns {number}
 */
function numberOf(raw) {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  return typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
}

/** @param {unknown} v @returns {string | undefined} */
const nonEmptyString = (v) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The topic template with each `{field}` taken from the message: a string or number, with MQTT's wildcards, its level
 * separator and control characters made `_`, so that a field can never widen or move the topic. Undefined when a
 * field is missing or empty (`campus/actuators//fan` is nobody's fan).
 * @param {string} template
 * @param {NodeMessage} fields
 * @returns {string | undefined}
 */
function fillTopic(template, fields) {
  let missing = false;
  const topic = template.replace(/\{(\w+)\}/g, (_m, /** @type {string} */ name) => {
    const v = fields[name];
    const text = typeof v === 'string' || typeof v === 'number' ? String(v) : '';
    if (text === '') missing = true;
    // eslint-disable-next-line no-control-regex
    return text.replace(/[+#/\u0000-\u001f\u007f]/g, '_');
  });
  return missing ? undefined : topic;
}

module.exports = { createLevels };
