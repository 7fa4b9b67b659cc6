/**
 * `netpol watch FILE`: follows the Docker events of every `discover: docker` host over SSH and
 * applies the network again whenever the containers change (deploy/watch.ts is the loop; the
 * apply is the hosts target's, the same as `netpol apply`). One line per changed endpoint.
 */
import { ClassAnalysis } from "../../analyze/classes";
import { compile } from "../../compile";
import { discoverHost, discoverOn, discoveringHosts, HostDiscovery, mergeDiscovered } from "../../deploy/discovery";
import { targetsOf } from "../../deploy/registry";
import { changeJson, changeLine, ConvergeResult, WatchLoop, WatchPorts, systemClock } from "../../deploy/watch";
import { InputError } from "../../model/errors";
import { followDockerEvents } from "../../targets/ssh/docker-events";
import { SshSession } from "../../targets/ssh/session";
import { ParsedArgs, single, UsageError } from "../args";
import { Command } from "../command";
import { CliIo, EXIT } from "../io";
import { loadModelFile } from "../load";
import { hostTargets } from "../ssh-settings";
import { applyCommand } from "./deploy";

function numberOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number, unit: string): number {
  const text = single(args, name);
  const n = Number(text ?? fallback);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be ${min}-${max} ${unit}`);
  return n;
}

/** `class web-1`: the class an endpoint is in, named after its first member. */
function classNames(model: Parameters<typeof compile>[0]): (endpoint: string) => string | undefined {
  const analysis = new ClassAnalysis(compile(model));
  return (endpoint) => {
    if (!analysis.hasEndpoint(endpoint)) return undefined;
    const members = analysis.classes[analysis.classOf(endpoint)].members;
    const others = members.filter((m) => m !== endpoint);
    return others.length === 0 ? "a class of its own" : `class of ${[...others].sort()[0]}${others.length > 1 ? ` and ${others.length - 1} more` : ""}`;
  };
}

export const watchCommand: Command = {
  name: "watch",
  summary: "follow the Docker hosts' containers and apply the rules whenever they change",
  help: `Usage: netpol watch FILE [--settle MS] [--coalesce MS] [--json] [--once] [--rollback-timer SEC]

For every host with discover: docker, follows its Docker events over SSH (docker events:
container start, stop, die, destroy, rename; network connect, disconnect). A burst of events
ends once no event came for --settle MS (default 50), or --coalesce MS after its first event
(default 200), whichever is first; then the hosts that had events are read again ("docker ps"
and "docker inspect", as netpol discover, on the event stream's connection) and the network is applied
as "netpol apply FILE" would, on that connection too: atomically per host, with the rollback timer
and the confirm over a new connection; a host whose rules are already right is not written to.

One line per change on stdout, when its apply has finished:
  h2: + shop_web_3 172.20.2.7 (class of shop_web_1) in 38 ms    a container came
  h2: - shop_web_3 172.20.2.7 in 41 ms                           it went
  h2: ~ shop_db_1 172.20.2.4 -> 172.20.2.9 (…) in 40 ms          its address changed
"in" is the time from the first event of the burst to the end of the apply. With --json, one
JSON object per line instead: {"host","change":"added"|"removed"|"changed","endpoint","ips",
"previous"?,"detail"?,"ms"}.

An SSH connection that drops, or a dockerd that restarts, ends the host's event stream: it is
started again with backoff (0.5 s, doubling up to 30 s), then the host is read in full and the
network converged. A host that cannot be reached or applied is reported on stderr and retried;
the other hosts go on. SIGINT (Ctrl-C) or SIGTERM stops the command: an apply in flight is
finished first (nothing is left half-applied), then it exits 0.

  --settle MS          a burst ends after this long without an event (1-60000, default 50)
  --coalesce MS        and at the latest this long after its first event (1-60000, default 200)
  --json               one JSON object per change
  --once               discover and apply once, then exit (for cron): the same as
                       "netpol apply FILE", with its output and exit code
  --rollback-timer S   seconds before an unconfirmed apply restores itself (default 20)

Exits 1 when the model has no host with discover: docker.`,
  options: { settle: { value: true }, coalesce: { value: true }, json: {}, once: {}, "rollback-timer": { value: true } },
  positional: 1,
  async run(args, io) {
    const file = args.positional[0];
    const coalesceMs = numberOption(args, "coalesce", 200, 1, 60_000, "milliseconds");
    const settleMs = numberOption(args, "settle", 50, 1, 60_000, "milliseconds");
    const timer = numberOption(args, "rollback-timer", 20, 5, 3600, "seconds");
    const model = await loadModelFile(file, io.cwd);
    const watched = discoveringHosts(model).map((h) => h.name);
    if (watched.length === 0) {
      throw new InputError(file, [{ path: "hosts", message: "no host says discover: docker, so there are no containers to follow; add discover: docker to the Docker hosts (or use netpol apply)" }]);
    }
    if (args.flags.has("once")) {
      return applyCommand.run({ positional: [file], options: { "rollback-timer": [String(timer)] }, flags: new Set() }, io);
    }
    const connections = hostTargets(model, file, io.cwd, io.env);
    const targetOf = new Map(connections.map((c) => [c.name, c.target]));
    const found = new Map<string, HostDiscovery>();
    /** Each host's event stream connection: the re-reads and applies run on it (no new SSH handshake per burst). */
    const streams = new Map<string, SshSession>();
    /**
     * Connections an apply runs on now, each with whether its stream ended meanwhile: such a
     * connection is closed once the apply is done, never under it (Ctrl-C finishes an apply first;
     * a dockerd restart ends the stream, not the apply).
     */
    const lent = new Map<SshSession, { retired: boolean }>();
    const close = (session: SshSession): void => {
      const loan = lent.get(session);
      if (loan) loan.retired = true;
      else session.close();
    };
    const json = args.flags.has("json");
    const ports: WatchPorts = {
      hosts: watched,
      async follow(host, onEvent) {
        const session = await SshSession.open(targetOf.get(host) as NonNullable<ReturnType<typeof targetOf.get>>, host);
        try {
          // A container's network connect comes before its start (docker run): wait for the start.
          const stream = await followDockerEvents(session, (e) => onEvent(e.type === "network" && e.action === "connect"));
          streams.set(host, session);
          const forget = (): void => { if (streams.get(host) === session) streams.delete(host); close(session); };
          return { ended: stream.ended.finally(forget), stop: () => { stream.stop(); forget(); } };
        } catch (e) {
          session.close();
          throw e;
        }
      },
      async discover(host) {
        const open = streams.get(host);
        const d = open?.isOpen ? await discoverOn(host, open) : await discoverHost(host, targetOf.get(host) as NonNullable<ReturnType<typeof targetOf.get>>);
        found.set(host, d);
        return d.endpoints;
      },
      async converge(endpoints): Promise<ConvergeResult> {
        const read = [...endpoints.keys()].flatMap((h) => { const d = found.get(h); return d ? [d] : []; });
        const live = mergeDiscovered(model, read, file);
        // A watched host never read yet keeps its rules: applying without its containers would cut them off.
        const only = connections.map((c) => c.name).filter((h) => !watched.includes(h) || endpoints.has(h));
        const failed = new Map<string, string>();
        // Each host's apply runs on its event stream's connection while that is open.
        const lend = (h: string): SshSession | undefined => {
          const session = streams.get(h);
          if (!session?.isOpen) return undefined;
          if (!lent.has(session)) lent.set(session, { retired: false });
          return session;
        };
        try {
          for (const t of targetsOf({ model: live, hosts: { connections, only } })) {
            const report = await t.apply({ rollbackTimerSec: timer, hostSession: lend });
            for (const s of report.items) if (!s.ok) failed.set(s.name, s.error.message);
          }
        } finally {
          for (const [session, loan] of lent) {
            lent.delete(session);
            if (loan.retired) session.close();
          }
        }
        return { failed, describe: classNames(live) };
      },
      clock: systemClock,
      change: (c) => io.out(json ? changeJson(c) : changeLine(c)),
      problem: (line) => io.err(line),
    };
    const onStop = io.onStop;
    if (!onStop) throw new UsageError("watch runs until it is stopped, and this caller cannot stop it; use --once");
    const loop = new WatchLoop(ports, { coalesceMs, settleMs });
    const stopped = new Promise<void>((resolve) => onStop(() => resolve()));
    loop.start();
    await stopped;
    await loop.stop();
    return EXIT.ok;
  },
};
