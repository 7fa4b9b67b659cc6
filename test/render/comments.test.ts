/**
 * A tier chain's comment and `#` note come from the host's own tiers: tiers with equal content
 * share one chain network-wide, but what a host prints of it never depends on another host.
 */
import { compile } from "../../provider/compile";
import { parseModel } from "../../provider/model/model";
import { Renderer } from "../../provider/render";

/**
 * Two Calico policies with the same rule: "z-web" listed first, "a-api" second. The chain for
 * both is named after "a-api" (the smaller purpose); their notes differ in the rule's origin.
 */
const policies = [
  { name: "z-web", order: 10, selector: "role == 'web'", inbound_rules: [{ action: "allow", protocol: "tcp", src_net: "10.0.0.0/8", dst_ports: [80] }] },
  { name: "a-api", order: 10, selector: "role == 'api'", inbound_rules: [{ action: "allow", protocol: "tcp", src_net: "10.0.0.0/8", dst_ports: [80] }] },
];
const api = { name: "api-1", ips: ["10.1.0.2"], host: "h2", labels: { role: "api" } };
const web = { name: "web-1", ips: ["10.1.0.1"], host: "h1", labels: { role: "web" } };

function rulesets(endpoints: object[], backend: "nftables" | "iptables"): Map<string, string> {
  const model = parseModel({ hosts: [{ name: "h1", backend }, { name: "h2", backend }], endpoints, policies });
  const out = new Map<string, string>();
  for (const r of new Renderer(compile(model)).renderAll()) out.set(r.host, JSON.stringify(r));
  return out;
}

describe.each(["nftables", "iptables"] as const)("tier chain notes per host (%s)", (backend) => {
  test("a tier added on h1 leaves h2's ruleset as it was", () => {
    const before = rulesets([api], backend);
    const after = rulesets([api, web], backend);
    expect(after.get("h2")).toBe(before.get("h2"));
    // h2 prints its own policy's rule; h1 its own, in the same (shared) chain
    expect(after.get("h2")).toContain("policies[1].inbound_rules[0]");
    expect(after.get("h2")).not.toContain("policies[0].inbound_rules[0]");
    expect(after.get("h1")).toContain("policies[0].inbound_rules[0]");
    expect(after.get("h1")).not.toContain("policies[1].inbound_rules[0]");
  });

  test("the two tiers do share one chain (the case above is the shared one)", () => {
    const after = rulesets([api, web], backend);
    const chainsOf = (text: string | undefined) => new Set([...(text ?? "").matchAll(/t_([0-9a-f]{12})|_([0-9A-F]{12})\b/g)].map((m) => (m[1] ?? m[2]).toLowerCase()));
    const shared = [...chainsOf(after.get("h1"))].filter((id) => chainsOf(after.get("h2")).has(id));
    expect(shared.length).toBeGreaterThan(0);
  });
});
