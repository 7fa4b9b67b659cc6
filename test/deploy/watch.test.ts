import { ConvergeResult, changeJson, changeLine, endpointChanges, WatchChange, WatchClock, WatchLoop, WatchStream } from "../../provider/deploy/watch";
import type { Endpoint } from "../../provider/model/inventory";

/** A clock whose timers run only when the test advances it. */
class FakeClock implements WatchClock {
  private t = 0;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number { return this.t; }
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown): void { this.timers.delete(h as number); }
  /** Moves time forward by `ms`, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

const settle = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

const ep = (name: string, ip: string, host: string): Endpoint => ({ name, ips: [ip], host });

/** Hosts whose streams, reads and converges the test controls. */
class Fleet {
  readonly clock = new FakeClock();
  readonly containers = new Map<string, Endpoint[]>();
  readonly events = new Map<string, (more?: boolean) => void>();
  readonly drops = new Map<string, (why: string) => void>();
  readonly follows: Array<{ host: string; at: number; ok: boolean }> = [];
  readonly converges: Array<{ at: number; hosts: Record<string, string[]> }> = [];
  readonly changes: WatchChange[] = [];
  readonly problems: string[] = [];
  /** Hosts whose stream cannot start, and whose apply fails. */
  down = new Set<string>();
  /** How long a converge takes (fake ms). */
  convergeMs = 0;
  stopped: string[] = [];
  readonly loop: WatchLoop;

  /** `settleMs` defaults to `coalesceMs` (the quiet-gap flush off), so most cases time only the coalesce bound. */
  constructor(hosts: string[], coalesceMs = 200, settleMs = coalesceMs) {
    for (const h of hosts) this.containers.set(h, []);
    this.loop = new WatchLoop({
      hosts,
      follow: async (host, onEvent) => {
        const ok = !this.down.has(host);
        this.follows.push({ host, at: this.clock.now(), ok });
        if (!ok) throw new Error("connect: connection refused");
        this.events.set(host, onEvent);
        let end: (why: string) => void = () => undefined;
        const stream: WatchStream = { ended: new Promise((r) => (end = r)), stop: () => this.stopped.push(host) };
        this.drops.set(host, end);
        return stream;
      },
      discover: async (host) => {
        if (this.down.has(host)) throw new Error("connect: connection refused");
        return [...(this.containers.get(host) ?? [])];
      },
      converge: async (endpoints): Promise<ConvergeResult> => {
        const at = this.clock.now();
        if (this.convergeMs > 0) await new Promise<void>((r) => this.clock.setTimer(r, this.convergeMs));
        this.converges.push({ at, hosts: Object.fromEntries([...endpoints].map(([h, e]) => [h, e.map((x) => x.name)])) });
        return { failed: new Map([...this.down].map((h) => [h, "unreachable"])), describe: (n) => `class ${n.split("-")[0]}` };
      },
      clock: this.clock,
      change: (c) => this.changes.push(c),
      problem: (l) => this.problems.push(l),
    }, { coalesceMs, settleMs, backoffMs: 500, maxBackoffMs: 4000 });
  }

  run(host: string, name: string, ip: string): void {
    (this.containers.get(host) as Endpoint[]).push(ep(name, ip, host));
    this.events.get(host)?.();
  }

  kill(host: string, name: string): void {
    this.containers.set(host, (this.containers.get(host) ?? []).filter((e) => e.name !== name));
    this.events.get(host)?.();
  }
}

describe("endpointChanges", () => {
  const cases: Array<{ name: string; before: Endpoint[]; after: Endpoint[]; want: string[] }> = [
    { name: "nothing changed", before: [ep("a", "10.0.0.1", "h")], after: [ep("a", "10.0.0.1", "h")], want: [] },
    { name: "one came", before: [], after: [ep("web-1", "10.0.0.2", "h")], want: ["h: + web-1 10.0.0.2 in 7 ms"] },
    { name: "one went", before: [ep("web-1", "10.0.0.2", "h")], after: [], want: ["h: - web-1 10.0.0.2 in 7 ms"] },
    { name: "a new address", before: [ep("db", "10.0.0.3", "h")], after: [ep("db", "10.0.0.9", "h")], want: ["h: ~ db 10.0.0.3 -> 10.0.0.9 in 7 ms"] },
    { name: "sorted by name", before: [ep("b", "10.0.0.5", "h")], after: [ep("c", "10.0.0.6", "h"), ep("a", "10.0.0.4", "h")], want: ["h: + a 10.0.0.4 in 7 ms", "h: - b 10.0.0.5 in 7 ms", "h: + c 10.0.0.6 in 7 ms"] },
  ];
  it.each(cases)("$name", ({ before, after, want }) => {
    expect(endpointChanges("h", before, after, 7).map(changeLine)).toEqual(want);
  });

  it("prints the class and JSON for machines", () => {
    const c: WatchChange = { host: "h2", change: "+", endpoint: "shop/web-3", ips: ["172.20.2.7"], detail: "class web", ms: 38 };
    expect(changeLine(c)).toBe("h2: + shop/web-3 172.20.2.7 (class web) in 38 ms");
    expect(JSON.parse(changeJson(c))).toEqual({ host: "h2", change: "added", endpoint: "shop/web-3", ips: ["172.20.2.7"], detail: "class web", ms: 38 });
  });
});

describe("WatchLoop", () => {
  it("flushes once a burst has gone quiet for settleMs, and never later than coalesceMs after its first event", async () => {
    const f = new Fleet(["h1"], 200, 50);
    f.loop.start();
    await f.clock.advance(50);
    expect(f.converges.map((c) => c.at)).toEqual([50]);
    // A lone container (its connect and start events 5 ms apart): applied 50 ms after the last.
    f.run("h1", "web-1", "10.0.0.1");
    await f.clock.advance(5);
    f.events.get("h1")?.();
    await f.clock.advance(100);
    expect(f.converges.map((c) => c.at)).toEqual([50, 105]);
    expect(f.changes.map(changeLine)).toEqual(["h1: + web-1 10.0.0.1 (class web) in 55 ms"]);
    // A steady stream of events 40 ms apart never goes quiet: the coalesce bound ends the burst.
    for (let i = 0; i < 8; i++) {
      f.run("h1", `db-${i}`, `10.0.1.${i + 1}`);
      await f.clock.advance(40);
    }
    expect(f.converges.map((c) => c.at)).toEqual([50, 105, 355]);
    expect(f.converges[2].hosts.h1).toEqual(["web-1", "db-0", "db-1", "db-2", "db-3", "db-4"]);
    // The rest (events at 355, 395, 435) is its own burst, flushed 50 ms after its last event.
    await f.clock.advance(100);
    expect(f.converges.map((c) => c.at)).toEqual([50, 105, 355, 485]);
    await f.loop.stop();
  });

  it("holds a burst whose event says more follows (a network connect) until the next event settles it", async () => {
    const f = new Fleet(["h1"], 200, 50);
    f.loop.start();
    await f.clock.advance(50);
    // docker run: the network connect, then 120 ms later the start. One read, after the start.
    f.events.get("h1")?.(true);
    await f.clock.advance(120);
    expect(f.converges.map((c) => c.at)).toEqual([50]);
    f.run("h1", "web-1", "10.0.0.1");
    await f.clock.advance(50);
    expect(f.converges.map((c) => c.at)).toEqual([50, 220]);
    // A connect with nothing after it (docker network connect on a running container): the coalesce bound.
    (f.containers.get("h1") as Endpoint[])[0] = ep("web-1", "10.0.2.1", "h1");
    f.events.get("h1")?.(true);
    await f.clock.advance(199);
    expect(f.converges).toHaveLength(2);
    await f.clock.advance(1);
    expect(f.converges.map((c) => c.at)).toEqual([50, 220, 420]);
    await f.loop.stop();
  });

  it("converges once at start, then once per burst of events", async () => {
    const f = new Fleet(["h1", "h2"]);
    f.loop.start();
    await f.clock.advance(200);
    expect(f.converges).toEqual([{ at: 200, hosts: { h1: [], h2: [] } }]);
    // A burst: five containers within 150 ms on two hosts.
    for (let i = 0; i < 5; i++) {
      f.run(i % 2 === 0 ? "h1" : "h2", `web-${i}`, `10.0.0.${i + 1}`);
      await f.clock.advance(30);
    }
    await f.clock.advance(200);
    expect(f.converges).toHaveLength(2);
    expect(f.converges[1]).toEqual({ at: 400, hosts: { h1: ["web-0", "web-2", "web-4"], h2: ["web-1", "web-3"] } });
    expect(f.changes.map(changeLine)).toEqual([
      "h1: + web-0 10.0.0.1 (class web) in 200 ms",
      "h1: + web-2 10.0.0.3 (class web) in 200 ms",
      "h1: + web-4 10.0.0.5 (class web) in 200 ms",
      "h2: + web-1 10.0.0.2 (class web) in 170 ms",
      "h2: + web-3 10.0.0.4 (class web) in 170 ms",
    ]);
    // An event that changes nothing (a network event of another container) does not apply.
    f.events.get("h1")?.();
    await f.clock.advance(300);
    expect(f.converges).toHaveLength(2);
    await f.loop.stop();
  });

  it("marks events during a converge for the next one", async () => {
    const f = new Fleet(["h1"]);
    f.convergeMs = 500;
    f.loop.start();
    await f.clock.advance(300);
    expect(f.loop.busy).toBe(true);
    f.run("h1", "web-1", "10.0.0.1");
    await f.clock.advance(400);
    expect(f.converges).toHaveLength(1);
    await f.clock.advance(1000);
    expect(f.converges.map((c) => c.hosts.h1)).toEqual([[], ["web-1"]]);
    expect(f.changes.map(changeLine)).toEqual(["h1: + web-1 10.0.0.1 (class web) in 1100 ms"]);
    await f.loop.stop();
  });

  it("reconnects a dropped stream with backoff and converges after a full read", async () => {
    const f = new Fleet(["h1"]);
    f.loop.start();
    await f.clock.advance(200);
    // The SSH connection drops; while it is down a container stops and another starts.
    f.down.add("h1");
    f.drops.get("h1")?.("the SSH connection dropped");
    f.containers.set("h1", [ep("db-1", "10.0.0.9", "h1")]);
    await f.clock.advance(500 + 1000 + 2000 - 1);
    expect(f.follows.map((x) => [x.at, x.ok])).toEqual([[0, true], [700, false], [1700, false]]);
    f.down.delete("h1");
    await f.clock.advance(1 + 4000 + 200);
    expect(f.follows.map((x) => [x.at, x.ok])).toEqual([[0, true], [700, false], [1700, false], [3700, true]]);
    expect(f.converges.map((c) => [c.at, c.hosts.h1])).toEqual([[200, []], [3900, ["db-1"]]]);
    expect(f.problems).toEqual([
      "h1: docker events stopped (the SSH connection dropped); retrying in 500 ms",
      "h1: cannot follow docker events: connect: connection refused; retrying in 1000 ms",
      "h1: cannot follow docker events: connect: connection refused; retrying in 2000 ms",
    ]);
    await f.loop.stop();
  });

  it("re-applies after a reconnect even when the containers are the same (dockerd restarted)", async () => {
    const f = new Fleet(["h1"]);
    f.run("h1", "web-1", "10.0.0.1");
    f.loop.start();
    await f.clock.advance(200);
    f.drops.get("h1")?.("docker events exited with 0");
    await f.clock.advance(500 + 200);
    expect(f.converges.map((c) => c.at)).toEqual([200, 900]);
    expect(f.changes.map(changeLine)).toEqual(["h1: + web-1 10.0.0.1 (class web) in 200 ms"]);
    await f.loop.stop();
  });

  it("a host that goes away is reported and retried; the others go on", async () => {
    const f = new Fleet(["h1", "h2"]);
    f.down.add("h2");
    f.loop.start();
    await f.clock.advance(200);
    f.run("h1", "web-1", "10.0.0.1");
    await f.clock.advance(200);
    f.kill("h1", "web-1");
    await f.clock.advance(200);
    expect(f.converges.map((c) => c.hosts)).toEqual([{ h1: [] }, { h1: ["web-1"] }, { h1: [] }]);
    expect(f.changes.map(changeLine)).toEqual(["h1: + web-1 10.0.0.1 (class web) in 200 ms", "h1: - web-1 10.0.0.1 in 200 ms"]);
    expect(f.problems.filter((p) => p.startsWith("h2: cannot follow"))).toHaveLength(2);
    expect(f.problems.every((p) => p.startsWith("h2: "))).toBe(true);
    // h2 comes back: its containers join the network.
    f.down.delete("h2");
    f.containers.set("h2", [ep("api-1", "10.0.1.1", "h2")]);
    await f.clock.advance(4000 + 200);
    expect(f.converges[f.converges.length - 1].hosts).toEqual({ h1: [], h2: ["api-1"] });
    await f.loop.stop();
  });

  it("stop waits for the converge in flight, then nothing more runs", async () => {
    const f = new Fleet(["h1"]);
    f.convergeMs = 1000;
    f.loop.start();
    await f.clock.advance(300);
    let stopped = false;
    const stopping = f.loop.stop().then(() => (stopped = true));
    f.run("h1", "web-1", "10.0.0.1");
    await f.clock.advance(500);
    expect(stopped).toBe(false);
    await f.clock.advance(500);
    await stopping;
    expect(f.converges).toHaveLength(1);
    expect(f.stopped).toEqual(["h1"]);
    await f.clock.advance(5000);
    expect(f.converges).toHaveLength(1);
  });
});
