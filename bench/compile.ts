/**
 * Benchmark "compile": compile + render of synthetic fleets at 1,000 / 10,000 / 100,000 endpoints on
 * 50 hosts, 200 label groups, Rancher stack + groupBy rules and 100 Kubernetes policies. Prints
 * times and the size of what hosts get (chains, rules, set elements), to show rules stay
 * proportional to distinct programs and set elements grow linearly.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { compile } from "../provider/compile";
import { parseModel } from "../provider/model/model";
import { Renderer } from "../provider/render";
import { fleet } from "./generate";

interface Size {
  chains: number;
  rules: number;
  setElements: number;
  mapElements: number;
  bytes: number;
}

/** Counts what an nftables table holds, by reading its text. */
export function measure(nft: string): Size {
  const size: Size = { chains: 0, rules: 0, setElements: 0, mapElements: 0, bytes: nft.length };
  let block: "set" | "map" | "chain" | undefined;
  let inElements = false;
  for (const raw of nft.split("\n")) {
    const line = raw.trim();
    if (/^set \S+ \{$/.test(line)) block = "set";
    else if (/^map \S+ \{$/.test(line)) block = "map";
    else if (/^chain \S+ \{$/.test(line)) { block = "chain"; size.chains++; }
    else if (line.startsWith("elements = {")) inElements = !line.endsWith("}");
    else if (inElements) {
      if (line === "}") inElements = false;
      else if (block === "set") size.setElements++;
      else if (block === "map") size.mapElements++;
    } else if (line === "}") block = undefined;
    else if (block === "chain" && line !== "" && !/^(#|type |comment )/.test(line)) size.rules++;
  }
  return size;
}

/** Issue 16's targets for a run with validation, by endpoint count. */
const TOTAL_TARGET_MS: Record<number, number> = { 10_000: 400, 100_000: 2500 };

const ms = (t: number) => `${t.toFixed(0).padStart(6)} ms`;

/**
 * CPU time of this process's main thread so far, in ms: Linux's per-thread schedstat (its first
 * field, ns on CPU); undefined elsewhere. Against the wall time it shows how long the main thread
 * waited for a core while V8's worker threads (optimizing compiler, GC) ran.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

function compileOnce(endpoints: number): void {
  const hosts = 50;
  const doc = fleet({ endpoints, hosts, groups: 200, kubernetesPolicies: 100 });
  const main0 = mainThreadCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const model = parseModel(doc);
  const t1 = performance.now();
  const ps = compile(model);
  const t2 = performance.now();
  const renderer = new Renderer(ps);
  const texts: string[] = [];
  const perHost: number[] = [];
  for (const h of ps.hosts) {
    const s = performance.now();
    texts.push(renderer.renderHost(h.name).nft ?? "");
    perHost.push(performance.now() - s);
  }
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuMs();
  // Counted after the clock stops: reading 50 tables' text back is the benchmark's work, not ours.
  const sizes = texts.map(measure);
  const sum = (f: (s: Size) => number) => sizes.reduce((a, s) => a + f(s), 0);
  const max = (f: (s: Size) => number) => Math.max(...sizes.map(f));
  console.log(`\n${endpoints.toLocaleString("en")} endpoints, ${hosts} hosts, 200 label groups, Rancher stack + groupBy rules, 100 Kubernetes policies`);
  console.log(`  validate (zod)        ${ms(t1 - t0)}`);
  console.log(`  compile               ${ms(t2 - t1)}   programs ${Object.keys(ps.programs).length}, address sets ${Object.keys(ps.sets).length}`);
  console.log(`  render ${hosts} hosts        ${ms(t3 - t2)}   per host: mean ${(perHost.reduce((a, b) => a + b, 0) / hosts).toFixed(1)} ms, max ${Math.max(...perHost).toFixed(1)} ms`);
  console.log(`  compile + render      ${ms(t3 - t1)}`);
  const target = TOTAL_TARGET_MS[endpoints];
  console.log(`  total                 ${ms(t3 - t0)}${target === undefined ? "" : `   validate + compile + render (target: < ${target} ms)`}`);
  const threads = `all threads ${ms((cpu.user + cpu.system) / 1000).trim()}`;
  console.log(`  CPU in the total      ${main0 === undefined || main1 === undefined ? threads : `main thread ${ms(main1 - main0).trim()}, ${threads} (V8's workers: optimizing compiler, GC)`}`);
  console.log(`  per host (max)        chains ${max((s) => s.chains)}, rules ${max((s) => s.rules)}, set elements ${max((s) => s.setElements)}, dispatch entries ${max((s) => s.mapElements)}, ${(max((s) => s.bytes) / 1024).toFixed(0)} KiB`);
  console.log(`  all hosts             chains ${sum((s) => s.chains)}, rules ${sum((s) => s.rules)}, set elements ${sum((s) => s.setElements)}, dispatch entries ${sum((s) => s.mapElements)}`);
  console.log(`  endpoint pairs        ${(endpoints * endpoints).toExponential(1)} (rules per pair: ${(sum((s) => s.rules) / (endpoints * endpoints)).toExponential(1)})`);
}

export const DEFAULT_ENDPOINT_COUNTS = [1_000, 10_000, 100_000];

/** Compiles and renders one synthetic fleet per endpoint count, printing times and sizes. */
export function compileBench(endpointCounts: readonly number[] = DEFAULT_ENDPOINT_COUNTS): void {
  console.log("== compile: model → policy set → rulesets of 50 hosts (no I/O)");
  for (const n of endpointCounts) compileOnce(n);
}
