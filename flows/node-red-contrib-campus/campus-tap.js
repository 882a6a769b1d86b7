// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, fields, pick, msgId } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { accessPoint?: string, result?: string, direction?: string, role?: string, firstOfDay?: boolean, arrival?: string }} Config The node's settings in the editor. */

/** campus tap: every access decision (`tap.decided`), filtered by access point, result, direction and role. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus tap', /** @param {Config} config */ (node, api, config) => {
    const accessPoint = pick(config.accessPoint);
    const result = config.result || 'any';
    const direction = config.direction || 'any';
    const role = config.role || 'any';
    const firstOfDay = config.firstOfDay === true;
    const arrival = config.arrival === 'late' || config.arrival === 'onTime' ? config.arrival : 'any';
    const status = throttledStatus(node);
    // Person → school date of the tap we passed on, for "first tap of the day"; reset when the date changes.
    let seenDate = '';
    let seen = new Set();
    // Made once: building an Intl formatter costs far more than formatting with it, and this runs on every tap.
    const schoolDate = new Intl.DateTimeFormat('en-CA', { timeZone: api.school.timezone });

    const off = api.onEvent('tap.decided', (event) => {
      if (!event || typeof event !== 'object') return;
      // The bus event as published (gateway/core/taps.ts); each field is checked where it is used.
      const d = /** @type {import('./lib/node-red.js').NodeMessage} */ (event);
      if (accessPoint && d.accessPointId !== accessPoint) return;
      if (result === 'granted' && d.granted !== true) return;
      if (result === 'denied' && d.granted !== false) return;
      if (direction !== 'any' && d.direction !== direction) return;
      const person = fields(d.person);
      if (role !== 'any' && (!person || person.role !== role)) return;
      if (firstOfDay) {
        // Without a time there is no school date to count the first tap in (an invalid Date would throw in format()).
        if (!person || typeof d.at !== 'number') return;
        const date = schoolDate.format(new Date(d.at));
        if (date !== seenDate) {
          seenDate = date;
          seen = new Set();
        }
        if (seen.has(person.id)) return;
        seen.add(person.id);
      }
      // After the first-of-day mark: it is the day's first tap that is late or not, never a later re-entry.
      if (arrival !== 'any') {
        const late = api.afterArrivalCutoff(d);
        if (late === null || late !== (arrival === 'late')) return;
      }
      const who = person ? person.name : d.uid;
      status(d.granted
        ? { fill: 'green', shape: 'dot', text: `${d.accessPointId}: ${who}` }
        : { fill: 'red', shape: 'ring', text: `${d.accessPointId}: ${d.reason}` });
      node.send({
        _msgid: msgId(),
        topic: `campus/taps/${d.accessPointId}`,
        payload: d,
        granted: d.granted,
        reason: d.reason,
        person: d.person,
        accessPoint: d.accessPointId,
      });
    });
    stopOnClose(node, off, status);
  });
};
