/**
 * `npm run bench -- analysis`: the class-based analysis. `netpol reach` of the compile fleet at
 * 3,000 endpoints; `netpol diff` of two 10,000-endpoint / 200-group models that differ by one rule
 * and by one endpoint's labels; the Network's `access` text of both; `netpol test` of 100
 * expectations; the size of `netpol view`'s page for those models. No I/O but the models in memory.
 */
import { accessText } from "../provider/analyze/access";
import { ClassAnalysis } from "../provider/analyze/classes";
import { diffPolicySets, formatDiff } from "../provider/analyze/diff";
import { checkExpectations } from "../provider/analyze/expectations";
import { matrixJsonPieces } from "../provider/analyze/matrix";
import { parseProbe, Probe } from "../provider/analyze/probe";
import { viewData } from "../provider/analyze/view";
import { viewPage } from "../provider/analyze/view-page";
import { compile } from "../provider/compile";
import { Expectation } from "../provider/model/expectations";
import { ModelInput, parseModel } from "../provider/model/model";
import { fleet } from "./generate";

const ms = (t: number) => `${t.toFixed(0).padStart(6)} ms`;
const GROUPS = 200;

/** 10,000 endpoints in 200 groups of 50 on 50 hosts: Rancher groupBy, one Kubernetes policy per 10 groups. */
export function groupModel(endpoints: number): ModelInput {
  return {
    name: `groups-${endpoints}`,
    hosts: Array.from({ length: 50 }, (_, h) => ({ name: `h${h}` })),
    namespaces: Array.from({ length: 20 }, (_, n) => ({ name: `ns${n}` })),
    endpoints: Array.from({ length: endpoints }, (_, i) => ({
      name: `ns${i % 20}/pod-${i}`,
      ips: [`10.${64 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`],
      host: `h${Math.floor((i * 50) / endpoints)}`,
      namespace: `ns${i % 20}`,
      labels: { group: `g${i % GROUPS}` },
    })),
    network: { defaultPolicyAction: "deny", policy: [{ between: { groupBy: "group" }, action: "allow" }] },
    networkPolicies: Array.from({ length: 20 }, (_, k) => ({
      apiVersion: "networking.k8s.io/v1" as const,
      kind: "NetworkPolicy" as const,
      metadata: { name: `policy-${k}`, namespace: `ns${(k * 10) % 20}` },
      spec: {
        podSelector: { matchLabels: { group: `g${k * 10}` } },
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { group: `g${k * 10}` } } }], ports: [{ protocol: "TCP" as const, port: 80 + k }] }],
      },
    })),
  };
}

/** The same model with one rule changed (policy-3's port) and one endpoint moved to another group. */
function changedModel(base: ModelInput): ModelInput {
  const next = structuredClone(base);
  const ports = next.networkPolicies?.[3].spec.ingress?.[0].ports;
  if (ports) ports[0].port = 8080;
  const e = next.endpoints?.[1];
  if (e) e.labels = { group: "g2" };
  return next;
}

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const v = f();
  return [v, performance.now() - t];
}

export function analysisBench(): boolean {
  let met = true;
  console.log("== analysis: equivalence classes, reach, diff, test (no I/O)");
  const probe = parseProbe("tcp/80") as Probe;

  const reachFleet = compile(parseModel(fleet({ endpoints: 3000, hosts: 50, groups: 200, kubernetesPolicies: 100 })));
  // As `netpol reach` writes it: piece by piece, counted and dropped (none is held).
  const rssBefore = process.memoryUsage().rss;
  let reachBytes = 0;
  let rssPeak = rssBefore;
  const cpu = process.cpuUsage();
  const [, reachMs] = time(() => {
    for (const piece of matrixJsonPieces(reachFleet, [probe])) {
      reachBytes += piece.length;
      if ((reachBytes & 0xfffff) < piece.length) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
  });
  const reachCpu = process.cpuUsage(cpu);
  const classes3k = new ClassAnalysis(reachFleet).classes.length;
  console.log(`\nnetpol reach --format json, compile fleet of 3,000 endpoints (stack + groupBy, 100 Kubernetes policies), tcp/80, written piece by piece`);
  console.log(`  classes ${classes3k}; ${ms(reachMs)} (CPU ${ms((reachCpu.user + reachCpu.system) / 1e3)}); output ${(reachBytes / 1e6).toFixed(0)} MB; ` +
    `rss ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssPeak / 1e6).toFixed(0)} MB at most while writing (per-cell loop before: 46 s, 2.2 GB)`);

  const base = groupModel(10_000);
  const [models, parseMs] = time(() => [parseModel(base), parseModel(changedModel(base))]);
  const [sets, compileMs] = time(() => models.map(compile));
  const [d, diffMs] = time(() => diffPolicySets(sets[0], sets[1]));
  const text = formatDiff(d, sets[1].endpoints.map((e) => e.name));
  console.log(`\nnetpol diff, 10,000 endpoints / ${GROUPS} groups, one rule and one endpoint's labels changed`);
  console.log(`  validate both ${ms(parseMs)}; compile both ${ms(compileMs)}`);
  console.log(`  diff          ${ms(diffMs)}   classes: old ${new ClassAnalysis(sets[0]).classes.length}, new ${new ClassAnalysis(sets[1]).classes.length}, old × new ${d.classes}; ${d.changes.length} change line(s)   target < 1000 ms: ${diffMs < 1000 ? "met" : "missed"}`);
  console.log(`  diff + compile ${ms(diffMs + compileMs)}`);
  for (const line of text.split("\n").slice(0, 6)) console.log(`    ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
  if (diffMs >= 1000) met = false;

  // The Network's `access` input, computed by every check (so every preview): size and what a change touches.
  const [access, accessMs] = time(() => sets.map((ps) => accessText(ps)));
  const [oldLines, newLines] = access.map((t) => t.split("\n"));
  const opened = newLines.filter((l) => !oldLines.includes(l)).length;
  const closed = oldLines.filter((l) => !newLines.includes(l)).length;
  const [access3k, access3kMs] = time(() => accessText(reachFleet));
  console.log(`\naccess (the Network's who-may-reach-whom input, computed by every check and preview)`);
  console.log(`  10,000 endpoints ${ms(accessMs / 2)} each; ${oldLines.length - 1} line(s), ${(access[0].length / 1e3).toFixed(1)} kB; the change above: +${opened} / -${closed} line(s)`);
  console.log(`  3,000-endpoint fleet (${classes3k} classes) ${ms(access3kMs)}; ${access3k.split("\n").length - 1} line(s), ${(access3k.length / 1e3).toFixed(1)} kB`);

  const expectations: Expectation[] = Array.from({ length: 100 }, (_, k) => (k % 2 === 0
    ? { from: { labels: { group: `g${k}` } }, to: { labels: { group: `g${k}` } }, probe: "tcp/443", verdict: "allow" }
    : { from: { not: { labels: { group: `g${k}` } } }, to: `ns${k % 20}/pod-${k}`, ports: ["tcp", "udp"], verdict: "deny" }));
  const [report, testMs] = time(() => checkExpectations(models[0], sets[0], expectations));
  console.log(`\nnetpol test, 100 expectations over the same 10,000 endpoints (half all-to-all within a group, half "nothing else" over every tcp and udp port)`);
  console.log(`  test          ${ms(testMs)}   ${report.checked - report.failures.length} of ${report.checked} hold   target < 1000 ms: ${testMs < 1000 ? "met" : "missed"}`);
  if (testMs >= 1000) met = false;

  const [page, viewMs] = time(() => viewPage(viewData("groups", sets[0])));
  const [diffPage, diffViewMs] = time(() => viewPage(viewData("groups", sets[1], sets[0])));
  const mb = (text: string) => Buffer.byteLength(text) / 1e6;
  console.log(`\nnetpol view, the same 10,000 endpoints (one page, data embedded), and with --diff of the changed model`);
  console.log(`  view          ${ms(viewMs)}   page ${mb(page).toFixed(2)} MB   target < 2 MB: ${mb(page) < 2 ? "met" : "missed"}`);
  console.log(`  view --diff   ${ms(diffViewMs)}   page ${mb(diffPage).toFixed(2)} MB   target < 2 MB: ${mb(diffPage) < 2 ? "met" : "missed"}`);
  if (mb(page) >= 2 || mb(diffPage) >= 2) met = false;
  const [fleetPage, fleetViewMs] = time(() => viewPage(viewData("fleet", reachFleet)));
  console.log(`  view of the 3,000-endpoint fleet above (${classes3k} classes, ${(classes3k * classes3k / 1e6).toFixed(1)} million cells): ${ms(fleetViewMs)}   page ${mb(fleetPage).toFixed(2)} MB (no target)`);
  return met;
}
