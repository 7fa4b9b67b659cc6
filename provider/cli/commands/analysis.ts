/** `netpol validate`, `netpol reach`, `netpol explain`: read a model, never touch a host. */
import { ClassAnalysis } from "../../analyze/classes";
import { matrixJsonPieces, matrixTableLines } from "../../analyze/matrix";
import { explain } from "../../analyze/explain";
import { parseProbe, Probe, PROBE_SYNTAX } from "../../analyze/probe";
import { Analyzer } from "../../analyze/reach";
import { compile } from "../../compile";
import { ParsedArgs, single, UsageError } from "../args";
import { Command } from "../command";
import { CliIo, EXIT } from "../io";
import { loadLiveModel, loadModelFile } from "../load";
import { printWarnings } from "../warnings";

export function probesOf(args: ParsedArgs): Probe[] {
  const texts = args.options.probe ?? [];
  if (texts.length === 0) throw new UsageError("give at least one --probe (e.g. --probe tcp/80)");
  return texts.map((t) => {
    const p = parseProbe(t);
    if (typeof p === "string") throw new UsageError(p);
    return p;
  });
}

function requireEndpoint(analyzer: Analyzer, name: string | undefined, option: string): string {
  if (name === undefined) throw new UsageError(`--${option} is required`);
  const names = analyzer.endpointNames();
  if (!names.includes(name)) {
    throw new UsageError(`--${option}: no endpoint named "${name}" in the model (endpoints: ${names.slice(0, 20).join(", ")}${names.length > 20 ? ", …" : ""})`);
  }
  return name;
}

export const validateCommand: Command = {
  name: "validate",
  summary: "check a model file and report every problem by its path",
  help: `Usage: netpol validate FILE

Reads FILE (YAML or JSON), checks it against the schemas of the three dialects and the inventory,
and compiles it. Prints a summary on success; on failure prints every problem as
"FILE: path: what is wrong" on stderr and exits 1.

Parts of a policy that match nothing in the model (a Rancher from/to or between selector, a
Calico tag, selector or policy selector, a Kubernetes podSelector or namespaceSelector no
endpoint or namespace matches, a profile no endpoint uses) are printed as
"FILE: warning: path: why" on stderr; they do not change the exit code.`,
  options: {},
  positional: 1,
  async run(args, io) {
    const file = args.positional[0];
    const model = await loadModelFile(file, io.cwd);
    const ps = compile(model);
    printWarnings(file, model, io);
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    io.out(`${file}: valid — ${count(ps.endpoints.length, "endpoint")}, ${count(ps.hosts.length, "host")}, ` +
      `layers: ${ps.layers.map((l) => l.name).join(", ") || "none (everything allowed)"}; ` +
      `${count(Object.keys(ps.programs).length, "distinct program")}, ${count(Object.keys(ps.sets).length, "address set")}`);
    return EXIT.ok;
  },
};

/** Above this many endpoints `reach` refuses unless --max-endpoints is raised: the matrix is their square. */
export const REACH_MAX_ENDPOINTS = 5000;

function maxEndpointsOf(args: ParsedArgs): number {
  const text = single(args, "max-endpoints");
  if (text === undefined) return REACH_MAX_ENDPOINTS;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new UsageError(`--max-endpoints must be a whole number of endpoints, 1 or more (e.g. --max-endpoints 10000), not "${text}"`);
  return Number(text);
}

const thousands = (n: number) => n.toLocaleString("en-US");

export const reachCommand: Command = {
  name: "reach",
  summary: "print the reachability matrix of every endpoint pair for each probe",
  help: `Usage: netpol reach FILE --probe P [--probe P …] [--format table|json] [--max-endpoints N]

Computes, for every ordered pair of endpoints, whether the source may open a connection to the
destination. A probe is ${PROBE_SYNTAX}; icmp/8 is ping (for an IPv6 flow
it counts as ICMPv6 echo, icmpv6/128).

  --probe P           a probe; repeat for several
  --format F          "table" (default) or "json":
                      {"probes":[{"probe":"tcp/80","matrix":{"<from>":{"<to>":true|false}}}]}
  --max-endpoints N   refuse a model of more than N endpoints (default ${thousands(REACH_MAX_ENDPOINTS)}): the matrix
                      has N² cells per probe (at 5,000 endpoints, 25 million: about 0.5 GB of JSON).
                      For a large model, "netpol view" draws the matrix per class of endpoints,
                      "netpol test" checks the flows that matter, "netpol explain" one flow.

The matrix is written row by row as it is computed, so memory does not grow with its size.`,
  options: { probe: { value: true, repeat: true }, format: { value: true }, "max-endpoints": { value: true } },
  positional: 1,
  async run(args, io) {
    const format = single(args, "format") ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError(`--format must be "table" or "json", not "${format}"`);
    const probes = probesOf(args);
    const maxEndpoints = maxEndpointsOf(args);
    const file = args.positional[0];
    const ps = compile((await loadLiveModel(file, io)).model);
    if (ps.endpoints.length > maxEndpoints) {
      throw new UsageError(`${file} has ${thousands(ps.endpoints.length)} endpoints, more than --max-endpoints ${thousands(maxEndpoints)}: ` +
        `the matrix would have ${thousands(ps.endpoints.length ** 2)} cells per probe. ` +
        `Use "netpol view ${file} --out FILE.html" for the matrix per class of endpoints, "netpol test ${file} EXPECT.yaml" ` +
        `to check the flows that matter, "netpol explain ${file} --from A --to B --probe P" for one flow, ` +
        `or --max-endpoints ${ps.endpoints.length} to write the whole matrix`);
    }
    const classes = new ClassAnalysis(ps);
    const pieces = format === "json" ? matrixJsonPieces(ps, probes, classes) : matrixTableLines(ps, probes, classes);
    for (const piece of pieces) await io.write(piece);
    if (format === "json") await io.write("\n");
    return EXIT.ok;
  },
};

export const explainCommand: Command = {
  name: "explain",
  summary: "say whether A may reach B on a probe, and which rule in which layer decides",
  help: `Usage: netpol explain FILE --from A --to B --probe P [--format text|json]

Evaluates one flow and prints the verdict and, for every layer (Rancher, Calico, Kubernetes) and
direction (egress of A, ingress of B), the rule or default that decided, by its path in FILE.

  --from A     source endpoint name
  --to B       destination endpoint name
  --probe P    ${PROBE_SYNTAX}
  --format F   "text" (default) or "json"`,
  options: { from: { value: true }, to: { value: true }, probe: { value: true }, format: { value: true } },
  positional: 1,
  async run(args, io: CliIo) {
    const format = single(args, "format") ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError(`--format must be "text" or "json", not "${format}"`);
    const [probe] = probesOf(args);
    const ps = compile((await loadLiveModel(args.positional[0], io)).model);
    const analyzer = new Analyzer(ps);
    const from = requireEndpoint(analyzer, single(args, "from"), "from");
    const to = requireEndpoint(analyzer, single(args, "to"), "to");
    const result = analyzer.reach(from, to, probe);
    io.out(format === "json" ? JSON.stringify(result, null, 2) : explain(result));
    return EXIT.ok;
  },
};
