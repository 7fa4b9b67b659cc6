/** `netpol diff OLD NEW`: every change in who may reach whom between two model files. */
import { changedCells, diffPolicySets, formatDiff } from "../../analyze/diff";
import { parseProbe, Probe } from "../../analyze/probe";
import { compile } from "../../compile";
import { single, UsageError } from "../args";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadModelFile } from "../load";

export const diffCommand: Command = {
  name: "diff",
  summary: "list every change in who may reach whom between two model files",
  help: `Usage: netpol diff OLD NEW [--probe P …] [--format text|json|matrix-json] [--exit-code]

Compares the reachability of two model files (e.g. main and a pull request's branch) over every
protocol and port, and prints each change once per group of endpoints treated alike:

  + allowed  stack_one/* (3 endpoints) → stack_two/service_one   tcp/80   by network.policy[1]
  - denied   web-1 → db-1   tcp/5432   was networkPolicies[0].spec.ingress[0], now default deny (…)

Endpoints in only one file are listed as added or removed; their flows are not changes.

  --probe P      only these probes (tcp/PORT, udp/PORT, sctp/PORT, icmp/TYPE[/CODE]); repeat
  --format F     "text" (default); "json": the same as data; "matrix-json" (with --probe):
                 {"probes":[{"probe":"tcp/80","changed":{"<from>":{"<to>":true|false}}}]},
                 only the cells whose verdict changed, with the new verdict
  --exit-code    exit 1 when something changed (like git diff); otherwise exit 0 either way`,
  options: { probe: { value: true, repeat: true }, format: { value: true }, "exit-code": {} },
  positional: 2,
  async run(args, io) {
    const format = single(args, "format") ?? "text";
    if (!["text", "json", "matrix-json"].includes(format)) throw new UsageError(`--format must be "text", "json" or "matrix-json", not "${format}"`);
    const probes: Probe[] | undefined = args.options.probe?.map((t) => {
      const p = parseProbe(t);
      if (typeof p === "string") throw new UsageError(p);
      return p;
    });
    if (format === "matrix-json" && probes === undefined) throw new UsageError("--format matrix-json needs at least one --probe");
    const [oldFile, newFile] = args.positional;
    const before = compile(await loadModelFile(oldFile, io.cwd));
    const after = compile(await loadModelFile(newFile, io.cwd));
    let changed: boolean;
    if (format === "matrix-json") {
      const cells = changedCells(before, after, probes ?? []);
      io.out(JSON.stringify({ probes: cells }));
      changed = cells.some((c) => Object.keys(c.changed).length > 0);
    } else {
      const d = diffPolicySets(before, after, { probes });
      io.out(format === "json" ? JSON.stringify(d, null, 2) : formatDiff(d, after.endpoints.map((e) => e.name)));
      changed = d.changes.length > 0 || d.added.length > 0 || d.removed.length > 0;
    }
    return changed && args.flags.has("exit-code") ? EXIT.invalid : EXIT.ok;
  },
};
