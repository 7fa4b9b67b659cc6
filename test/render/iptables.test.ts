import { spawnSync } from "node:child_process";
import { PolicySet } from "../../provider/ir";
import { RenderError, renderAll, renderHost } from "../../provider/render";
import { HostRuleset, validateRuleset } from "../../provider/ruleset";
import { randomPolicySet } from "./random-policy";
import { commentText } from "../../provider/ruleset/comment";
import { compileFixture, HOSTILE, hostilePolicySet, oneProgram, tier, toolsAvailable } from "./support";

const toolsHere = toolsAvailable("ip", "iptables-restore", "ip6tables-restore", "ipset");
const loaded = toolsHere ? test : test.skip;

type Ipt = NonNullable<HostRuleset["iptables"]>;

function iptOf(ps: PolicySet, host = "h"): Ipt {
  const r = renderHost(ps, host);
  if (!r.iptables) throw new Error("no iptables output");
  validateRuleset(r); // the SSH applier's own contract check
  return r.iptables;
}

/** The `-A` lines of the chain x's IPv4 dispatch jumps to, with the chain name shortened to `T`. */
function firstChain(ipt: Ipt, family: 4 | 6 = 4): string[] {
  const text = family === 4 ? ipt.v4 : ipt.v6;
  const jump = new RegExp(`-d ${family === 4 ? "10\\.0\\.0\\.1/32" : "fd00::1/128"} -m comment --comment "x" -j (\\S+)`).exec(text);
  if (!jump) throw new Error(`no dispatch for x in\n${text}`);
  return text.split("\n").filter((l) => l.startsWith(`-A ${jump[1]} `))
    .map((l) => l.slice(`-A ${jump[1]} `.length).replace(/netpol_[0-9a-f]{8}_[0-9a-f]{12}_/g, "SET_"));
}

let netnsCount = 0;
/** Runs `script` (sh) inside a throwaway network namespace, deleted afterwards. */
function inNetns(script: string, files: Record<string, string>): { status: number | null; out: string } {
  const name = `netpol-render-${process.pid}-${++netnsCount}`;
  const add = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
  if (add.status !== 0) throw new Error(`ip netns add: ${add.stderr}`);
  try {
    const env = { ...process.env, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v])) };
    const r = spawnSync("ip", ["netns", "exec", name, "sh", "-ec", script], { encoding: "utf8", env });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    spawnSync("ip", ["netns", "del", name]);
  }
}

/** Loads a host's ruleset for real (ipset has no test mode), twice, hooked from FORWARD. */
function load(ipt: Ipt): { status: number | null; out: string } {
  return inNetns([
    'printf "%s" "$IPSET" | ipset restore',
    'printf "%s" "$V4" | iptables-restore --noflush',
    'printf "%s" "$V6" | ip6tables-restore --noflush',
    `iptables -A FORWARD -j ${ipt.entryChain}`,
    `ip6tables -A FORWARD -j ${ipt.entryChain}`,
    'printf "%s" "$IPSET" | ipset restore',
    'printf "%s" "$V4" | iptables-restore --noflush',
    'printf "%s" "$V6" | ip6tables-restore --noflush',
    `iptables -S ${ipt.entryChain}`,
    `iptables -S ${ipt.entryChain}_HASH`,
  ].join("\n"), { IPSET: ipt.ipset, V4: ipt.v4, V6: ipt.v6 });
}

describe("rule lines", () => {
  const cases: [string, (s: { p4: string; p6: string; both: string; net: string }) => Parameters<typeof tier>[0], string[], string[]][] = [
    ["no condition", () => ({}), ["-j RETURN", "-j DROP"], ["-j RETURN", "-j DROP"]],
    ["tcp ports", () => ({ protocol: 6, dstPorts: [{ from: 443, to: 443 }, { from: 80, to: 80 }, { from: 8000, to: 8080 }] }),
      ["-p tcp -m multiport --dports 80,443,8000:8080 -j RETURN", "-j DROP"], ["-p tcp -m multiport --dports 80,443,8000:8080 -j RETURN", "-j DROP"]],
    ["ports without protocol: one rule per ported protocol", () => ({ dstPorts: [{ from: 53, to: 53 }] }), [
      "-p tcp -m multiport --dports 53 -j RETURN", "-p udp -m multiport --dports 53 -j RETURN", "-p dccp -m multiport --dports 53 -j RETURN",
      "-p sctp -m multiport --dports 53 -j RETURN", "-p udplite -m multiport --dports 53 -j RETURN", "-j DROP"], []],
    ["negated source set per family", (s) => ({ src: [{ set: s.p4, negate: true }], protocol: 17 }),
      ["-p udp -m set ! --match-set SET_4 src -j RETURN", "-j DROP"], ["-p udp -j RETURN", "-j DROP"]],
    ["ICMP type and code", () => ({ protocol: 1, icmpType: 3, notIcmpCode: 1 }),
      ["-p icmp -m icmp --icmp-type 3 -m icmp ! --icmp-type 3/1 -j RETURN", "-j DROP"], ["-j DROP"]],
    ["ICMPv6 type and code", () => ({ protocol: 58, icmpType: 128, icmpCode: 0 }),
      ["-j DROP"], ["-p ipv6-icmp -m icmp6 --icmpv6-type 128/0 -j RETURN", "-j DROP"]],
    ["net set, destination", (s) => ({ dst: [{ set: s.net }] }), ["-m set --match-set SET_4 dst -j RETURN", "-j DROP"], ["-j DROP"]],
  ];
  test.each(cases)("%s", (_name, match, v4, v6) => {
    const ipt = iptOf(oneProgram((s) => tier(match(s)), "iptables"));
    expect(firstChain(ipt, 4)).toEqual(v4);
    if (v6.length > 0) expect(firstChain(ipt, 6)).toEqual(v6);
  });

  test("more than 15 ports split into several multiport matches", () => {
    const ports = Array.from({ length: 20 }, (_, i) => ({ from: 1000 + 2 * i, to: 1000 + 2 * i }));
    const lines = firstChain(iptOf(oneProgram(() => [
      { name: "t", rules: [{ match: { protocol: 6, dstPorts: ports }, action: "allow", origin: "a" }, { match: { protocol: 6, notDstPorts: ports }, action: "deny", origin: "b" }], end: "allow", endOrigin: "e" },
    ], "iptables")));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^-p tcp -m multiport --dports 1000,.*,1028 -j RETURN$/);
    expect(lines[1]).toMatch(/^-p tcp -m multiport --dports 1030,.*,1038 -j RETURN$/);
    expect(lines[2]).toMatch(/^-p tcp -m multiport ! --dports 1000,.*,1028 -m multiport ! --dports 1030,.*,1038 -j DROP$/);
  });

  test("pass goes (-g) to the next tier's chain; log keeps going", () => {
    const ipt = iptOf(oneProgram(() => [
      { name: "a", rules: [{ match: {}, action: "log", origin: "l" }, { match: { protocol: 6 }, action: "pass", origin: "p" }], end: "deny", endOrigin: "e" },
      { name: "b", rules: [], end: "allow", endOrigin: "e" },
    ], "iptables"));
    const lines = firstChain(ipt);
    expect(lines[0]).toBe('-j LOG --log-prefix "netpol calico "');
    expect(lines[1]).toMatch(/^-p tcp -g NETPOL_[0-9A-F]{8}_[0-9A-F]{12}$/);
    expect(lines[2]).toBe("-j DROP");
  });

  test("a protocol exclusion iptables cannot spell is a RenderError", () => {
    expect(() => iptOf(oneProgram(() => tier({ notDstPorts: [{ from: 22, to: 22 }] }), "iptables"))).toThrow(RenderError);
  });
});

describe("Rancher fixture, iptables host", () => {
  const ps = compileFixture("rancher-stacks.yaml");
  const r = renderHost(ps, "node2");
  const ipt = r.iptables;

  test("entry chain: conntrack, then one dispatch rule per local address, naming its endpoint", () => {
    if (!ipt) throw new Error("no iptables output");
    const entry = ipt.entryChain;
    expect(entry).toBe(r.table.toUpperCase());
    const rules = ipt.v4.split("\n").filter((l) => l.startsWith(`-A ${entry} `));
    expect(rules).toEqual([
      `-A ${entry} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${entry} -m conntrack --ctstate INVALID -j DROP`,
      expect.stringMatching(new RegExp(`^-A ${entry} -d 10\\.42\\.0\\.12/32 -m comment --comment "web-2" -j ${entry}_[0-9A-F]{12}$`)),
    ]);
    expect(ipt.v6).toMatch(new RegExp(`-A ${entry} -d fd42::12/128 -m comment --comment "web-2" -j ${entry}_[0-9A-F]{12}\\n`));
    expect(ipt.v6).toMatch(new RegExp(`-A ${entry} -d fd42::22/128 -m comment --comment "db-2" -j ${entry}_[0-9A-F]{12}\\n`));
    expect(ipt.v4.startsWith(`*filter\n:${entry} - [0:0]\n`)).toBe(true);
    expect(ipt.v4.endsWith("COMMIT\n")).toBe(true);
  });

  test("the hash lives alone in the hash chain, declared and filled last in each family, jumped to by nothing", () => {
    if (!ipt) throw new Error("no iptables output");
    const hashChain = `${ipt.entryChain}_HASH`;
    for (const text of [ipt.v4, ipt.v6]) {
      const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
      expect(lines.filter((l) => l.includes("netpol:"))).toEqual([`-A ${hashChain} -m comment --comment "netpol:${r.hash}"`]);
      expect(lines.slice(-2)).toEqual([`-A ${hashChain} -m comment --comment "netpol:${r.hash}"`, "COMMIT"]);
      expect(lines.filter((l) => l.startsWith(":")).pop()).toBe(`:${hashChain} - [0:0]`);
      expect(lines.filter((l) => l.includes(`-j ${hashChain}`) || l.includes(`-g ${hashChain}`))).toEqual([]);
    }
  });

  test("a # line says what each set, dispatch list and chain is for, counting what the family holds", () => {
    if (!ipt) throw new Error("no iptables output");
    const notes = (text: string) => text.split("\n").filter((l) => l.startsWith("# ") && !/^# (Entry|program of)/.test(l));
    expect(notes(ipt.ipset)).toEqual([
      "# stack db, IPv4: 1 address", "# stack db, IPv6: 1 address", "# stack web, IPv4: 2 addresses", "# stack web, IPv6: 1 address",
    ]);
    const chains = [
      "# rancher network policy, 1 rule, else drop: network.policy[0] from stack db; no match: network.defaultPolicyAction",
      "# rancher network policy, 1 rule, else drop: network.policy[0] from stack web; no match: network.defaultPolicyAction",
    ];
    expect(notes(ipt.v4)).toEqual(["# rancher ingress dispatch, IPv4: local destination -> first tier of its program, 1 address", ...chains]);
    expect(notes(ipt.v6)).toEqual(["# rancher ingress dispatch, IPv6: local destination -> first tier of its program, 2 addresses", ...chains]);
  });

  test("names fit iptables (28) and ipset (31), and carry the table prefix", () => {
    if (!ipt) throw new Error("no iptables output");
    for (const m of ipt.v4.matchAll(/^:(\S+)/gm)) expect(m[1].length).toBeLessThanOrEqual(28);
    const sets = [...ipt.ipset.matchAll(/^create (\S+) (hash:ip|hash:net) family (inet6?)/gm)];
    expect(sets.length).toBeGreaterThan(0);
    for (const m of sets) {
      expect(m[1].length).toBeLessThanOrEqual(31);
      expect(m[1].startsWith(`${r.table}_`)).toBe(true);
    }
  });

  test("same input gives the same bytes; the hash covers all three texts", () => {
    expect(renderAll(compileFixture("rancher-stacks.yaml"))).toEqual(renderAll(ps));
    const changed = { ...ps, endpoints: ps.endpoints.map((e) => (e.name === "web-2" ? { ...e, ips: ["10.42.0.99", "fd42::12"] } : e)) };
    expect(renderHost(changed, "node2").hash).not.toBe(r.hash);
  });
});

test.each(Array.from({ length: 10 }, (_, i) => i + 1))("random policy set %i: each chain's # line counts the rule lines it holds in that family", (seed) => {
  const ps = randomPolicySet(seed);
  const all: PolicySet = { ...ps, hosts: ps.hosts.map((h) => ({ ...h, backend: "iptables" as const })) };
  for (const h of all.hosts) {
    let ipt: Ipt;
    try { ipt = iptOf(all, h.name); } catch (e) { if (e instanceof RenderError) continue; throw e; }
    for (const text of [ipt.v4, ipt.v6]) {
      const lines = text.split("\n");
      lines.forEach((line, i) => {
        const counted = /^# .*?, (\d+) rules?, else /.exec(line)?.[1];
        if (counted === undefined) return;
        const chain = /^-A (\S+) /.exec(lines[i + 1] ?? "")?.[1];
        expect({ chain, counted: Number(counted) }).toEqual({ chain, counted: lines.filter((l) => l.startsWith(`-A ${chain} `)).length - 1 });
      });
    }
  }
});

describe("kernel tools accept the texts (throwaway network namespace)", () => {
  loaded("Rancher fixture: ipset restore, iptables-restore and ip6tables-restore, twice", () => {
    const ipt = iptOf(compileFixture("rancher-stacks.yaml"), "node2");
    const r = load(ipt);
    expect(r.out).toContain("netpol:");
    expect(r.status).toBe(0);
  });

  loaded("a hostile endpoint name, set purpose and tier name stay inside their comments", () => {
    const ipt = iptOf(hostilePolicySet("iptables")); // passes the guard
    const safe = commentText(HOSTILE);
    expect(ipt.v4).toContain(`-d 10.0.0.1/32 -m comment --comment "${safe}" -j `);
    for (const text of [ipt.ipset, ipt.v4, ipt.v6]) {
      for (const line of text.split("\n").filter((l) => l.startsWith("#"))) expect(line).toBe(`# ${commentText(line.slice(2), 1000)}`);
    }
    const r = load(ipt);
    expect(r.status).toBe(0);
    // iptables -S prints the comment back as the kernel keeps it.
    expect(r.out).toContain(`--comment "${safe}"`);
  });

  loaded("ipBlock 0.0.0.0/0 goes into hash:net as two halves", () => {
    const ps = oneProgram(() => tier({ src: [{ set: "s_all" }] }), "iptables");
    const withAll: PolicySet = { ...ps, sets: { ...ps.sets, s_all: { kind: "nets", nets: ["0.0.0.0/0", "::/0"] } } };
    const ipt = iptOf(withAll);
    expect(ipt.ipset).toMatch(/add \S+_4 0\.0\.0\.0\/1\nadd \S+_4 128\.0\.0\.0\/1/);
    expect(load(ipt).status).toBe(0);
  });

  loaded.each(Array.from({ length: 12 }, (_, i) => i + 1))("random policy set %i (iptables-expressible hosts)", (seed) => {
    const ps = randomPolicySet(seed);
    const all: PolicySet = { ...ps, hosts: ps.hosts.map((h) => ({ ...h, backend: "iptables" as const })) };
    for (const h of all.hosts) {
      let ipt: Ipt;
      try { ipt = iptOf(all, h.name); } catch (e) { if (e instanceof RenderError) continue; throw e; }
      const r = load(ipt);
      if (r.status !== 0) throw new Error(`seed ${seed} host ${h.name}:\n${r.out}\n${ipt.ipset}\n${ipt.v4}\n${ipt.v6}`);
    }
  });
});
