// @ts-check
'use strict';
const { registerCampusNode, fail, fields, pick } = require('./lib/common.js');
/** @typedef {import('./lib/node-red.js').NodeRed} NodeRed */
/** @typedef {import('./lib/node-red.js').CampusNode} CampusNode */
/** @typedef {import('./lib/node-red.js').NodeConfig & { cameraId?: string }} Config The node's settings in the editor. */

/** campus snapshot: takes a camera snapshot now; outputs its id and the JPEG. */
module.exports = /** @param {NodeRed} RED */ function (RED) {
  registerCampusNode(RED, 'campus snapshot', /** @param {Config} config */ (node, api, config) => {
    if (!api.capabilities.snapshots) node.status({ fill: 'grey', shape: 'ring', text: RED._('campus-snapshot.status.noCameras') });

    node.on('input', (msg, send, done) => {
      const p = fields(msg.payload) ?? {};
      const cameraId = pick(config.cameraId, msg.cameraId, p.cameraId);
      if (!cameraId) {
        done(new Error(RED._('campus-snapshot.error.noCamera')));
        return;
      }
      node.status({ fill: 'blue', shape: 'ring', text: `${cameraId}…` });
      api.takeSnapshot(cameraId).then(
        (snap) => {
          node.status({ fill: 'green', shape: 'dot', text: `${cameraId} ${snap.id}` });
          msg.snapshotId = snap.id;
          msg.cameraId = snap.cameraId;
          msg.contentType = snap.contentType;
          msg.takenAt = snap.takenAt;
          msg.event = msg.payload;
          msg.payload = snap.image;
          send(msg);
          done();
        },
        (err) => fail(node, done, err),
      );
    });
  });
};
