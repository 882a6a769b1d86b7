// @ts-check
'use strict';
const { registerCampusNode, fail, fields, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { scope?: string, period?: string, className?: string, externalId?: string }} Config The node's settings in the editor. */

/** campus attendance: a person's or a class's attendance today or this week (Monday to today). */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus attendance', /** @param {Config} config */ (node, api, config) => {
    if (!api.capabilities.attendance) node.status({ fill: 'grey', shape: 'ring', text: RED._('campus-attendance.status.noAttendance') });
    const scope = config.scope === 'class' ? 'class' : 'person';

    node.on('input', (msg, send, done) => {
      const period = pick(msg.period, config.period) || 'today';
      const p = fields(msg.payload) ?? {};
      const person = fields(msg.person) ?? fields(p.person) ?? null;
      let lookup;
      if (scope === 'class') {
        const cls = pick(config.className, msg.class, p.class, person && person.class);
        lookup = api.classAttendance(cls, period);
      } else {
        const externalId = pick(config.externalId, msg.externalId, p.externalId, person && person.externalId);
        const rawId = msg.personId !== undefined ? msg.personId : p.personId !== undefined ? p.personId : person && person.id;
        const personId = externalId ? undefined : rawId === undefined || rawId === null ? undefined : Number(rawId);
        lookup = api.personAttendance({ personId, externalId }, period);
      }
      lookup.then(
        (result) => {
          if (result === null) {
            const text = RED._('campus-attendance.status.noSuchPerson');
            node.status({ fill: 'yellow', shape: 'ring', text });
            done(new Error(text));
            return;
          }
          if (scope === 'person') {
            const one = /** @type {import('./lib/node-red.js').PersonAttendance} */ (result);
            const today = one.days[one.days.length - 1];
            node.status({ fill: 'green', shape: 'dot', text: `${one.person.name}: ${today && today.status ? today.status : '-'}` });
          } else {
            node.status({ fill: 'green', shape: 'dot', text: `${/** @type {import('./lib/node-red.js').ClassAttendance} */ (result).class}` });
          }
          msg.attendance = result;
          msg.payload = result;
          send(msg);
          done();
        },
        (err) => fail(node, done, err),
      );
    });
  });
};
