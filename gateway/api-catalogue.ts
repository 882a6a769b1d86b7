/**
 * Every route under /api/v1, from each folder's `api-docs.ts`, and the OpenAPI document built from them. It sits
 * at the top beside compose.ts because it gathers the drivers' and cloud sync's routes too (the boundary rules let
 * these two files, and no other gateway file, import them). Served at GET /api/v1/openapi.json and written to
 * docs/openapi.json by `npm run openapi`.
 */
import { accessRouteDocs } from './access/api-docs.js';
import { alertRouteDocs } from './alerts/api-docs.js';
import { attendanceRouteDocs } from './attendance/api-docs.js';
import { cameraRouteDocs } from './cameras/api-docs.js';
import { syncRouteDocs } from '../cloud-sync/api-docs.js';
import { controllerRouteDocs } from '../drivers/controllers/uhppote/api-docs.js';
import { readerRouteDocs } from '../drivers/rfid/api-docs.js';
import { packageInfo } from './core/version.js';
import { httpRouteDocs } from './http/api-docs.js';
import { buildOpenApi } from './http/openapi.js';
import type { RouteDoc } from './http/route-docs.js';
import { mapRouteDocs } from './maps/api-docs.js';
import { notifyRouteDocs } from './notify/api-docs.js';
import { peopleRouteDocs } from './people/api-docs.js';
import { privacyRouteDocs } from './privacy/api-docs.js';
import { rosterRouteDocs } from './roster/api-docs.js';
import { sensorRouteDocs } from './sensors/api-docs.js';
import { timelineRouteDocs } from './timeline/api-docs.js';
import { walletRouteDocs } from './wallet/api-docs.js';

export const apiRoutes: readonly RouteDoc[] = [
  ...httpRouteDocs,
  ...alertRouteDocs,
  ...rosterRouteDocs,
  ...peopleRouteDocs,
  ...accessRouteDocs,
  ...walletRouteDocs,
  ...attendanceRouteDocs,
  ...notifyRouteDocs,
  ...sensorRouteDocs,
  ...cameraRouteDocs,
  ...timelineRouteDocs,
  ...syncRouteDocs,
  ...privacyRouteDocs,
  ...mapRouteDocs,
  ...readerRouteDocs,
  ...controllerRouteDocs,
];

/** The OpenAPI 3.1 document of /api/v1. */
export function apiDocument(): Record<string, unknown> {
  return buildOpenApi(apiRoutes, {
    title: 'campus-edge-gateway API',
    version: packageInfo().version,
    description: 'The REST API of the school gateway, under /api/v1. Errors are `{"error":{"code","message"}}`; see docs/rest-api.md.',
  });
}
