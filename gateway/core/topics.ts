/**
 * Every MQTT topic of the gateway in one place (docs/mqtt.md): builders for one device's topic and the filters
 * that match them all. The broker's ACL, the reader and sensor drivers, the access domain and Node-RED read
 * them from here, so a topic cannot be spelt two ways.
 */

const ROOT = 'campus';

export const topics = {
  /** A reader's subtree, which its broker login may use (`campus/readers/<id>`, `…/#`). */
  reader: (readerId: string): string => `${ROOT}/readers/${readerId}`,
  /** A card tapped at a network reader (the reader publishes). */
  readerTap: (readerId: string): string => `${ROOT}/readers/${readerId}/tap`,
  /** The gateway's answer to a tap. */
  readerDecision: (readerId: string): string => `${ROOT}/readers/${readerId}/decision`,
  /** A terminal's upload of sales made offline, and the gateway's answer. */
  readerOffline: (readerId: string): string => `${ROOT}/readers/${readerId}/offline`,
  readerOfflineResult: (readerId: string): string => `${ROOT}/readers/${readerId}/offline/result`,
  /** Open a gate (the gateway publishes, the gate's controller subscribes). */
  gateCommand: (gateId: string): string => `${ROOT}/gates/${gateId}/command`,
  /** A sensor in the gateway's own format. */
  sensor: (sensorId: string): string => `${ROOT}/sensors/${sensorId}`,
  /** A bus event mirrored to the broker. */
  event: (kind: string): string => `${ROOT}/events/${kind}`,
  /** An alert change, by severity. */
  alert: (severity: string): string => `${ROOT}/alerts/${severity}`,
  /** The lost-card blocklist terminals keep (retained). */
  cardBlocklist: `${ROOT}/cards/blocklist`,
} as const;

export const topicFilters = {
  readerTaps: `${ROOT}/readers/+/tap`,
  readerDecisions: `${ROOT}/readers/+/decision`,
  readerOfflineUploads: `${ROOT}/readers/+/offline`,
  readerOfflineResults: `${ROOT}/readers/+/offline/result`,
  sensors: `${ROOT}/sensors/+`,
  events: `${ROOT}/events/#`,
  alerts: `${ROOT}/alerts/#`,
  gates: `${ROOT}/gates/#`,
  cards: `${ROOT}/cards/#`,
  actuators: `${ROOT}/actuators/#`,
  notify: `${ROOT}/notify/#`,
  gateway: `${ROOT}/gateway/#`,
} as const;

/** Whether a topic is a tap from a reader (`campus/readers/<id>/tap`). */
export const isReaderTapTopic = (topic: string): boolean => topic.startsWith(`${ROOT}/readers/`) && topic.endsWith('/tap');

/** The sensor id of `campus/sensors/<id>`, or null for any other topic. */
export function sensorIdOf(topic: string): string | null {
  const prefix = `${ROOT}/sensors/`;
  if (!topic.startsWith(prefix)) return null;
  const id = topic.slice(prefix.length);
  return id && !id.includes('/') ? id : null;
}
