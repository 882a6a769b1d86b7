// @ts-check
'use strict';
const { registerCampusNode, stopOnClose, throttledStatus, pick, msgId } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { kind?: string }} Config The node's settings in the editor. */

/** campus event: every gateway bus event of a kind (`camera.event`, `camera.state`, `lockdown.changed`, …). */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus event', /** @param {Config} config */ (node, api, config) => {
    const kind = pick(config.kind);
    if (!kind) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('campus-event.status.noKind') });
      return;
    }
    const status = throttledStatus(node);
    const off = api.onEvent(kind, (event) => {
      status({ fill: 'blue', shape: 'dot', text: kind });
      node.send({ _msgid: msgId(), topic: `campus/events/${kind}`, payload: event, kind });
    });
    stopOnClose(node, off, status);
  });
};
