/** The camera, snapshot, live video and clip routes (routes.ts, live/routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { clipParams, liveQuery, idParams as liveParams } from './live/routes.js';
import { cameraCreateSchema, cameraUpdateSchema } from './registry.js';
import { idParams, presetParams, snapshotParams, snapshotQuery } from './routes.js';

const tag = 'cameras';
const admin = ['admin'] as const;
const staff = ['admin', 'security'] as const;

export const cameraRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/cameras', tag, roles: ANY_ROLE, summary: 'Cameras and their state', responses: { 200: { description: '`{items}`' } } },
  { method: 'post', path: '/cameras/discover', tag, roles: admin, summary: 'Find ONVIF cameras on the network', responses: { 200: { description: '`{items}`' } } },
  { method: 'get', path: '/cameras/:id', tag, roles: ANY_ROLE, summary: 'One camera', params: idParams, responses: { 200: { description: 'the camera' }, 404: { description: 'no such camera' } } },
  { method: 'post', path: '/cameras', tag, roles: admin, summary: 'Add a camera', body: cameraCreateSchema, responses: { 201: { description: 'the camera' }, 409: { description: 'the id is taken' } } },
  { method: 'put', path: '/cameras/:id', tag, roles: admin, summary: 'Change a camera', params: idParams, body: cameraUpdateSchema, responses: { 200: { description: 'the camera' }, 409: { description: 'a camera from the config file' } } },
  { method: 'delete', path: '/cameras/:id', tag, roles: admin, summary: 'Remove a camera', params: idParams, responses: { 204: { description: 'removed' } } },
  { method: 'post', path: '/cameras/:id/ptz/:preset', tag, roles: staff, summary: 'Move to a PTZ preset', params: presetParams, responses: { 200: { description: 'the result' }, 502: { description: 'the camera failed' }, 504: { description: 'the camera timed out' } } },
  { method: 'get', path: '/cameras/:id/snapshot', tag, roles: staff, summary: 'The latest (or a fresh) picture', params: idParams, query: snapshotQuery, responses: { 200: { description: 'the picture', contentType: 'image/jpeg' }, 502: { description: 'the camera failed' }, 504: { description: 'the camera timed out' } } },
  { method: 'get', path: '/snapshots/:id', tag, roles: staff, summary: 'A stored picture', params: snapshotParams, responses: { 200: { description: 'the picture', contentType: 'image/jpeg' }, 404: { description: 'no such picture' } } },
  {
    method: 'get',
    path: '/cameras/:id/live',
    tag,
    roles: staff,
    summary: 'Live video (fragmented MP4)',
    description: 'Viewers too when `cameras.liveForViewers` is on. Ends within 5 s of its session ending.',
    params: liveParams,
    query: liveQuery,
    responses: {
      200: { description: 'fragmented MP4 until the client leaves or its session ends', contentType: 'video/mp4' },
      429: { description: 'this user already watches `cameras.liveMaxPerUser` streams' },
      503: { description: 'no video for this camera' },
    },
  },
  { method: 'get', path: '/clips/:id/info', tag, roles: staff, summary: "A clip's details", params: clipParams, responses: { 200: { description: 'the clip' }, 404: { description: 'no such clip' } } },
  { method: 'get', path: '/clips/:id', tag, roles: staff, summary: 'A clip', params: clipParams, responses: { 200: { description: 'the clip', contentType: 'video/mp4' }, 404: { description: 'no such clip, or pruned' }, 409: { description: 'the clip failed' } } },
];
