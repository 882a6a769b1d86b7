/**
 * Names of places, zones, cameras, sensors and people, in the console's language. The gateway gives a place's or
 * device's name as one string or as `{zh, ko, en}` (config/common.ts `localizedName`); `localName` picks the one to
 * show (current language, then en, zh, ko, then the id), so every page falls back alike. Names that alert data gives
 * only by id are looked up once per tab and forgotten at sign-out.
 */
import { getJson, isConnectionError } from './api.js';
import { asList, isObj, str, type Json } from './data.js';
import { lang, type Lang } from './i18n/index.js';
import type { Alert } from './types.js';

const FALLBACK: readonly Lang[] = ['en', 'zh', 'ko'];

/** The name to show for `name` (a string or `{zh, ko, en}`, as the gateway sent it); the id when there is none. */
export function localName(name: unknown, id: string): string {
  if (typeof name === 'string' && name.trim()) return name;
  if (isObj(name)) {
    for (const l of [lang(), ...FALLBACK]) {
      const v = name[l];
      if (typeof v === 'string' && v.trim()) return v;
    }
  }
  return id;
}

/** An item's name by its `name` field, else its id. */
export const nameOf = (item: Json): string => localName(item.name, str(item, 'id') ?? '');

const places = new Map<string, unknown>();
const zones = new Map<string, unknown>();
const cameras = new Map<string, unknown>();
const sensors = new Map<string, unknown>();
const readers = new Map<string, unknown>();
const people = new Map<number, string>();
/** What has been asked for (answered or refused); a lookup the gateway did not answer is asked again later. */
const asked = new Set<string>();

const known = (names: Map<string, unknown>, id: string): string | undefined => (names.has(id) ? localName(names.get(id), id) : undefined);
export const placeName = (id: string): string | undefined => known(places, id);
export const zoneName = (id: string): string | undefined => known(zones, id);
export const cameraName = (id: string): string | undefined => known(cameras, id);
export const sensorName = (id: string): string | undefined => known(sensors, id);
/** A reader's or canteen terminal's name. */
export const readerName = (id: string): string | undefined => known(readers, id);
export const personName = (id: number | undefined): string | undefined => (id === undefined ? undefined : people.get(id));

async function ask(what: string, load: () => Promise<void>): Promise<boolean> {
  if (asked.has(what)) return false;
  asked.add(what);
  try {
    await load();
    return true;
  } catch (err) {
    if (isConnectionError(err)) asked.delete(what);
    return false;
  }
}

/** Looks up the names these alerts refer to that are not known yet; true when something was learnt. */
/** Access points' and zones' names, which `/access-points` gives together. */
async function learnPlaces(): Promise<void> {
  const answer = await getJson<unknown>('/access-points', { taps: 0 });
  rememberPlaces(answer);
}

/** Keeps the names in an `/access-points` answer (pages that load it anyway hand it over). */
export function rememberPlaces(answer: unknown): void {
  for (const ap of asList(answer, 'accessPoints')) {
    const id = str(ap, 'id');
    if (id) places.set(id, ap.name);
    for (const r of asList(ap.readers)) {
      const rid = str(r, 'id');
      if (rid) readers.set(rid, r.name);
    }
  }
  for (const z of asList(isObj(answer) ? answer.zones : undefined)) {
    const id = str(z, 'id');
    if (id) zones.set(id, z.name);
  }
}

/** Learns access point, zone and reader names once (pages that show zones call it before drawing). */
export const learnPlaceNames = (): Promise<boolean> => ask('places', learnPlaces);

export async function learnNames(alerts: Alert[]): Promise<boolean> {
  const jobs: Promise<boolean>[] = [];
  if (alerts.some((a) => a.accessPoint || a.zone || typeof a.data.readerId === 'string')) jobs.push(ask('places', learnPlaces));
  if (alerts.some((a) => typeof a.data.sensorId === 'string')) {
    jobs.push(
      ask('sensors', async () => {
        for (const x of asList(await getJson<unknown>('/sensors'), 'sensors')) {
          const id = str(x, 'id');
          if (id && x.name !== undefined && x.name !== null) sensors.set(id, x.name);
        }
      }),
    );
  }
  if (alerts.some((a) => typeof a.data.cameraId === 'string')) {
    jobs.push(
      ask('cameras', async () => {
        for (const c of asList(await getJson<unknown>('/cameras'), 'cameras')) {
          const id = str(c, 'id');
          if (id && c.name !== undefined) cameras.set(id, c.name);
        }
      }),
    );
  }
  for (const a of alerts) {
    const id = a.data.personId;
    if (typeof id !== 'number' || !Number.isInteger(id)) continue;
    jobs.push(
      ask(`person:${id}`, async () => {
        const name = str(await getJson<Record<string, unknown>>(`/people/${id}`), 'name');
        if (name) people.set(id, name);
      }),
    );
  }
  return (await Promise.all(jobs)).some(Boolean);
}

export function forgetNames(): void {
  places.clear();
  zones.clear();
  cameras.clear();
  sensors.clear();
  readers.clear();
  people.clear();
  asked.clear();
}
