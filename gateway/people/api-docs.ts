/** The people and card routes (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { blocklistQuery, idParams, noteBody, searchQuery, uidParams } from './routes.js';
import { cardIssueSchema, peopleQuerySchema, personCreateSchema, personUpdateSchema } from './schema.js';

const tag = 'people';

export const peopleRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/people', tag, roles: ANY_ROLE, summary: 'Search people', description: 'Viewers get no card UIDs and may not use `card`.', query: peopleQuerySchema, responses: { 200: { description: '`{items, total}`: persons with cards' } } },
  { method: 'post', path: '/people', tag, roles: ['admin'], summary: 'Add a person', body: personCreateSchema, responses: { 201: { description: 'the person with cards' }, 409: { description: 'the external id is taken' } } },
  { method: 'get', path: '/people/search', tag, roles: ANY_ROLE, summary: 'Find a person (the console\'s search box)', description: 'By name, pinyin initials, external id or class; admin and security also by a card in any printed form. Never returns card UIDs.', query: searchQuery, responses: { 200: { description: '`{items}`: up to `limit` people' } } },
  { method: 'get', path: '/people/:id', tag, roles: ANY_ROLE, summary: 'One person with cards', params: idParams, responses: { 200: { description: 'the person with cards' }, 404: { description: 'no such person' } } },
  { method: 'patch', path: '/people/:id', tag, roles: ['admin'], summary: 'Change a person', params: idParams, body: personUpdateSchema, responses: { 200: { description: 'the person with cards' } } },
  { method: 'post', path: '/people/:id/cards', tag, roles: ['admin'], summary: 'Issue a card', params: idParams, body: cardIssueSchema, responses: { 201: { description: 'the card' }, 409: { description: 'the card is held by someone else' } } },
  { method: 'get', path: '/cards/blocklist', tag, roles: ['admin', 'security'], summary: 'Blocked cards (for offline readers)', query: blocklistQuery, responses: { 200: { description: 'the blocklist, or what changed since a version' } } },
  { method: 'get', path: '/cards/:uid', tag, roles: ['admin', 'security'], summary: 'One card and its holder', params: uidParams, responses: { 200: { description: 'the card with `person`' }, 404: { description: 'no such card' } } },
  { method: 'post', path: '/cards/:uid/lost', tag, roles: ['admin', 'security'], summary: 'Report a card lost', params: uidParams, body: noteBody, responses: { 200: { description: 'the card' }, 409: { description: 'the card is not active' } } },
  { method: 'post', path: '/cards/:uid/block', tag, roles: ['admin'], summary: 'Block a card', params: uidParams, body: noteBody, responses: { 200: { description: 'the card' } } },
  { method: 'post', path: '/cards/:uid/unblock', tag, roles: ['admin', 'security'], summary: 'Unblock a card', description: 'Security may unblock only a card reported lost.', params: uidParams, body: noteBody, responses: { 200: { description: 'the card' } } },
];
