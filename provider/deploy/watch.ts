/**
 * The watch loop: keeps the rules of Docker hosts equal to the containers they run. Per host it
 * follows an event stream; an event marks the host, and once a burst has settled (no event for
 * `settleMs` after one that ends a change, never later than `coalesceMs` after its first event)
 * every marked host is read again and the whole network converges through
 * one call (the CLI's: the same apply as `netpol apply`). One converge runs at a time; events
 * during it mark hosts for the next. A stream that ends (SSH drop, dockerd restart) or cannot start
 * is retried with exponential backoff; once it runs again the host is read in full and converged.
 * A host that fails is reported and retried; the others go on.
 *
 * Pure apart from what it is given: the clock, the streams, the reads and the converge are ports,
 * so the tests drive it with a fake clock.
 */
import type { Endpoint } from "../model/inventory";

/** A running event stream of one host. */
export interface WatchStream {
  /** Resolves with why the stream ended. */
  ended: Promise<string>;
  stop(): void;
}

export interface WatchClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: WatchClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** What one converge did. */
export interface ConvergeResult {
  /** Hosts whose apply failed, with the message. */
  failed: ReadonlyMap<string, string>;
  /** How a change line names an endpoint's class (e.g. `class web`); called after the converge. */
  describe?(endpoint: string): string | undefined;
}

export interface WatchPorts {
  hosts: readonly string[];
  /**
   * Starts the host's event stream; resolves once it is live. `onEvent(more)`: `more` when the
   * event is usually followed by another within moments (a network connect, before its start).
   */
  follow(host: string, onEvent: (more?: boolean) => void): Promise<WatchStream>;
  /** The host's endpoints now (a full read). */
  discover(host: string): Promise<Endpoint[]>;
  /** Applies the network with these endpoints per host (hosts not in the map were never read). */
  converge(endpoints: ReadonlyMap<string, readonly Endpoint[]>): Promise<ConvergeResult>;
  clock: WatchClock;
  change(c: WatchChange): void;
  /** A problem, one line (stderr). */
  problem(line: string): void;
}

export interface WatchOptions {
  /** The longest a burst is held after its first event. @default 200 */
  coalesceMs?: number;
  /**
   * A burst ends once no event came for this long: the events of one change that come together
   * (a `docker stop`'s die, disconnect and stop) stay one burst; a network connect, marked `more`,
   * waits for its container's start or the coalesce bound instead.
   * At least coalesceMs turns it off. @default 50
   */
  settleMs?: number;
  /** First retry delay, doubled per failure up to maxBackoffMs. @default 500 */
  backoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
}

/** One endpoint that came, went or changed its addresses on a host. */
export interface WatchChange {
  host: string;
  change: "+" | "-" | "~";
  endpoint: string;
  ips: string[];
  /** The addresses before (`~`). */
  previous?: string[];
  /** e.g. `class web`. */
  detail?: string;
  /** From the first event of the burst to the end of its converge. */
  ms: number;
}

export function changeLine(c: WatchChange): string {
  const ips = c.change === "~" ? `${(c.previous ?? []).join(",")} -> ${c.ips.join(",")}` : c.ips.join(",");
  return `${c.host}: ${c.change} ${c.endpoint} ${ips}${c.detail !== undefined ? ` (${c.detail})` : ""} in ${c.ms} ms`;
}

export function changeJson(c: WatchChange): string {
  const change = c.change === "+" ? "added" : c.change === "-" ? "removed" : "changed";
  return JSON.stringify({ host: c.host, change, endpoint: c.endpoint, ips: c.ips, ...(c.previous ? { previous: c.previous } : {}), ...(c.detail !== undefined ? { detail: c.detail } : {}), ms: c.ms });
}

/** The changes between two reads of a host, sorted by endpoint name. Pure. */
export function endpointChanges(host: string, before: readonly Endpoint[], after: readonly Endpoint[], ms: number): WatchChange[] {
  const old = new Map(before.map((e) => [e.name, e]));
  const now = new Map(after.map((e) => [e.name, e]));
  const out: WatchChange[] = [];
  for (const [name, e] of now) {
    const o = old.get(name);
    if (!o) out.push({ host, change: "+", endpoint: name, ips: [...e.ips], ms });
    else if (o.ips.join(",") !== e.ips.join(",")) out.push({ host, change: "~", endpoint: name, ips: [...e.ips], previous: [...o.ips], ms });
  }
  for (const [name, o] of old) if (!now.has(name)) out.push({ host, change: "-", endpoint: name, ips: [...o.ips], ms });
  return out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

interface HostState {
  known?: Endpoint[];
  stream?: WatchStream;
  failures: number;
  retry?: unknown;
  /** When the first unhandled event of this host came. */
  since?: number;
}

export class WatchLoop {
  private readonly state = new Map<string, HostState>();
  private readonly dirty = new Set<string>();
  /** Hosts to apply again although their containers did not change (reconnected, failed apply). */
  private readonly reapply = new Set<string>();
  private flushTimer: unknown;
  /** When the pending burst's first event came (the coalesce bound runs from it). */
  private burstStart: number | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly coalesceMs: number;
  private readonly settleMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly ports: WatchPorts, options: WatchOptions = {}) {
    this.coalesceMs = options.coalesceMs ?? 200;
    this.settleMs = Math.min(options.settleMs ?? 50, this.coalesceMs);
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    for (const h of ports.hosts) this.state.set(h, { failures: 0 });
  }

  /** Starts following every host. */
  start(): void {
    for (const h of this.ports.hosts) void this.connect(h);
  }

  /** The delay before the next retry of a host that failed `failures` times. */
  backoff(failures: number): number {
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, failures - 1));
  }

  private host(h: string): HostState {
    return this.state.get(h) as HostState;
  }

  private retryLater(h: string, what: () => void, why: string): void {
    const s = this.state.get(h);
    if (!s) return this.ports.problem(`${h}: ${why}`);
    s.failures++;
    const delay = this.backoff(s.failures);
    this.ports.problem(`${h}: ${why}; retrying in ${delay} ms`);
    s.retry = this.ports.clock.setTimer(() => {
      s.retry = undefined;
      if (!this.stopping) what();
    }, delay);
  }

  private async connect(h: string): Promise<void> {
    const s = this.host(h);
    let stream: WatchStream;
    try {
      stream = await this.ports.follow(h, (more) => this.mark(h, more));
    } catch (e) {
      if (!this.stopping) this.retryLater(h, () => void this.connect(h), `cannot follow docker events: ${message(e)}`);
      return;
    }
    if (this.stopping) {
      stream.stop();
      return;
    }
    s.stream = stream;
    this.reapply.add(h);
    this.mark(h);
    void stream.ended.then((why) => {
      if (s.stream !== stream) return;
      s.stream = undefined;
      if (!this.stopping) this.retryLater(h, () => void this.connect(h), `docker events stopped (${why})`);
    });
  }

  /**
   * Something changed on `h`: read it again once the burst has settled. `more`: another event
   * usually follows this one, so the burst is held to the coalesce bound unless one does.
   */
  mark(h: string, more = false): void {
    if (this.stopping) return;
    const s = this.host(h);
    if (s.since === undefined) s.since = this.ports.clock.now();
    this.dirty.add(h);
    if (this.running !== undefined) return;
    // Each event moves the flush to settleMs from now, but never past coalesceMs from the first.
    const now = this.ports.clock.now();
    this.burstStart ??= now;
    if (this.flushTimer !== undefined) this.ports.clock.clearTimer(this.flushTimer);
    const bound = this.burstStart + this.coalesceMs - now;
    const wait = more ? bound : Math.min(this.settleMs, bound);
    this.flushTimer = this.ports.clock.setTimer(() => {
      this.flushTimer = undefined;
      this.burstStart = undefined;
      this.flush();
    }, Math.max(0, wait));
  }

  private flush(): void {
    if (this.stopping || this.running !== undefined || this.dirty.size === 0) return;
    this.running = this.converge().finally(() => {
      this.running = undefined;
      if (this.dirty.size > 0) {
        // Events came during the converge: their burst window started then.
        for (const h of [...this.dirty]) this.dirty.delete(h), this.mark(h);
      }
    });
  }

  private async converge(): Promise<void> {
    const hosts = [...this.dirty].sort();
    this.dirty.clear();
    const since = new Map(hosts.map((h) => [h, this.host(h).since ?? this.ports.clock.now()]));
    for (const h of hosts) this.host(h).since = undefined;
    const reads = await Promise.all(hosts.map(async (h) => {
      try {
        return { h, endpoints: await this.ports.discover(h) };
      } catch (e) {
        if (!this.stopping) this.retryLater(h, () => this.mark(h), `cannot read the containers: ${message(e)}`);
        return { h, endpoints: undefined };
      }
    }));
    const pending: WatchChange[] = [];
    let apply = false;
    for (const { h, endpoints } of reads) {
      if (endpoints === undefined) continue;
      const s = this.host(h);
      const changes = endpointChanges(h, s.known ?? [], endpoints, 0);
      if (changes.length > 0 || s.known === undefined || this.reapply.has(h)) apply = true;
      pending.push(...changes);
      s.known = endpoints;
    }
    if (!apply) return;
    for (const h of hosts) this.reapply.delete(h);
    const all = new Map<string, Endpoint[]>();
    for (const [h, s] of this.state) if (s.known) all.set(h, s.known);
    let result: ConvergeResult;
    try {
      result = await this.ports.converge(all);
    } catch (e) {
      result = { failed: new Map(this.ports.hosts.map((h) => [h, message(e)])) };
    }
    const end = this.ports.clock.now();
    for (const c of pending) {
      const detail = c.change === "-" ? undefined : result.describe?.(c.endpoint);
      this.ports.change({ ...c, ...(detail !== undefined ? { detail } : {}), ms: Math.max(0, end - (since.get(c.host) ?? end)) });
    }
    for (const [h, why] of result.failed) {
      this.reapply.add(h);
      if (!this.stopping) this.retryLater(h, () => this.mark(h), `apply failed: ${why}`);
    }
    for (const h of hosts) if (!result.failed.has(h) && reads.some((r) => r.h === h && r.endpoints)) this.host(h).failures = 0;
  }

  /** Stops following; resolves once a converge in flight has finished (nothing is left half-applied). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.flushTimer !== undefined) this.ports.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    this.burstStart = undefined;
    for (const s of this.state.values()) {
      if (s.retry !== undefined) this.ports.clock.clearTimer(s.retry);
      s.retry = undefined;
      s.stream?.stop();
      s.stream = undefined;
    }
    await this.running;
  }

  /** Whether a converge runs now (for tests). */
  get busy(): boolean {
    return this.running !== undefined;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
