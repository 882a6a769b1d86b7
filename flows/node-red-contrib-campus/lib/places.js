// @ts-check
'use strict';
/**
 * Admin endpoints below the editor root that fill the editor's access point, camera and zone drop-downs (and let
 * the editor flag a node set to an id the gateway does not know): GET campus/access-points, campus/cameras,
 * campus/zones. Anyone who may read flows may read these (`campus.read`: the security role's `read` covers it).
 */

/** @typedef {import('./node-red.js').NodeRed} NodeRed */
/** @typedef {import('./node-red.js').FlowPlaces} FlowPlaces */

/** @type {Record<string, keyof FlowPlaces>} */
const LISTS = { 'access-points': 'accessPoints', cameras: 'cameras', zones: 'zones' };

/**
 * Each node file that has a place field calls this; the routes are added once per editor app.
 * @type {WeakSet<object>}
 */
const registered = new WeakSet();

/** @param {NodeRed} RED */
function registerPlaceLists(RED) {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  for (const [path, key] of Object.entries(LISTS)) {
    RED.httpAdmin.get(`/campus/${path}`, RED.auth.needsPermission('campus.read'), (_req, res) => {
      const api = RED.settings.campus;
      if (!api || typeof api.places !== 'function') {
        // A plain Node-RED: the editor keeps free text fields and flags nothing.
        res.status(503).json({ error: 'unavailable', message: 'campus nodes run only inside the campus gateway' });
        return;
      }
      res.json(api.places()[key]);
    });
  }
}

module.exports = { registerPlaceLists };
