import type { FileRow, LeaseRow, SessionStore } from "./store";
import type { UploadSession } from "./session";
import { done, refuse, type Outcome } from "./types";

/**
 * Who may write a place of a file in R2 right now. A tus PATCH writes the upload's next bytes
 * (slot "tus"); a part PUT writes one part (slot "part <n>"). Two requests writing the same
 * place would overwrite each other's R2 part, and the books would then name an ETag R2 no
 * longer has, so the session grants each place to one request at a time, before any byte is
 * written: a second request gets 409 and writes nothing.
 *
 * A lease lives LEASE_MS unless its holder renews it. The holder (LeaseHolder, in the Worker
 * that streams the body) renews it every quarter of that while it works and releases it when
 * it ends, however it ends; a holder that dies with its isolate stops renewing, so its lease
 * expires and the client can resume from what the books say is stored (tus HEAD, GET .../files/<name>).
 */
export const LEASE_MS = 30_000;

export const TUS_SLOT = "tus";
export const partSlot = (n: number): string => `part ${n}`;

/** What a holder carries: the place, its own id, and how long the lease lasts unrenewed. */
export interface Lease {
  name: string;
  slot: string;
  id: string;
  ttlMs: number;
}

/** Grants `slot` of `name` unless a live lease holds it; the refusal says who holds it and for how long at most. */
export function grantLease(
  store: SessionStore,
  name: string,
  slot: string,
  ttlMs: number,
  now: number,
): Outcome<Lease> {
  const held = store.lease(name, slot);
  if (held && held.expires_at > now) return refuse(409, busyProblem(held, now));
  const lease: Lease = { name, slot, id: crypto.randomUUID(), ttlMs };
  store.putLease({ name, slot, id: lease.id, expires_at: now + ttlMs });
  return done(lease);
}

/**
 * Extends a lease its holder still has: its row carries the holder's id. A lease that expired
 * but that nobody took since is still the holder's; one granted again, or removed with its
 * file, is not.
 */
export function renewLease(store: SessionStore, lease: Lease, now: number): Outcome<null> {
  if (!holdsLease(store, lease)) return refuse(409, lostProblem(lease));
  store.putLease({ name: lease.name, slot: lease.slot, id: lease.id, expires_at: now + lease.ttlMs });
  return done(null);
}

export function releaseLease(store: SessionStore, lease: Lease): void {
  store.dropLease(lease.name, lease.slot, lease.id);
}

export function holdsLease(store: SessionStore, lease: Lease): boolean {
  return store.lease(lease.name, lease.slot)?.id === lease.id;
}

/** Live leases on `name` other than `own`: writes still under way, which completing the file must wait for. */
export function othersWriting(store: SessionStore, name: string, now: number, own?: Lease): LeaseRow[] {
  return store.liveLeases(name, now).filter((row) => row.id !== own?.id);
}

export function busyProblem(held: LeaseRow, now: number): string {
  const seconds = Math.max(1, Math.ceil((held.expires_at - now) / 1000));
  const died = `(a request whose connection died holds it for ${seconds} s more at most)`;
  if (held.slot === TUS_SLOT) {
    return (
      `another PATCH of ${held.name} is storing bytes right now: send one PATCH at a time; when it ends, ` +
      `HEAD the upload URL and resume from its Upload-Offset ${died}`
    );
  }
  return (
    `${held.slot} of ${held.name} is arriving in another request right now: wait for it to end, then check ` +
    `GET .../files/${held.name} for the parts received ${died}`
  );
}

export function lostProblem(lease: Lease): string {
  if (lease.slot === TUS_SLOT) {
    return (
      `this PATCH of ${lease.name} lost its hold on the upload (it was removed, or another PATCH took over ` +
      `after this one went silent): HEAD the upload URL and resume from its Upload-Offset`
    );
  }
  return (
    `this request lost its hold on ${lease.slot} of ${lease.name} (the file was removed, or another request ` +
    `took the part over after this one went silent): check GET .../files/${lease.name} and send the part ` +
    `again if it is missing`
  );
}

/** Why a file that is no longer arriving takes no more bytes: only an explicit DELETE changes it. */
export function settledProblem(row: Pick<FileRow, "name" | "state" | "size">): string {
  const what =
    row.state === "sent" ? "has already been sent to the toolkit" : `is already staged (${row.size} bytes, complete)`;
  return (
    `${row.name} ${what}; a file in state "${row.state}" takes no more parts: to replace it, DELETE ` +
    `.../files/${row.name} first, then send it again`
  );
}

type SessionStub = DurableObjectStub<UploadSession>;

/**
 * The Worker's side of a lease: renews it in the background while the request streams its
 * body, and releases it at the end. `signal` aborts once the lease is known to be lost, so
 * a stream feeding R2 can be stopped before it replaces someone else's bytes.
 */
export class LeaseHolder {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly lostController = new AbortController();
  private released = false;

  constructor(
    /** The session granting the lease; the holder's request tells it what it stored. */
    readonly stub: SessionStub,
    readonly lease: Lease,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(10, Math.floor(lease.ttlMs / 4)));
  }

  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  get lost(): boolean {
    return this.lostController.signal.aborted;
  }

  /** Renews now; false once the lease is gone. A session that cannot be asked does not count as a loss. */
  async renew(): Promise<boolean> {
    if (this.lost || this.released) return !this.lost;
    try {
      const renewed = await this.stub.renewLease(this.lease);
      if (!renewed.ok) this.lostController.abort(new Error(renewed.error));
    } catch {
      // The next heartbeat tries again; the session checks the lease again when bytes are recorded.
    }
    return !this.lost;
  }

  /** The refusal for a request whose lease is gone. */
  problem(): Outcome<never> {
    return refuse(409, lostProblem(this.lease));
  }

  /** A write that failed because the lease was lost (its file removed, say) says so; any other failure is rethrown. */
  async explain(error: unknown): Promise<Outcome<never>> {
    if (!(await this.renew())) return this.problem();
    throw error;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if (!this.lost) await this.stub.releaseLease(this.lease).catch(() => {});
  }
}
