/** The campus map routes (routes.ts) for the OpenAPI document. */
import { z } from 'zod';
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { MAP_IMAGE_TYPES } from './image.js';
import { createBody, idParams, pinsBody } from './routes.js';

const admin = ['admin'] as const;
const tag = 'maps';

export const mapRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/maps', tag, roles: ANY_ROLE, summary: 'Campus maps with their pins', description: 'A floor plan is not personal data; it needs a sign-in because it shows where cameras and locks are.', responses: { 200: { description: '`{items}`' } } },
  { method: 'post', path: '/maps', tag, roles: admin, summary: 'Create a map (then upload its picture)', body: createBody, responses: { 201: { description: 'the map' } } },
  { method: 'get', path: '/maps/:id', tag, roles: ANY_ROLE, summary: 'One map', params: idParams, responses: { 200: { description: 'the map' }, 404: { description: 'no such map' } } },
  {
    method: 'put', path: '/maps/:id/image', tag, roles: admin, summary: 'Upload the map\'s picture',
    description: 'The raw picture as the body. Its type is read from its first bytes (PNG, JPEG or WebP), never from the name or content-type; SVG is refused. At most `maps.maxImageBytes` (default 5 MiB).',
    params: idParams, body: z.string(), bodyContentTypes: [...MAP_IMAGE_TYPES, 'application/octet-stream'],
    responses: { 200: { description: 'the map' }, 404: { description: 'no such map' }, 413: { description: 'larger than maps.maxImageBytes; nothing stored' }, 415: { description: 'not a PNG, JPEG or WebP picture' } },
  },
  {
    method: 'get', path: '/maps/:id/image', tag, roles: ANY_ROLE, summary: 'The map\'s picture', params: idParams,
    responses: { 200: { description: 'the picture, with `X-Content-Type-Options: nosniff`', contentType: 'image/png' }, 404: { description: 'no such map, or no picture yet' } },
  },
  { method: 'put', path: '/maps/:id/pins', tag, roles: admin, summary: 'Replace the map\'s pins', description: 'x and y are fractions (0..1) of the picture\'s width and height; each device must exist.', params: idParams, body: pinsBody, responses: { 200: { description: 'the map' }, 404: { description: 'no such map' } } },
  { method: 'delete', path: '/maps/:id', tag, roles: admin, summary: 'Delete a map, its pins and its picture', params: idParams, responses: { 204: { description: 'deleted' }, 404: { description: 'no such map' } } },
];
