import { ACCESS_HEADER, accessLines, accessText } from "../../provider/analyze/access";
import { Analyzer } from "../../provider/analyze/reach";
import { compile } from "../../provider/compile";
import { Model } from "../../provider/model/model";
import { compiledExample, exampleModel, probe } from "../support/models";
import { randomPolicySet } from "../render/random-policy";

/** The endpoints a group text names: `a, b (2 endpoints)`, `stack_one/* (3 endpoints)`, `* (n endpoints)`, `a`. */
function members(text: string, all: readonly string[]): string[] {
  const group = text.replace(/ \(\d+ endpoints\)$/, "");
  if (group === "*") return [...all];
  if (group.endsWith("/*")) return all.filter((n) => n.startsWith(group.slice(0, -1)));
  const names = group.split(", ");
  if (names.includes("…")) throw new Error(`a group is shortened: ${text}`);
  return names;
}

/** Does a ports text (`tcp/80-81, udp/*`, `all traffic`) hold this tcp or udp port? */
function holds(ports: string, protocol: "tcp" | "udp", port: number): boolean {
  if (ports === "all traffic") return true;
  return ports.split(", ").some((p) => {
    const m = /^(tcp|udp)\/(\*|(\d+)(?:-(\d+))?)$/.exec(p);
    if (!m || m[1] !== protocol) return false;
    if (m[2] === "*") return true;
    return port >= Number(m[3]) && port <= Number(m[4] ?? m[3]);
  });
}

/** The tcp/udp matrix the lines describe, compared with reach() cell by cell. */
function expectLinesAgreeWithReach(lines: readonly string[], analyzer: Analyzer) {
  const all = analyzer.endpointNames();
  const listed = lines.map((l) => {
    const m = /^(.+) → (.+): (.+)$/.exec(l);
    if (!m) throw new Error(`not a flow line: ${l}`);
    return { from: members(m[1], all), to: members(m[2], all), ports: m[3] };
  });
  const differing: string[] = [];
  for (const [protocol, port] of [["tcp", 80], ["tcp", 443], ["tcp", 1], ["udp", 53]] as const) {
    const p = probe(`${protocol}/${port}`);
    for (const from of all) for (const to of all) {
      if (from === to) continue;
      const said = listed.some((l) => l.from.includes(from) && l.to.includes(to) && holds(l.ports, protocol, port));
      if (said !== analyzer.reach(from, to, p).allowed) differing.push(`${from} → ${to} ${p.text}: lines say ${said}`);
    }
  }
  expect(differing).toEqual([]);
}

const calico = (webPorts: number[], split = false): Model => {
  const model = exampleModel("calico-web-app.yaml");
  return {
    ...model,
    profiles: (model.profiles ?? []).map((p) => (p.id !== "WEB" ? p : {
      ...p,
      inbound_rules: (p.inbound_rules ?? []).flatMap((r, i) => (i !== 0 ? [r]
        : split ? webPorts.map((port) => ({ ...r, dst_ports: [port] })) : [{ ...r, dst_ports: webPorts }])),
    })),
  };
};

describe("access: who may reach whom as stable lines", () => {
  test("the Calico web app, class by class", () => {
    expect(accessText(compiledExample("calico-web-app.yaml")).split("\n")).toEqual([
      ACCESS_HEADER,
      "* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, other protocols",
      "web-1, web-2 (2 endpoints) → app-1, app-2 (2 endpoints): icmp/8, tcp/7890, other protocols",
      "web-1, web-2, app-1, app-2 (4 endpoints) → client-1: all traffic",
      "app-1, app-2, client-1 (3 endpoints) → app-1, app-2 (2 endpoints): icmp/8, other protocols",
    ]);
  });

  test.each(["rancher-stack-isolation.yaml", "rancher-label-isolation.yaml", "rancher-container-isolation.yaml", "calico-web-app.yaml", "kubernetes-seed.yaml"])("%s: the lines agree with reach, cell by cell", (name) => {
    const ps = compiledExample(name);
    expectLinesAgreeWithReach(accessLines(ps), new Analyzer(ps));
  });

  test.each(Array.from({ length: 60 }, (_, i) => i + 1))("random policy set %i: the lines agree with reach, cell by cell", (seed) => {
    const ps = randomPolicySet(seed);
    expectLinesAgreeWithReach(accessLines(ps), new Analyzer(ps));
  });

  test("the same reachability written another way gives the same text", () => {
    expect(accessText(compile(calico([80, 443], true)))).toBe(accessText(compile(calico([80, 443]))));
  });

  test("opening a port changes only the lines of the flows it opens", () => {
    const before = accessLines(compile(calico([80, 443])));
    const after = accessLines(compile(calico([80, 443, 8080])));
    expect(after.filter((l) => !before.includes(l))).toEqual(["* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, tcp/8080, other protocols"]);
    expect(before.filter((l) => !after.includes(l))).toEqual(["* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, other protocols"]);
  });

  test("a long list is cut and says how much is left out", () => {
    const lines = accessLines(compiledExample("calico-web-app.yaml"), { maxLines: 1 });
    expect(lines).toEqual([
      "* (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, other protocols",
      "… and 3 more line(s), not listed (at most 1; netpol reach and netpol diff on a model file give them all)",
    ]);
  });

  test("too many classes: not computed, and it says so", () => {
    expect(accessLines(compiledExample("calico-web-app.yaml"), { maxClasses: 2 })).toEqual([
      "(not listed: 3 classes of endpoints, more than 2; netpol reach and netpol diff on a model file give the flows)",
    ]);
  });
});

test("allows of different rules side by side read as one range (a port opened inside an all-traffic allow changes nothing)", () => {
  const model = exampleModel("rancher-stack-isolation.yaml");
  const opened = compile({ ...model, network: { ...model.network, policy: [{ ports: ["80/tcp"], action: "allow" }, ...(model.network?.policy ?? [])] } } as Model);
  const lines = accessLines(opened);
  expect(lines).toContain("stack_one/* (3 endpoints) → stack_one/* (3 endpoints): all traffic");
  expect(lines.filter((l) => !accessLines(compiledExample("rancher-stack-isolation.yaml")).includes(l)).every((l) => l.endsWith(": tcp/80, other protocols"))).toBe(true);
});
