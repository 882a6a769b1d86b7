/** The roster import route (routes.ts) for the OpenAPI document. */
import { z } from 'zod';
import type { RouteDoc } from '../http/route-docs.js';
import { importQuery } from './routes.js';

export const rosterRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/people/import',
    tag: 'people',
    roles: ['admin'],
    summary: 'Import the roster (CSV)',
    description: 'The CSV file as the body (UTF-8 or GB18030), up to roster.maxBytes; one import at a time.',
    query: importQuery,
    body: z.string(),
    bodyContentTypes: ['text/csv', 'text/plain', 'application/csv', 'application/vnd.ms-excel', 'application/octet-stream'],
    responses: {
      200: { description: 'the import report: applied (or a clean dry run)' },
      409: { description: 'another roster import is running' },
      413: { description: 'the file is larger than roster.maxBytes' },
      422: { description: 'the import report: understood but not applied' },
    },
  },
];
