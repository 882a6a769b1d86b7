import type { Client } from 'aedes';
import type { Identity } from './acl.js';

/**
 * Who holds which MQTT client id (issue 17, docs/security.md).
 *
 * MQTT lets a CONNECT with a known client id take the id over: the broker closes the connected client and hands the
 * newcomer its persistent session (subscriptions and queued messages). On a shared school LAN that means any login
 * could kick a gate off the broker or read a canteen terminal's queue. So an id belongs to one identity:
 * - the id of a configured device or service (its username) is reserved to that login, always;
 * - any other id is bound to the identity that first holds it, while a connection holds it or a persistent session
 *   is stored under it, and is free again once neither is true.
 * The owner may take its own id over (a device reconnecting before the broker noticed it went); device firmware
 * keeps whatever client id it has.
 */

/** The party an id belongs to: a device or service login, or "anonymous" (demo mode) as one party. */
export type Owner = string;

const login = (kind: 'device' | 'service', id: string): Owner => `${kind}:${id}`;

export function ownerOf(who: Identity): Owner {
  return who.kind === 'anonymous' ? 'anonymous' : login(who.kind, who.id);
}

/** Every device id and service username with a broker login, reserved to that login; a device wins a clash, as at login. */
export function reservedIds(devices: readonly { id: string }[], services: readonly { username: string }[]): Map<string, Owner> {
  const reserved = new Map<string, Owner>(services.map((s) => [s.username, login('service', s.username)]));
  for (const d of devices) reserved.set(d.id, login('device', d.id));
  return reserved;
}

export type Claim = { ok: true } | { ok: false; reason: 'reserved' | 'held' };

interface Binding {
  owner: Owner;
  /** Connections that authenticated with this id and have not closed yet. */
  live: Set<object>;
  /** The last connection asked for a persistent session (clean: false); Aedes keeps it after the connection. */
  persistent: boolean;
  /** Bumped on every change, so a late answer about a stored session cannot drop a binding that moved on. */
  version: number;
}

export class ClientIds {
  private readonly bindings = new Map<string, Binding>();

  /**
   * @param reserved client id → its owner: every device id and service username with a broker login.
   * @param sessionStored whether the broker still keeps a persistent session (subscriptions) for an id.
   */
  constructor(
    private readonly reserved: ReadonlyMap<string, Owner>,
    private readonly sessionStored: (clientId: string) => Promise<boolean>,
  ) {}

  /**
   * Takes `clientId` for `owner` on behalf of `conn`, or says why not. Synchronous, so of two CONNECTs racing for
   * one id exactly one wins. The caller must call `release` when `conn` closes.
   */
  claim(clientId: string, owner: Owner, conn: object, clean: boolean): Claim {
    const reservedTo = this.reserved.get(clientId);
    if (reservedTo !== undefined) return reservedTo === owner ? { ok: true } : { ok: false, reason: 'reserved' };
    let b = this.bindings.get(clientId);
    if (b && b.owner !== owner) return { ok: false, reason: 'held' };
    if (!b) this.bindings.set(clientId, (b = { owner, live: new Set(), persistent: false, version: 0 }));
    b.live.add(conn);
    // A clean start discards a stored session (MQTT 3.1.1 §3.1.2.4); a persistent one keeps or starts one.
    b.persistent = !clean;
    b.version++;
    return { ok: true };
  }

  /**
   * `claim` for a connecting Aedes client (called from `authenticate`, before Aedes registers the client and so
   * before it would close another one with the same id), released when its connection closes.
   */
  hold(client: Pick<Client, 'id' | 'clean' | 'conn' | 'closed'>, who: Identity): Claim {
    // Gone while its password was checked: Aedes drops it; a claim now would never be released.
    if (client.closed || client.conn.destroyed) return { ok: true };
    const claim = this.claim(client.id, ownerOf(who), client, client.clean);
    if (claim.ok) client.conn.once('close', () => this.release(client.id, client));
    return claim;
  }

  /** `conn`, which claimed `clientId`, has closed. */
  release(clientId: string, conn: object): void {
    const b = this.bindings.get(clientId);
    if (!b?.live.delete(conn) || b.live.size > 0) return;
    const version = ++b.version;
    if (!b.persistent) {
      this.bindings.delete(clientId);
      return;
    }
    // A persistent session without subscriptions keeps nothing worth protecting; dropping its binding keeps the map
    // as small as the broker's own store of sessions.
    this.sessionStored(clientId).then(
      (stored) => {
        if (!stored && this.bindings.get(clientId) === b && b.version === version) this.bindings.delete(clientId);
      },
      () => {}, // unknown: keep the binding, the safe side
    );
  }
}
