// What the console learns from the live event feed (`pay.watchEvents`): signals for open pages
// (an approval was asked or decided, a payment moved, a notification was raised), the notifications
// the person's rules raised, and which events were about which payment (for a payment's story:
// its callbacks' deliveries). Live only and in memory, bounded: what happened before this server
// started is read from the records instead (payments, approvals), and notifications from before
// then are not shown.
import type { AgentPay, Event } from "../index.ts";

/** What an open page is told: which kind of region to refresh. */
export interface Signal {
  readonly kind: "approvals" | "payments" | "notification";
  readonly eventId: string;
  readonly ownerId: string | undefined;
}

export type Listener = (s: Signal) => void;

const MAX_OWNERS_CACHED = 10_000;
const MAX_NOTIFICATIONS_PER_OWNER = 200;
const MAX_NOTIFICATIONS_ALL = 1_000;
const MAX_INBOXES = 10_000;
const MAX_PAYMENTS_INDEXED = 50_000;
const MAX_EVENTS_PER_PAYMENT = 32;
export const MAX_LISTENERS = 1_000;

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export class ConsoleLive {
  readonly #pay: AgentPay;
  readonly #stop: () => void;
  readonly #owners = new Map<string, string>();
  readonly #inboxes = new Map<string, Event[]>();
  readonly #all: Event[] = [];
  readonly #byPayment = new Map<string, string[]>();
  readonly #listeners = new Set<{ ownerId: string | undefined; fn: Listener }>();

  constructor(pay: AgentPay) {
    this.#pay = pay;
    this.#stop = pay.watchEvents((e) => this.#on(e));
  }

  close(): void {
    this.#stop();
    this.#listeners.clear();
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  /** The owner of a wallet ("" when it is unknown), cached (a wallet's owner never changes). */
  ownerOfWallet(walletId: string): string {
    let owner = this.#owners.get(walletId);
    if (owner === undefined) {
      try {
        owner = this.#pay.wallets.get(walletId).ownerId;
      } catch {
        return "";
      }
      if (this.#owners.size >= MAX_OWNERS_CACHED) this.#owners.clear();
      this.#owners.set(walletId, owner);
    }
    return owner;
  }

  /**
   * Signals for one owner (or, with `undefined`, every owner: the operator). Returns the function
   * that stops them; undefined when too many pages listen already.
   */
  listen(ownerId: string | undefined, fn: Listener): (() => void) | undefined {
    if (this.#listeners.size >= MAX_LISTENERS) return undefined;
    const l = { ownerId, fn };
    this.#listeners.add(l);
    return () => { this.#listeners.delete(l); };
  }

  /** Notifications raised since this server started, newest first: one owner's, or everyone's. */
  notifications(ownerId: string | undefined, limit = 100): Event[] {
    const list = ownerId === undefined ? this.#all : (this.#inboxes.get(ownerId) ?? []);
    return list.slice(-limit).reverse();
  }

  /** Ids of the events seen about a payment, oldest first. */
  eventsOfPayment(paymentId: string): readonly string[] {
    return this.#byPayment.get(paymentId) ?? [];
  }

  #on(e: Event): void {
    const subject = e.subject ?? {};
    const owner = subject.walletId ? this.ownerOfWallet(subject.walletId) || undefined : undefined;
    const paymentId = subject.paymentId;
    if (paymentId) {
      let ids = this.#byPayment.get(paymentId);
      if (!ids) {
        if (this.#byPayment.size >= MAX_PAYMENTS_INDEXED) this.#byPayment.delete(this.#byPayment.keys().next().value!);
        this.#byPayment.set(paymentId, (ids = []));
      }
      push(ids, e.id, MAX_EVENTS_PER_PAYMENT);
    }
    let kind: Signal["kind"] | undefined;
    if (e.type === "notification") {
      kind = "notification";
      const n: Event = { id: e.id, type: e.type, createdAtMs: e.createdAtMs, subject: { ...subject }, data: e.data };
      push(this.#all, n, MAX_NOTIFICATIONS_ALL);
      if (owner) {
        let inbox = this.#inboxes.get(owner);
        if (inbox) this.#inboxes.delete(owner);
        else if (this.#inboxes.size >= MAX_INBOXES) this.#inboxes.delete(this.#inboxes.keys().next().value!);
        this.#inboxes.set(owner, (inbox ??= []));
        push(inbox, n, MAX_NOTIFICATIONS_PER_OWNER);
      }
    } else if (e.type === "approval.requested" || e.type === "approval.resolved" || (e.type === "payment.authorized" && subject.approvalId)) {
      kind = "approvals";
    } else if (e.type.startsWith("payment.") || e.type.startsWith("refund.")) {
      kind = "payments";
    }
    if (!kind) return;
    const signal: Signal = { kind, eventId: e.id, ownerId: owner };
    for (const l of this.#listeners) {
      if (l.ownerId !== undefined && l.ownerId !== owner) continue;
      try {
        l.fn(signal);
      } catch {
        // a page's failure is its own
      }
    }
    // An approval decided also moves its payment: budgets and lists change too.
    if (kind === "approvals" && e.type !== "approval.requested") {
      const moved: Signal = { kind: "payments", eventId: e.id, ownerId: owner };
      for (const l of this.#listeners) {
        if (l.ownerId !== undefined && l.ownerId !== owner) continue;
        try {
          l.fn(moved);
        } catch {
          // as above
        }
      }
    }
  }
}
