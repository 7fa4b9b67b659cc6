/**
 * Tier chains are named by purpose (provider/render/host-program.ts). A one-rule change must show,
 * in the line diff a preview prints, as that rule's lines and the content hash only: no renamed
 * chain, no changed dispatch entry, no renamed earlier tier that goes to the changed one. And names
 * stay names: two contents never share one, equal contents share one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PolicySetBuilder } from "../../provider/ir/builder";
import { compile } from "../../provider/compile";
import { PolicySet, Program, Rule } from "../../provider/ir";
import { ModelInput, parseModel } from "../../provider/model/model";
import { renderAll } from "../../provider/render";
import { HostPrograms } from "../../provider/render/host-program";
import { HostRuleset, validateRuleset } from "../../provider/ruleset";
import { diffLines } from "../../provider/deploy/line-diff";
import { randomPolicySet } from "./random-policy";

const HOSTS: ModelInput["hosts"] = [{ name: "h1" }, { name: "h2", backend: "iptables" }];

const rancher = (policy: NonNullable<ModelInput["network"]>["policy"]): ModelInput => ({
  name: "shop",
  hosts: HOSTS,
  endpoints: [
    { name: "web-1", ips: ["10.42.0.11"], host: "h1", stack: "web" },
    { name: "web-2", ips: ["10.42.0.12", "fd42::12"], host: "h2", stack: "web" },
    { name: "db-1", ips: ["10.42.0.21"], host: "h1", stack: "db" },
    { name: "db-2", ips: ["10.42.0.22", "fd42::22"], host: "h2", stack: "db" },
  ],
  network: { defaultPolicyAction: "deny", policy },
});

/** web endpoints run three tiers: the policy (whose `pass` goes on), profile WEB, profile BASE. */
const calico = (sshPort: number): ModelInput => ({
  name: "calico",
  hosts: HOSTS,
  endpoints: [
    { name: "web-1", ips: ["10.43.1.11"], host: "h1", labels: { role: "web" }, profiles: ["WEB", "BASE"] },
    { name: "web-2", ips: ["10.43.2.11", "fd43::11"], host: "h2", labels: { role: "web" }, profiles: ["WEB", "BASE"] },
    { name: "admin-1", ips: ["10.43.1.99"], host: "h1", profiles: ["ADMIN"] },
  ],
  profiles: [
    { id: "WEB", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80, 443] }] },
    { id: "BASE", inbound_rules: [{ action: "allow", protocol: "tcp", src_tag: "ADMIN", dst_ports: [sshPort] }, { action: "deny" }] },
    { id: "ADMIN" },
  ],
  policies: [{ name: "web-first", selector: "role == 'web'", inbound_rules: [{ action: "deny", protocol: "udp" }, { action: "pass" }] }],
});

/**
 * db-a and db-c run one program; db-b resolves the named port `metrics` to another number, so its
 * tier has the same origins and sets with different content (named apart by the differing port).
 */
const kubernetes = (redisPort: number): ModelInput => ({
  name: "k8s",
  hosts: HOSTS,
  namespaces: [{ name: "default" }, { name: "myproject", labels: { project: "myproject" } }],
  endpoints: [
    { name: "default/db-a", ips: ["10.42.1.10"], host: "h1", namespace: "default", labels: { role: "db" }, ports: [{ name: "metrics", port: 9100 }] },
    { name: "default/db-b", ips: ["10.42.1.11"], host: "h1", namespace: "default", labels: { role: "db" }, ports: [{ name: "metrics", port: 9200 }] },
    { name: "default/db-c", ips: ["10.42.2.10"], host: "h2", namespace: "default", labels: { role: "db" }, ports: [{ name: "metrics", port: 9100 }] },
    { name: "default/frontend", ips: ["10.42.1.20"], host: "h1", namespace: "default", labels: { role: "frontend" } },
    { name: "myproject/client", ips: ["10.42.2.20"], host: "h2", namespace: "myproject", labels: { role: "client" } },
  ],
  networkPolicies: [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "redis", namespace: "default" },
      spec: {
        podSelector: { matchLabels: { role: "db" } },
        ingress: [{
          from: [{ namespaceSelector: { matchLabels: { project: "myproject" } } }, { podSelector: { matchLabels: { role: "frontend" } } }],
          ports: [{ protocol: "TCP", port: redisPort }],
        }],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "metrics", namespace: "default" },
      spec: { podSelector: { matchLabels: { role: "db" } }, ingress: [{ ports: [{ port: "metrics" }] }] },
    },
  ],
});

const renderModel = (doc: ModelInput): HostRuleset[] => renderAll(compile(parseModel(doc)));

/** The lines that differ between two texts, as the harness's preview diff sees them. */
function changed(before: string, after: string): { removed: string[]; added: string[] } {
  const lines = diffLines(before.split("\n"), after.split("\n"));
  return { removed: lines.filter((l) => l.op === "-").map((l) => l.text), added: lines.filter((l) => l.op === "+").map((l) => l.text) };
}

/** The texts a preview diffs per host: the nft table, or the three iptables inputs. */
function texts(r: HostRuleset): Record<string, string> {
  if (r.nft !== undefined) return { nft: r.nft };
  if (!r.iptables) throw new Error(`host ${r.host}: no ruleset text`);
  return { ipset: r.iptables.ipset, v4: r.iptables.v4, v6: r.iptables.v6 };
}

const HASH_LINE = /^(\t\treturn comment "netpol:[0-9a-f]{64}"|-A NETPOL_[0-9A-F]{8}_HASH -m comment --comment "netpol:[0-9a-f]{64}")$/;
/** A tier chain's comment (its rule count) and # line (its rules' origins); iptables has one # line for both. */
const chainComment = (l: string) => /^(\t\tcomment "[a-z]+ [^"]*, \d+ rules?, else |\t# .*; no match: |# [a-z]+ .*, \d+ rules?, else )/.test(l);

interface Case {
  name: string;
  before: ModelInput;
  after: ModelInput;
  /** An old rule line as the change rewrites it. */
  edit: (line: string) => string;
  /** Per host and text: how many rule lines change (besides the hash line, which always does). */
  lines: Record<string, Record<string, number>>;
}

const toDrop = (l: string) => l.replace(/ return$/, " drop").replace(/-j RETURN$/, "-j DROP");
const port = (from: number, to: number) => (l: string) => l.replace(new RegExp(`\\b${from}\\b`), String(to));

const CASES: Case[] = [
  {
    name: "Rancher: a port in one rule (both stacks' chains carry it)",
    before: rancher([{ within: "stack", action: "allow" }, { ports: [80], action: "allow" }]),
    after: rancher([{ within: "stack", action: "allow" }, { ports: [8080], action: "allow" }]),
    edit: port(80, 8080),
    lines: { h1: { nft: 2 }, h2: { ipset: 0, v4: 2, v6: 2 } },
  },
  {
    name: "Rancher: the action of one rule",
    before: rancher([{ within: "stack", action: "allow" }, { ports: [80], action: "allow" }]),
    after: rancher([{ within: "stack", action: "deny" }, { ports: [80], action: "allow" }]),
    edit: toDrop,
    // h1: the web and db chains, each with an IPv4 and an IPv6 line (the stacks have both families).
    lines: { h1: { nft: 4 }, h2: { ipset: 0, v4: 2, v6: 2 } },
  },
  {
    name: "Calico: one rule of the last of three tiers (the policy passes to WEB, which goes on to BASE)",
    before: calico(22),
    after: calico(2222),
    edit: port(22, 2222),
    // ADMIN has IPv4 addresses only: no IPv6 rule line.
    lines: { h1: { nft: 1 }, h2: { ipset: 0, v4: 1, v6: 0 } },
  },
  {
    name: "Kubernetes: one port in one of two policies (two chains told apart by a named port)",
    before: kubernetes(6379),
    after: kubernetes(6380),
    edit: port(6379, 6380),
    // h1: db-a's and db-b's chains, one line per peer; h2: db-c's chain (IPv4 peers only).
    lines: { h1: { nft: 4 }, h2: { ipset: 0, v4: 2, v6: 0 } },
  },
];

describe("a one-rule change is that rule's lines plus the content hash", () => {
  test.each(CASES)("$name", ({ before, after, edit, lines }) => {
    const old = renderModel(before);
    const now = renderModel(after);
    expect(now.map((r) => r.host)).toEqual(Object.keys(lines));
    for (const [i, r] of now.entries()) {
      const a = texts(old[i]);
      const b = texts(r);
      const expected = lines[r.host];
      expect(Object.keys(b)).toEqual(Object.keys(expected));
      for (const [key, count] of Object.entries(expected)) {
        const { removed, added } = changed(a[key], b[key]);
        const hashLines = key === "ipset" ? 0 : 1;
        expect({ where: `${r.host} ${key}`, removed: removed.filter((l) => HASH_LINE.test(l)).length, added: added.filter((l) => HASH_LINE.test(l)).length })
          .toEqual({ where: `${r.host} ${key}`, removed: hashLines, added: hashLines });
        const rulesBefore = removed.filter((l) => !HASH_LINE.test(l));
        const rulesAfter = added.filter((l) => !HASH_LINE.test(l));
        expect(rulesBefore).toHaveLength(count);
        expect(rulesBefore.map(edit)).toEqual(rulesAfter);
      }
    }
  });

  type RancherPolicy = NonNullable<NonNullable<ModelInput["network"]>["policy"]>;
  const portRule = (): RancherPolicy[number] => ({ ports: [80], action: "allow" });
  const stackRule = (): RancherPolicy[number] => ({ within: "stack", action: "allow" });
  test.each<[string, RancherPolicy, RancherPolicy]>([
    ["added in front of", [stackRule()], [portRule(), stackRule()]],
    ["removed from the front of", [portRule(), stackRule()], [stackRule()]],
  ])("Rancher: a port rule %s `within: stack` is its own lines only (the other rules' origins move)", (_, before, after) => {
    const old = renderModel(rancher(before));
    const now = renderModel(rancher(after));
    const added = after.length > before.length;
    for (const [i, r] of now.entries()) {
      for (const [key, b] of Object.entries(texts(r))) {
        const { removed, added: plus } = changed(texts(old[i])[key], b);
        // Besides the rule lines, only the hash and each chain's comment (its rule count and origins) change, one for one.
        expect(removed.filter(chainComment).length).toBe(plus.filter(chainComment).length);
        const rules = (added ? plus : removed).filter((l) => !HASH_LINE.test(l) && !chainComment(l));
        const other = (added ? removed : plus).filter((l) => !HASH_LINE.test(l) && !chainComment(l));
        expect({ where: `${r.host} ${key}`, other }).toEqual({ where: `${r.host} ${key}`, other: [] });
        // One port line per stack chain: h1 holds web-1 and db-1 (nft); h2's iptables, one chain per stack and family.
        const expected = key === "ipset" ? 0 : 2;
        expect({ where: `${r.host} ${key}`, count: rules.length }).toEqual({ where: `${r.host} ${key}`, count: expected });
        for (const line of rules) expect(line).toMatch(/dports? 80 (return|-j RETURN)$/);
      }
    }
  });

  test("Calico: a rule that tests a tag, added in front of a profile's rules, is its own lines only", () => {
    const withRule = (doc: ModelInput): ModelInput => ({
      ...doc,
      profiles: (doc.profiles ?? []).map((p) => (p.id === "WEB"
        ? { ...p, inbound_rules: [{ action: "allow" as const, protocol: "tcp" as const, src_tag: "ADMIN", dst_ports: [8443] }, ...(p.inbound_rules ?? [])] }
        : p)),
    });
    const old = renderModel(calico(22));
    const now = renderModel(withRule(calico(22)));
    let rules = 0;
    for (const [i, r] of now.entries()) {
      for (const [key, b] of Object.entries(texts(r))) {
        const { removed, added } = changed(texts(old[i])[key], b);
        const other = removed.filter((l) => !HASH_LINE.test(l) && !chainComment(l));
        expect({ where: `${r.host} ${key}`, other }).toEqual({ where: `${r.host} ${key}`, other: [] });
        const lines = added.filter((l) => !HASH_LINE.test(l) && !chainComment(l));
        // The new rule's lines only; the tag's set is new, so the ipset text gains it (h2).
        for (const line of lines) expect(line).toMatch(key === "ipset" ? /^(create|add|flush) / : /8443/);
        if (key !== "ipset") rules += lines.length;
      }
    }
    expect(rules).toBeGreaterThanOrEqual(2);
  });

  test("the Kubernetes case really has two chains with one purpose, and both change", () => {
    const h1 = renderModel(kubernetes(6379))[0].nft ?? "";
    expect(h1.match(/^\tchain t_/gm)).toHaveLength(2);
    expect(h1).toMatch(/th dport 9100 return/);
    expect(h1).toMatch(/th dport 9200 return/);
  });
});

/** Every tier chain of every host, as id → its printed block (same id on two hosts: same block). */
function chainsOf(ps: PolicySet): Map<string, string> {
  const hostPrograms = new HostPrograms(ps);
  const out = new Map<string, string>();
  for (const h of ps.hosts) {
    for (const c of hostPrograms.host(h.name).chains) {
      const content = JSON.stringify({ rules: c.rules, tail: c.tail });
      expect(c.id).toMatch(/^[0-9a-f]{12}$/);
      const seen = out.get(c.id);
      if (seen !== undefined) expect(seen).toBe(content);
      out.set(c.id, content);
    }
  }
  return out;
}

/** One ingress program per endpoint `e<i>` on host h; every tier keeps the purpose of `tier(i)`. */
function programsOf(rules: Rule[][], order: "forward" | "reverse" = "forward"): PolicySet {
  const b = new PolicySetBuilder();
  const programs: Program[] = rules.map((r) => ({ tiers: [{ name: "t", rules: r, end: "deny", endOrigin: "e" }] }));
  const endpoints = programs.map((_, i) => ({ name: `e${i}`, ips: [`10.0.0.${i + 1}`], host: "h" }));
  const ids = (order === "forward" ? programs : [...programs].reverse()).map((p) => b.program(p));
  if (order === "reverse") ids.reverse();
  const ingress = Object.fromEntries(endpoints.map((e, i) => [e.name, ids[i]]));
  return b.build({ network: "n", endpoints: order === "forward" ? endpoints : [...endpoints].reverse(), hosts: [{ name: "h", backend: "nftables" }] },
    [{ name: "calico", ingress, egress: {}, ungoverned: { ingress: "", egress: "" } }]);
}

const tcp = (port: number, action: Rule["action"] = "allow", origin = "r"): Rule =>
  ({ match: { protocol: 6, dstPorts: [{ from: port, to: port }] }, action, origin });

describe("chain names", () => {
  test.each(Array.from({ length: 30 }, (_, i) => i + 1))("random policy set %i: one name per content, one content per name", (seed) => {
    const chains = chainsOf(randomPolicySet(seed));
    expect(new Set(chains.values()).size).toBe(chains.size);
  });

  test.each([
    ["equal contents, one purpose", 1, [[tcp(80)], [tcp(80)]]],
    ["equal contents, two purposes (origins)", 1, [[tcp(80, "allow", "a")], [tcp(80, "allow", "b")]]],
    ["one purpose, different ports", 3, [[tcp(80)], [tcp(81)], [tcp(82)]]],
    ["one purpose, same match, different actions", 3, [[tcp(80, "allow")], [tcp(80, "deny")], [tcp(80, "log")]]],
  ] as [string, number, Rule[][]][])("%s: %i chain(s)", (_, count, rules) => {
    const ps = programsOf(rules);
    expect(chainsOf(ps).size).toBe(count);
    // The names do not depend on the order programs were built or endpoints listed in.
    expect(renderAll(programsOf(rules, "reverse"))).toEqual(renderAll(ps));
  });

  test("a collision is named apart by the differing rule, so a change elsewhere keeps both names", () => {
    const names = (p: number) => [...chainsOf(programsOf([[tcp(p), tcp(9100, "allow", "m")], [tcp(p), tcp(9200, "allow", "m")]])).keys()].sort();
    expect(names(6379)).toHaveLength(2);
    expect(names(6380)).toEqual(names(6379));
  });

  test("iptables chain names stay within 28 characters", () => {
    const r = renderModel({ ...calico(22), hosts: [{ name: "h1", backend: "iptables" }, { name: "h2", backend: "iptables" }] })[0];
    validateRuleset(r);
    const declared = (r.iptables?.v4 ?? "").split("\n").filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0]);
    expect(declared.length).toBeGreaterThan(1);
    for (const name of declared) expect(name.length).toBeLessThanOrEqual(28);
  });

  test("a host's text does not change when a tier that shares its chain comes to another host", () => {
    // calico-web-app: client-1 (on h1) gets a profile whose tier has the content of APP's, whose
    // chain h2 also carries; h2's text must not say how many tiers share it.
    const model = parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "models", "calico-web-app.yaml"), "utf8")) as ModelInput;
    const changedModel: ModelInput = {
      ...model,
      endpoints: (model.endpoints ?? []).map((e) => (e.name === "client-1" ? { ...e, profiles: ["CLIENT"] } : e)),
      profiles: [...(model.profiles ?? []), { id: "CLIENT", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80] }], outbound_rules: [{ action: "allow" }] }],
    };
    const [before, after] = [model, changedModel].map((m) => renderModel(m));
    expect(after.find((r) => r.host === "h1")?.hash).not.toBe(before.find((r) => r.host === "h1")?.hash);
    expect(after.find((r) => r.host === "h2")).toEqual(before.find((r) => r.host === "h2"));
  });
});
