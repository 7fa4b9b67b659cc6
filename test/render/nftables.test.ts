import { createHash } from "node:crypto";
import { PolicySetBuilder } from "../../provider/ir/builder";
import { Match, PolicySet } from "../../provider/ir";
import { parseModelText } from "../../provider/model/model";
import { compile } from "../../provider/compile";
import { Renderer, renderAll, renderHost, tableName } from "../../provider/render";
import { diffStatements } from "./statements";
import { validateRuleset } from "../../provider/ruleset";
import { commentText } from "../../provider/ruleset/comment";
import { randomPolicySet } from "./random-policy";
import { compileFixture, fixture, HOSTILE, hostilePolicySet, nftBlock, nftCheck, oneProgram, tier, toolsAvailable, withoutComments } from "./support";

const nftHere = toolsAvailable("nft");
const checked = nftHere ? test : test.skip;

/** The host `h` table of `ps`; asserts `nft -c` accepts it. */
function nftOf(ps: PolicySet, host = "h"): string {
  const r = renderHost(ps, host);
  if (r.nft === undefined) throw new Error("no nft text");
  validateRuleset(r); // the SSH applier's own contract check
  if (nftHere) expect(nftCheck(r.nft)).toBe("");
  return r.nft;
}

/** The rule lines of the chain `x`'s IPv4 ingress dispatch jumps to. */
function firstChain(text: string): string[] {
  const jump = /10\.0\.0\.1 comment "x" : jump (t_[0-9a-f]{12})/.exec(text);
  if (!jump) throw new Error(`no dispatch for x in\n${text}`);
  return nftBlock(text, new RegExp(`^chain ${jump[1]} \\{`));
}

/** Set names are content hashes; tests compare them as `@SET_v4`. */
const S = (family: string) => `@SET_${family}`;
const anonymize = (line: string) => line.replace(/@s_[0-9a-f]{12}_/g, "@SET_");

describe("rule lines (one tier, one rule, then drop)", () => {
  const cases: [string, (s: { p4: string; p6: string; both: string; net: string }) => Match, string[]][] = [
    ["no condition", () => ({}), ["return", "drop"]],
    ["tcp ports", () => ({ protocol: 6, dstPorts: [{ from: 443, to: 443 }, { from: 80, to: 80 }, { from: 8000, to: 8080 }] }),
      ["meta l4proto tcp th dport { 80, 443, 8000-8080 } return", "drop"]],
    ["overlapping port ranges are merged", () => ({ protocol: 17, dstPorts: [{ from: 10, to: 20 }, { from: 15, to: 30 }, { from: 31, to: 31 }] }),
      ["meta l4proto udp th dport 10-31 return", "drop"]],
    ["negated ports on tcp", () => ({ protocol: 6, notDstPorts: [{ from: 22, to: 22 }] }), ["meta l4proto tcp th dport != 22 return", "drop"]],
    ["negated ports without protocol also match portless packets", () => ({ notDstPorts: [{ from: 22, to: 22 }] }), [
      "meta l4proto != { tcp, udp, dccp, sctp, udplite } return",
      "meta l4proto { tcp, udp, dccp, sctp, udplite } th dport != 22 return", "drop"]],
    ["source ports", () => ({ protocol: 6, srcPorts: [{ from: 53, to: 53 }] }), ["meta l4proto tcp th sport 53 return", "drop"]],
    ["!protocol", () => ({ notProtocol: 6 }), ["meta l4proto != tcp return", "drop"]],
    ["other protocol by number", () => ({ protocol: 47 }), ["meta l4proto 47 return", "drop"]],
    ["source set, both families", (s) => ({ src: [{ set: s.both }] }), [
      `meta nfproto ipv4 ip saddr ${S("v4")} return`, `meta nfproto ipv6 ip6 saddr ${S("v6")} return`, "drop"]],
    ["IPv4-only set: no IPv6 rule", (s) => ({ src: [{ set: s.p4 }] }), [`meta nfproto ipv4 ip saddr ${S("v4")} return`, "drop"]],
    ["negated IPv4-only set: every IPv6 packet matches", (s) => ({ src: [{ set: s.p4, negate: true }] }), [
      `meta nfproto ipv4 ip saddr != ${S("v4")} return`, "meta nfproto ipv6 return", "drop"]],
    ["negated IPv6-only set on the destination", (s) => ({ dst: [{ set: s.p6, negate: true }] }), [
      "meta nfproto ipv4 return", `meta nfproto ipv6 ip6 daddr != ${S("v6")} return`, "drop"]],
    ["ipVersion 6", () => ({ ipVersion: 6 }), ["meta nfproto ipv6 return", "drop"]],
    ["ICMP echo", () => ({ protocol: 1, icmpType: 8 }), ["meta nfproto ipv4 meta l4proto icmp icmp type 8 return", "drop"]],
    ["ICMPv6 echo with code", () => ({ protocol: 58, icmpType: 128, icmpCode: 0 }),
      ["meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 128 icmpv6 code 0 return", "drop"]],
    ["!icmp_type with protocol icmp", () => ({ protocol: 1, notIcmpType: 8 }), ["meta nfproto ipv4 meta l4proto icmp icmp type != 8 return", "drop"]],
    ["net set with except", (s) => ({ dst: [{ set: s.net }], protocol: 6 }), [`meta nfproto ipv4 meta l4proto tcp ip daddr ${S("v4")} return`, "drop"]],
  ];
  test.each(cases)("%s", (_name, match, expected) => {
    expect(firstChain(nftOf(oneProgram((s) => tier(match(s))))).map(anonymize)).toEqual(expected);
  });
});

describe("tiers and actions", () => {
  test("pass and end:next go to the next tier's chain; log is non-terminal with a fixed prefix", () => {
    const text = nftOf(oneProgram(() => [
      { name: "policies", rules: [{ match: { protocol: 6 }, action: "log", origin: "a" }, { match: { protocol: 17 }, action: "pass", origin: "b" }], end: "next", endOrigin: "e" },
      { name: "profile", rules: [{ match: { protocol: 17 }, action: "deny", origin: "c" }], end: "allow", endOrigin: "e" },
    ]));
    const first = firstChain(text);
    const next = /goto (t_[0-9a-f]{12})/.exec(first.join("\n"))?.[1];
    expect(first).toEqual(['meta l4proto tcp log prefix "netpol calico "', `meta l4proto udp goto ${next}`, `goto ${next}`]);
    expect(nftBlock(text, new RegExp(`^chain ${next} \\{`))).toEqual(["meta l4proto udp drop", "return"]);
  });

  test("pass in the last tier falls off it; end:next in the last tier denies", () => {
    const lines = firstChain(nftOf(oneProgram(() => tier({ protocol: 6 }, "pass", "next"))));
    expect(lines).toEqual(["meta l4proto tcp drop", "drop"]);
  });

  test("the base chain: established first, then egress and ingress maps per layer in layer order", () => {
    const b = new PolicySetBuilder();
    const allow = b.program({ tiers: tier({}) });
    const gov = { x: allow };
    const ps = b.build({ network: "n", endpoints: [{ name: "x", ips: ["10.0.0.1", "fd00::1"], host: "h" }], hosts: [{ name: "h", backend: "nftables" }] }, [
      { name: "rancher", ingress: gov, egress: {}, ungoverned: { ingress: "", egress: "" } },
      { name: "calico", ingress: gov, egress: gov, ungoverned: { ingress: "", egress: "" } },
    ]);
    expect(nftBlock(nftOf(ps), /^chain forward \{/)).toEqual([
      "type filter hook forward priority filter; policy accept;",
      "ct state vmap { invalid : drop, established : accept, related : accept }",
      "ip daddr vmap @rancher_ingress_v4",
      "ip6 daddr vmap @rancher_ingress_v6",
      "ip saddr vmap @calico_egress_v4",
      "ip6 saddr vmap @calico_egress_v6",
      "ip daddr vmap @calico_ingress_v4",
      "ip6 daddr vmap @calico_ingress_v6",
    ]);
  });
});

describe("Rancher fixture (compiled from the model)", () => {
  const ps = compileFixture("rancher-stacks.yaml");
  const text = nftOf(ps, "node1");

  test("table name, the version chain's hash rule, and the hash is sha256 of the rest's parts' sha256s", () => {
    const r = renderHost(ps, "node1");
    expect(r.table).toBe(tableName("shop"));
    expect(r.table).toMatch(/^netpol_[0-9a-f]{8}$/);
    expect(text.startsWith(`table inet ${r.table} {\n`)).toBe(true);
    expect(text).toMatch(new RegExp(`\\tchain version \\{\\n\\t\\tcomment "[^"]+"\\n\\t\\treturn comment "netpol:${r.hash}"\\n\\t\\}\\n`));
    expect(text.split(`netpol:${r.hash}`)).toHaveLength(2);
    const rest = text.replace(`\t\treturn comment "netpol:${r.hash}"\n`, "");
    // The head line, the blocks between blank lines, the closing line: each digested, then the digests.
    const head = rest.slice(0, rest.indexOf("\n") + 1);
    const body = rest.slice(head.length, -"\n}\n".length);
    const parts = [head, ...body.split("\n\n"), "\n}\n"];
    expect(parts.length).toBeGreaterThan(5);
    const sha = (t: string | Buffer) => createHash("sha256").update(t).digest();
    expect(createHash("sha256").update(Buffer.concat(parts.map(sha))).digest("hex")).toBe(r.hash);
    // Any byte of the text is covered: one changed character in a set's elements changes the hash.
    expect(createHash("sha256").update(Buffer.concat(parts.map((p) => sha(p.replace("10.42.0.11", "10.42.0.12"))))).digest("hex")).not.toBe(r.hash);
  });

  test("node1 dispatches only its own endpoints, and holds the stacks' sets", () => {
    expect(nftBlock(text, /^map rancher_ingress_v4 \{/).slice(2, -1)).toEqual([
      expect.stringMatching(/^10\.42\.0\.11 : jump t_[0-9a-f]{12},$/),
      expect.stringMatching(/^10\.42\.0\.21 : jump t_[0-9a-f]{12},$/),
      "10.42.0.31 : drop",
    ]);
    expect(text).not.toContain("rancher_ingress_v6");
    expect(text).toContain("\t\t\t10.42.0.11,\n\t\t\t10.42.0.12\n");
    expect(text).toContain("\t\t\tfd42::12\n");
  });

  test("user text reaches the ruleset only in comments: names are hashes", () => {
    const bare = withoutComments(text.split("\n")).join("\n");
    for (const word of ["web", "db-", "lone", "shop", "stack"]) expect(bare).not.toContain(word);
  });

  test("every set, map and chain says what it is for, and every dispatch entry whose endpoint it is", () => {
    const comments = (header: RegExp) => text.replace(/^table inet \S+ \{\n/, "").split("\n\n").filter((b) => header.test(b.trim()))
      .map((b) => /^\t\tcomment "(.*)"$/m.exec(b)?.[1]);
    expect(comments(/^set /)).toEqual([
      // No count: nft cannot change an existing set's comment (an incremental apply adds elements).
      "stack db, IPv4 addresses", "stack db, IPv6 addresses", "stack web, IPv4 addresses", "stack web, IPv6 addresses",
    ]);
    expect(comments(/^map /)).toEqual(["rancher ingress dispatch, IPv4: local destination -> first tier of its program"]);
    expect(nftBlock(text, /^map rancher_ingress_v4 \{/, true).slice(3, -1)).toEqual([
      expect.stringMatching(/^10\.42\.0\.11 comment "web-1" : jump t_[0-9a-f]{12},$/),
      expect.stringMatching(/^10\.42\.0\.21 comment "db-1" : jump t_[0-9a-f]{12},$/),
      '10.42.0.31 comment "lone" : drop',
    ]);
    // A chain's comment names its tier and what decides at its end; the # line above it counts the
    // rule lines it holds (one per family: db-1 is IPv4, db-2 IPv6) and names each rule by origin.
    const chains = text.split("\n\n").filter((b) => /^\t# [^\n]*\n\tchain t_/.test(b));
    expect(chains.map((b) => [/^\t# (.*)$/m.exec(b)?.[1], /^\t\tcomment "(.*)"$/m.exec(b)?.[1]]).sort()).toEqual([
      ["2 rules: network.policy[0] from stack db; no match: network.defaultPolicyAction", "rancher network policy, else drop"],
      ["2 rules: network.policy[0] from stack web; no match: network.defaultPolicyAction", "rancher network policy, else drop"],
    ]);
    expect(comments(/\tchain forward \{/)).toEqual(["entry for forwarded traffic: replies pass, new connections run each layer's dispatch"]);
  });
});

describe("determinism and hashing", () => {
  const model = parseModelText(fixture("rancher-stacks.yaml"));

  test("same input twice gives the same bytes", () => {
    expect(renderAll(compile(model))).toEqual(renderAll(compile(model)));
  });

  test("reordered endpoints give the same bytes", () => {
    const reversed = { ...model, endpoints: [...(model.endpoints ?? [])].reverse() };
    expect(renderAll(compile(reversed))).toEqual(renderAll(compile(model)));
  });

  test("rendering hosts in another order on one Renderer gives the same bytes", () => {
    const r1 = new Renderer(compile(model));
    const r2 = new Renderer(compile(model));
    const a = [r1.renderHost("node1"), r1.renderHost("node2")];
    const b = [r2.renderHost("node2"), r2.renderHost("node1")].reverse();
    expect(a).toEqual(b);
  });

  test("the hash changes when the content changes, and the diff stays with the changed group", () => {
    const before = renderHost(compile(model), "node1");
    const grown = { ...model, endpoints: [...(model.endpoints ?? []), { name: "web-3", ips: ["10.42.0.13"], host: "node2", stack: "web" }] };
    const after = renderHost(compile(grown), "node1");
    expect(after.hash).not.toBe(before.hash);
    const old = new Set((before.nft ?? "").split("\n"));
    const added = (after.nft ?? "").split("\n").filter((l) => !old.has(l));
    expect(added).toContain("\t\t\t10.42.0.13");
    // Set and chain names are content hashes, so the web set, the web chain and web-1's map entry
    // change; the db stack's lines do not.
    expect(added.filter((l) => l.includes("10.42.0.21"))).toEqual([]);
    expect(added.length).toBeLessThanOrEqual(10);
  });
});

test.each(Array.from({ length: 10 }, (_, i) => i + 1))("random policy set %i: the # line above each chain counts the rule lines it holds", (seed) => {
  const ps = randomPolicySet(seed);
  for (const h of ps.hosts.filter((x) => x.backend === "nftables")) {
    const text = renderHost(ps, h.name).nft ?? "";
    for (const [, id] of text.matchAll(/^\tchain (t_[0-9a-f]{12}) \{$/gm)) {
      const block = nftBlock(text, new RegExp(`^chain ${id} \\{`), true);
      const counted = new RegExp(`^\t# (\\d+) rules?: .*\n\tchain ${id} \\{$`, "m").exec(text)?.[1];
      expect({ id, counted: Number(counted) }).toEqual({ id, counted: block.length - 2 }); // less the comment and the tail
    }
  }
});

describe("size", () => {
  test("100 endpoints with the same program share one chain", () => {
    const b = new PolicySetBuilder();
    const names = Array.from({ length: 100 }, (_, i) => `e${i}`);
    const group = b.endpointSet(names);
    const program = b.program({ tiers: tier({ src: [{ set: group }], protocol: 6, dstPorts: [{ from: 80, to: 80 }] }) });
    const ps = b.build({
      network: "n",
      endpoints: names.map((name, i) => ({ name, ips: [`10.1.${i >> 8}.${i & 255}`], host: "h" })),
      hosts: [{ name: "h", backend: "nftables" }],
    }, [{ name: "calico", ingress: Object.fromEntries(names.map((n) => [n, program])), egress: {}, ungoverned: { ingress: "", egress: "" } }]);
    const text = nftOf(ps);
    expect(text.match(/^\tchain t_/gm)).toHaveLength(1);
    expect(text.match(/ : jump t_/g)).toHaveLength(100);
  });
});

describe("nft -c accepts every rendering", () => {
  checked.each(Array.from({ length: 30 }, (_, i) => i + 1))("random policy set %i, every nftables host", (seed) => {
    const ps = randomPolicySet(seed);
    for (const h of ps.hosts.filter((x) => x.backend === "nftables")) nftOf(ps, h.name);
  });

  checked("an empty host (no local endpoints)", () => {
    const ps = compileFixture("rancher-stacks.yaml");
    const empty: PolicySet = { ...ps, hosts: [...ps.hosts, { name: "spare", backend: "nftables" }] };
    expect(nftBlock(nftOf(empty, "spare"), /^chain forward \{/)).toHaveLength(2); // the hook and the ct state map only
  });
});

describe("plans stay small: named sets keep their names when members change", () => {
  const labelModel = (extra: string) => parseModelText(`
name: n
hosts: [{ name: h1 }, { name: h2 }]
endpoints:
  - { name: a, ips: [10.0.1.1], host: h1, stack: s1, labels: { dept: qa } }
  - { name: b, ips: [10.0.2.1], host: h2, stack: s2, labels: { dept: qa } }
  - { name: c, ips: [10.0.2.2], host: h2, stack: s2, labels: { dept: eng } }
${extra}
network:
  defaultPolicyAction: deny
  policy:
    - { between: { groupBy: dept }, action: allow }
    - { within: stack, action: allow }
`, "n.yaml");
  const joined = "  - { name: d, ips: [10.0.2.3], host: h2, stack: s2, labels: { dept: qa } }";

  test("an endpoint joining a group on another host changes only that group's and stack's set elements on h1", () => {
    const before = nftOf(compile(labelModel("")), "h1");
    const after = nftOf(compile(labelModel(joined)), "h1");
    const d = diffStatements(before, after);
    expect(d.removed).toEqual([]);
    expect(d.added).toHaveLength(1);
    expect(d.added[0]).toMatch(/^set s_[0-9a-f]{12}_v4: element 10\.0\.2\.3$/);
  });

  const onlyElementAdded = (before: string, after: string, address: string) => {
    const d = diffStatements(before, after);
    expect(d.removed).toEqual([]);
    expect(d.added.length).toBeGreaterThan(0);
    for (const line of d.added) expect(line).toMatch(new RegExp(`^set s_[0-9a-f]{12}_v4: element ${address.replace(/\./g, "\\.")}$`));
  };

  test("a Calico tag and selector keep their set names", () => {
    const doc = (extra: string) => compile(parseModelText(`
name: n
hosts: [{ name: h1 }, { name: h2 }]
endpoints:
  - { name: a, ips: [10.0.1.1], host: h1, profiles: [web], labels: { app: web } }
  - { name: b, ips: [10.0.2.1], host: h2, profiles: [web], labels: { app: web } }
${extra}
profiles:
  - id: web
    inbound_rules:
      - { action: allow, protocol: tcp, dst_ports: [80], src_tag: web }
      - { action: allow, protocol: tcp, dst_ports: [443], src_selector: "app == 'web'" }
`, "n.yaml"));
    onlyElementAdded(nftOf(doc(""), "h1"), nftOf(doc("  - { name: c, ips: [10.0.2.2], host: h2, profiles: [web], labels: { app: web } }"), "h1"), "10.0.2.2");
  });

  test("a Kubernetes pod peer keeps its set name", () => {
    const doc = (extra: string) => compile(parseModelText(`
name: n
hosts: [{ name: h1 }, { name: h2 }]
namespaces: [{ name: default }]
endpoints:
  - { name: db, ips: [10.0.1.1], host: h1, namespace: default, labels: { role: db } }
  - { name: fe, ips: [10.0.2.1], host: h2, namespace: default, labels: { role: frontend } }
${extra}
networkPolicies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: { name: db, namespace: default }
    spec:
      podSelector: { matchLabels: { role: db } }
      ingress: [{ from: [{ podSelector: { matchLabels: { role: frontend } } }], ports: [{ protocol: TCP, port: 6379 }] }]
`, "n.yaml"));
    onlyElementAdded(nftOf(doc(""), "h1"), nftOf(doc("  - { name: fe2, ips: [10.0.2.2], host: h2, namespace: default, labels: { role: frontend } }"), "h1"), "10.0.2.2");
  });
});

describe("user text in comments cannot break out of them", () => {
  test("a hostile endpoint name, set purpose, tier name and origin stay inside their quotes", () => {
    const text = nftOf(hostilePolicySet()); // passes the guard and nft -c
    expect(text.match(/^table /gm)).toHaveLength(1);
    expect(text).not.toContain("netpol:ffff");
    expect(text).not.toContain("$(");
    const safe = commentText(HOSTILE);
    expect(safe).toBe("evil? : accept ? ? table ip x ? chain y ? type filter hook input priority 0; policy drop; ? ? ? ?(reboot) ? netpol?ffff");
    expect(text).toContain(`\t\t\t10.0.0.1 comment "${safe}" : jump t_`);
    // Too long with its count: cut to nft's 128 characters.
    expect(text).toContain(`\t\tcomment "${commentText(`${HOSTILE}, IPv4 addresses`)}"\n`);
    const chainNote = /^comment "(.*)"$/.exec(nftBlock(text, /^chain t_/, true)[0])?.[1] ?? "";
    expect(chainNote).toHaveLength(128);
    expect(chainNote).toMatch(/^calico evil\? : accept \? \? table ip x .*\.\.\.$/);
    expect(text).toContain(`\t# 1 rule: ${commentText(`${HOSTILE} from ${HOSTILE}; no match: ${HOSTILE}`, 1000)}\n\tchain t_`);
  });

  test("a Calico selector with quotes and braces names its set, made safe", () => {
    const ps = compile(parseModelText(`
name: n
hosts: [{ name: h1 }]
endpoints:
  - { name: a, ips: [10.0.1.1], host: h1, profiles: [web], labels: { app: web } }
profiles:
  - id: web
    inbound_rules: [{ action: allow, src_selector: 'has(app) || app == "x'' } }; flush ruleset #"' }]
`, "n.yaml"));
    expect(nftOf(ps, "h1")).toContain(`\t\tcomment "calico selector has(app) || app == ?x' ? ?; flush ruleset ??, IPv4 addresses"`);
  });
});

test("a Calico tier chain's comment names its policy tier or its profile, never a bare \"policy tier\"", () => {
  const text = nftOf(compile(parseModelText(`
name: n
hosts: [{ name: h1 }]
endpoints:
  - { name: web-1, ips: [10.0.1.1], host: h1, profiles: [WEB], labels: { role: web } }
  - { name: web-2, ips: [10.0.1.2], host: h1, profiles: [WEB], labels: { role: web } }
profiles:
  - { id: WEB, inbound_rules: [{ action: allow, protocol: tcp, dst_ports: [80] }] }
policies:
  - { name: first, selector: "role == 'web'", inbound_rules: [{ action: deny, protocol: udp }, { action: pass }] }
`, "n.yaml")), "h1");
  const chains = text.split("\n\n").filter((b) => /\n\tchain t_/.test(b))
    .map((b) => [/^\t# (.*)$/m.exec(b)?.[1], /^\t\tcomment "(.*)"$/m.exec(b)?.[1]]);
  expect(chains).toEqual(expect.arrayContaining([
    // `pass` goes on to the profile; falling off a policy that applied denies.
    ["2 rules: policies[0].inbound_rules[0], policies[0].inbound_rules[1]; no match: no inbound policy rule allows (policies: first)", "calico policies, else drop"],
    ["1 rule: profiles[0].inbound_rules[0]; no match: no profile allows inbound (profiles: WEB)", "calico profile WEB, else drop"],
  ]));
  expect(text).not.toContain("policy tier");
});
