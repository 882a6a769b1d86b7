/**
 * Packet sizes checked at the socket, before a packet is buffered: by the embedded broker on every client connection
 * (gateway/broker/connection-gate.ts) and by the city link on what the city's broker sends (cloud-sync).
 * mqtt-packet (Aedes' and mqtt.js' parser) keeps every byte of a packet until it is complete, so a CONNECT that
 * declares 250 MB and then streams would grow the gateway's memory by whatever it streams. This reads only the
 * fixed header of each packet (type and remaining length, at most 5 bytes, split across chunks as TCP pleases) and
 * skips the body by counting, so it costs a few operations per packet and holds no bytes of its own.
 *
 * The offline-upload topic may carry larger packets (a terminal's batch of offline sales). For a PUBLISH bigger than
 * the general limit but within that one, the topic at the start of the variable header is read (at most
 * MAX_TOPIC_PEEK bytes, kept only until it is complete) and the packet is allowed only if the topic matches. Which
 * client may publish there is still the ACL's decision once the packet is in; this only bounds the size.
 */
import { levelsMatch } from './mqtt-port.js';
import { topicFilters } from './topics.js';

/** MQTT 3.1.1 packet types (the high nibble of the first byte). */
const CONNECT = 1;
const PUBLISH = 3;

/** A CONNECT carries a client id, credentials and a will: 4 KiB holds any sane one (a Tasmota or Zigbee2MQTT LWT). */
export const CONNECT_MAX_BYTES = 4096;
/** Topics are short; one longer than this cannot be the offline-upload topic. */
const MAX_TOPIC_PEEK = 512;
export const OFFLINE_UPLOAD_FILTER = topicFilters.readerOfflineUploads;
const offlineLevels = OFFLINE_UPLOAD_FILTER.split('/');

export interface PacketLimits {
  maxPacketBytes: number;
  offlineUploadMaxBytes: number;
}

export type ScanVerdict = { ok: true } | { ok: false; reason: 'packet_too_large' | 'malformed_packet'; detail: string };

const OK: ScanVerdict = { ok: true };

type State = 'type' | 'length' | 'topic' | 'body';

/** Follows the packet boundaries of one connection's inbound byte stream. */
export class PacketScanner {
  private state: State = 'type';
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Body bytes still to skip. */
  private left = 0;
  private topicHead: Buffer[] = [];
  private topicHeadBytes = 0;

  constructor(private readonly limits: PacketLimits) {}

  /** Feeds the next chunk; a verdict other than ok means the connection must be closed now. */
  scan(chunk: Buffer): ScanVerdict {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case 'body': {
          const take = Math.min(this.left, n - i);
          this.left -= take;
          i += take;
          if (this.left === 0) this.state = 'type';
          break;
        }
        case 'type':
          this.type = chunk[i++]! >> 4;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          this.state = 'length';
          break;
        case 'length': {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          if (++this.lengthBytes > 4) return { ok: false, reason: 'malformed_packet', detail: 'remaining length longer than 4 bytes' };
          if (byte & 0x80) break;
          const verdict = this.headerDone();
          if (!verdict.ok) return verdict;
          break;
        }
        case 'topic': {
          const take = Math.min(this.left, n - i, MAX_TOPIC_PEEK + 2 - this.topicHeadBytes);
          this.topicHead.push(chunk.subarray(i, i + take));
          this.topicHeadBytes += take;
          this.left -= take;
          i += take;
          const verdict = this.topicStep();
          if (!verdict.ok) return verdict;
          break;
        }
      }
    }
    return OK;
  }

  private headerDone(): ScanVerdict {
    const size = this.length;
    const { maxPacketBytes, offlineUploadMaxBytes } = this.limits;
    this.left = size;
    this.state = size === 0 ? 'type' : 'body';
    if (this.type === CONNECT) {
      if (size > CONNECT_MAX_BYTES) return tooLarge('CONNECT', size, CONNECT_MAX_BYTES);
      return OK;
    }
    if (size <= maxPacketBytes) return OK;
    if (this.type === PUBLISH && size <= offlineUploadMaxBytes) {
      this.state = 'topic';
      this.topicHead = [];
      this.topicHeadBytes = 0;
      return OK;
    }
    return tooLarge(this.type === PUBLISH ? 'PUBLISH' : `packet type ${this.type}`, size, maxPacketBytes);
  }

  /** With the first bytes of a large PUBLISH in: decides once its topic is complete. */
  private topicStep(): ScanVerdict {
    const head = this.topicHead.length === 1 ? this.topicHead[0]! : Buffer.concat(this.topicHead);
    this.topicHead = [head];
    if (head.length < 2) return this.left > 0 ? OK : malformed();
    const topicLength = head.readUInt16BE(0);
    if (topicLength > MAX_TOPIC_PEEK) return tooLarge('PUBLISH', this.length, this.limits.maxPacketBytes);
    if (head.length < 2 + topicLength) return this.left > 0 ? OK : malformed();
    const topic = head.toString('utf8', 2, 2 + topicLength);
    this.topicHead = [];
    if (!levelsMatch(offlineLevels, topic.split('/'))) return tooLarge(`PUBLISH on ${topic}`, this.length, this.limits.maxPacketBytes);
    this.state = this.left > 0 ? 'body' : 'type';
    return OK;
  }
}

function tooLarge(what: string, size: number, limit: number): ScanVerdict {
  return { ok: false, reason: 'packet_too_large', detail: `${what} of ${size} bytes (limit ${limit})` };
}

function malformed(): ScanVerdict {
  return { ok: false, reason: 'malformed_packet', detail: 'PUBLISH shorter than its topic' };
}
