/**
 * The examples on the namespace lab, through the engine harness (real sshd, real nftables, real
 * packets): up → the measured matrix equals the analyzer's `reach` matrix cell by cell → a config
 * change → preview shows the connections it opens and closes (`access`), then the changed rule
 * lines → up → measured again equals reach → a preview of no change shows neither → refresh finds
 * no drift → destroy leaves no netpol table on any host. The expected matrices come from the
 * example's model file (examples/models), not from the program, with the same change made by hand.
 * rancher-stack-isolation is covered, with drift and repair, by lab.test.ts. Needs root.
 */
import { ModelInput } from "../../provider/model/model";
import { tableName } from "../../provider/render";
import { Lab } from "../lab/lab";
import { ExampleLab, expectedMatrix, onLab, readModel, verdictCounts } from "./lab-support";

interface Case {
  /** The example program, relative to the repository root. */
  example: string;
  /** The network's name in the program (its table derives from it). */
  network: string;
  /** The model file the program's inventory and policy come from. */
  model: ModelInput;
  /** Ports every endpoint listens on. */
  listen: number[];
  probes: string[];
  /** The config change, as harness flags. */
  change: string[];
  /** The same change made to the model document. */
  changed: (doc: ModelInput) => ModelInput;
  /** Lines the preview of the change must show (the property diff and changed rule lines). */
  previewLines: (lab: Lab) => RegExp[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A changed rule line under `rules.<host>:` in a preview (`-` removed, `+` added). */
function ruleLine(host: string, sign: "-" | "+", line: string): RegExp {
  return new RegExp(`~ rules\\.${host}:\\n(?:.*\\n)*? +${escape(sign)} \\t+${line}`);
}

/** A line of who may reach whom under `access:` in a preview (`+` opened, `-` closed). */
function accessLine(sign: "-" | "+", line: string): RegExp {
  return new RegExp(`~ access:\\n(?:.*\\n)*? +${escape(sign)} \\t*${escape(line)}\\n`);
}

const CASES: Case[] = [
  {
    example: "examples/rancher-label-isolation",
    network: "rancher-label-isolation",
    model: readModel("rancher-label-isolation.yaml"),
    listen: [80],
    probes: ["tcp/80", "icmp/8"],
    change: ["--config", "groupBy=com.rancher.location"],
    changed: (doc) => ({ ...doc, network: { defaultPolicyAction: "deny", policy: [{ between: { groupBy: "com.rancher.location" }, action: "allow" }] } }),
    // stack_two/service_two (cupertino, on h2) gains a group: its address now jumps to a tier chain.
    previewLines: (lab) => [
      /~ policy\[0\]\.between\.groupBy: "com\.rancher\.department" => "com\.rancher\.location"/,
      ruleLine("h2", "+", `${escape(lab.endpoint("stack_two/service_two").ipv4)} comment "stack_two/service_two" : jump t_`),
      ruleLine("h2", "-", `${escape(lab.endpoint("stack_two/service_two").ipv4)} comment "stack_two/service_two" : drop`),
    ],
  },
  {
    example: "examples/calico-profiles",
    network: "calico-web-app",
    model: readModel("calico-web-app.yaml"),
    listen: [80, 443, 7890, 8080],
    probes: ["tcp/80", "tcp/443", "tcp/7890", "tcp/8080", "icmp/8"],
    change: ["--config", "webPorts=[80,443,8080]"],
    changed: (doc) => ({
      ...doc,
      profiles: (doc.profiles ?? []).map((p) => (p.id !== "WEB" ? p : {
        ...p,
        inbound_rules: (p.inbound_rules ?? []).map((r, i) => (i === 0 ? { ...r, dst_ports: [80, 443, 8080] } : r)),
      })),
    }),
    // The Profile resource changes; the Network that enforces it shows the connections it opens.
    previewLines: () => [
      accessLine("+", "* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, tcp/8080, other protocols"),
      accessLine("-", "* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, other protocols"),
      /\+ profiles\[0\]\.inbound_rules\[0\]\.dst_ports\[2\]: 8080/,
      ruleLine("h1", "-", "meta l4proto tcp th dport \\{ 80, 443 \\} return"),
      ruleLine("h1", "+", "meta l4proto tcp th dport \\{ 80, 443, 8080 \\} return"),
      ruleLine("h2", "+", "meta l4proto tcp th dport \\{ 80, 443, 8080 \\} return"),
    ],
  },
  {
    example: "examples/kubernetes-on-hosts",
    network: "kubernetes-seed",
    model: readModel("kubernetes-seed.yaml"),
    listen: [6379, 6380],
    probes: ["tcp/6379", "tcp/6380", "icmp/8"],
    change: ["--config", "redisPort=6380"],
    changed: (doc) => ({
      ...doc,
      networkPolicies: (doc.networkPolicies ?? []).map((np) => ({
        ...np,
        spec: { ...np.spec, ingress: (np.spec.ingress ?? []).map((rule) => ({ ...rule, ports: [{ protocol: "TCP" as const, port: 6380 }] })) },
      })),
    }),
    previewLines: () => [
      accessLine("+", "default/frontend, myproject/client (2 endpoints) → default/db: tcp/6380, other protocols"),
      accessLine("-", "default/frontend, myproject/client (2 endpoints) → default/db: tcp/6379, other protocols"),
      /~ networkPolicies\[0\]\.spec\.ingress\[0\]\.ports\[0\]\.port: 6379 => 6380/,
      ruleLine("h1", "-", "meta nfproto ipv4 meta l4proto tcp ip saddr @s_\\w+ th dport 6379 return"),
      ruleLine("h1", "+", "meta nfproto ipv4 meta l4proto tcp ip saddr @s_\\w+ th dport 6380 return"),
    ],
  },
];

describe.each(CASES.map((c) => [c.example, c] as const))("%s through the harness on the namespace lab", (_name, c) => {
  let run: ExampleLab | undefined;

  beforeAll(async () => {
    run = await ExampleLab.create({ example: c.example, model: c.model, listen: { tcp: c.listen } });
  }, 180_000);

  afterAll(async () => {
    await run?.destroy();
    if (run) process.stdout.write(`${c.example} engine timings (ms): ${JSON.stringify(run.timings)}\n`);
  });

  it("up, measure, change, preview, up, measure, refresh, destroy", async () => {
    const r = run!;
    const before = expectedMatrix(onLab(c.model, r.lab), c.probes);
    const after = expectedMatrix(onLab(c.changed(c.model), r.lab), c.probes);
    // The matrices must separate allowed from denied, and the change must change some cell.
    expect(verdictCounts(before).denied).toBeGreaterThan(0);
    expect(verdictCounts(before).allowed).toBeGreaterThan(0);
    expect(after).not.toEqual(before);

    const up = await r.engine("up", ["up"]);
    expect(up).toMatch(/\+ \d+ created/);
    // Exactly one table per host, the network's own.
    expect(await r.ourTables()).toEqual(r.hostNames.map((h) => `${h}: table inet ${tableName(c.network)}`));
    expect(await r.lab.measureMatrix(c.probes)).toEqual(before);

    const preview = await r.engine("preview change", ["preview", ...c.change]);
    expect(preview).toContain(`${c.network}  update`);
    for (const line of c.previewLines(r.lab)) expect(preview).toMatch(line);

    // Who may reach whom comes before the rule lines.
    expect(preview.indexOf("~ access:")).toBeGreaterThan(0);
    expect(preview.indexOf("~ access:")).toBeLessThan(preview.indexOf("~ rules."));

    await r.engine("up change", ["up", ...c.change]);
    expect(await r.lab.measureMatrix(c.probes)).toEqual(after);

    // Nothing changed since: no access line, no rule line, no update.
    const noop = await r.engine("preview no change", ["preview", ...c.change]);
    expect(noop).not.toContain("access");
    expect(noop).not.toContain(`${c.network}  update`);
    expect(noop).toMatch(/\d+ unchanged/);

    const refresh = await r.engine("refresh", ["refresh", ...c.change]);
    expect(refresh).toContain("0 drifted");
    expect(refresh).not.toContain("drift\n");

    for (const out of [up, preview, refresh]) expect(out).not.toContain(r.keyMaterial);
    expect(r.stateText()).not.toContain(r.keyMaterial);

    const destroy = await r.engine("destroy", ["destroy", ...c.change]);
    expect(destroy).toMatch(/- \d+ deleted/);
    expect(await r.ourTables()).toEqual([]);
    // Nothing of ours is left in the path: every probe passes again.
    const open = await r.lab.measureMatrix(c.probes);
    expect(verdictCounts(open).denied).toBe(0);
  }, 300_000);
});
