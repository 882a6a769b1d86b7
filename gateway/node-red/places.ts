/**
 * The places a campus node can be set to (access points, cameras, zones), as the editor's drop-downs list them
 * and its validation checks them: from the config, plus cameras and sensors registered through the API.
 * Names are `stableName` (Chinese first), the one name Node-RED gets (docs/config.md, Names in three languages).
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { LocalizedName } from '../../config/common.js';
import { stableName } from '../core/localized-name.js';

export interface FlowPlace {
  id: string;
  name: string;
}

export interface FlowAccessPoint extends FlowPlace {
  kind: string;
  /** The gate a `campus gate` node commands here; null when the access point has none. */
  gateId: string | null;
}

export interface FlowPlaces {
  accessPoints: FlowAccessPoint[];
  cameras: FlowPlace[];
  zones: FlowPlace[];
}

/** What the domains know beyond the config file: cameras and sensors added through the API. */
export interface PlaceSources {
  cameras?: (() => { id: string; name: LocalizedName; zones: string[] }[]) | undefined;
  sensorZones?: (() => string[]) | undefined;
}

export function flowPlaces(config: GatewayConfig, sources: PlaceSources): FlowPlaces {
  const accessPoints = config.access.accessPoints.map((a) => ({
    id: a.id,
    name: stableName(a.name, a.id),
    kind: a.kind,
    gateId: a.gateId ?? null,
  }));
  const cams = sources.cameras?.() ?? config.cameras.cameras.map((c) => ({ id: c.id, name: c.name, zones: c.zones }));
  const cameras = cams.map((c) => ({ id: c.id, name: stableName(c.name, c.id) }));
  // A zone is named in `zones`, or only referred to by an access point, camera, sensor or schedule (shown by its id).
  const named = new Map(config.zones.map((z) => [z.id, stableName(z.name, z.id)]));
  const referred = [
    ...config.access.accessPoints.flatMap((a) => (a.zone ? [a.zone] : [])),
    ...cams.flatMap((c) => c.zones),
    ...config.sensors.sensors.map((s) => s.zone),
    ...(sources.sensorZones?.() ?? []),
    ...Object.keys(config.cameras.zoneSchedules),
  ];
  const zones: FlowPlace[] = config.zones.map((z) => ({ id: z.id, name: named.get(z.id)! }));
  const seen = new Set(named.keys());
  for (const id of referred.sort()) {
    if (seen.has(id)) continue;
    seen.add(id);
    zones.push({ id, name: id });
  }
  return { accessPoints, cameras, zones };
}
