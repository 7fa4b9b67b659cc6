/**
 * Rendering must stay linear: 10,000 endpoints in 200 groups on 50 hosts (200 local each), every
 * host holding members of every group, so each host needs all 200 sets. What the hosts get grows
 * with the endpoints, not their pairs. (How fast it renders is `npm run bench -- compile`'s
 * business: a time bound here would only measure the machine's load.)
 */
import { PolicySetBuilder } from "../../provider/ir/builder";
import { PolicySet } from "../../provider/ir";
import { Renderer } from "../../provider/render";

function bigPolicySet(backend: "nftables" | "iptables", count = 10_000): PolicySet {
  const b = new PolicySetBuilder();
  const endpoints = Array.from({ length: count }, (_, i) => ({
    name: `e${i}`,
    ips: [`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `fd00::${i.toString(16)}`],
    host: `h${i % 50}`,
    group: Math.floor(i / 50),
  }));
  const ingress: Record<string, string> = {};
  const egress: Record<string, string> = {};
  const outside = b.netSet("10.0.0.0/8", ["10.0.0.0/16"]);
  for (let g = 0; g < count / 50; g++) {
    const members = endpoints.filter((e) => e.group === g).map((e) => e.name);
    const set = b.endpointSet(members);
    const inProgram = b.program({ tiers: [{ name: "t", rules: [
      { match: { src: [{ set }] }, action: "allow", origin: "a" },
      { match: { protocol: 6, dstPorts: [{ from: 80, to: 80 }, { from: 443, to: 443 }] }, action: "allow", origin: "b" },
    ], end: "deny", endOrigin: "e" }] });
    const outProgram = b.program({ tiers: [{ name: "t", rules: [
      { match: { dst: [{ set: outside, negate: true }], protocol: 17, dstPorts: [{ from: 53, to: 53 }] }, action: "allow", origin: "c" },
      { match: { dst: [{ set }] }, action: "allow", origin: "d" },
    ], end: "deny", endOrigin: "e" }] });
    for (const m of members) { ingress[m] = inProgram; egress[m] = outProgram; }
  }
  return b.build({
    network: "big",
    endpoints: endpoints.map(({ name, ips, host }) => ({ name, ips, host })),
    hosts: Array.from({ length: 50 }, (_, h) => ({ name: `h${h}`, backend })),
  }, [{ name: "calico", ingress, egress, ungoverned: { ingress: "", egress: "" } }]);
}

const size = (r: ReturnType<Renderer["renderAll"]>[number]) => (r.nft?.length ?? 0) + (r.iptables ? r.iptables.ipset.length + r.iptables.v4.length + r.iptables.v6.length : 0);

describe("rendering 50 hosts × 200 local endpoints out of 10,000 in 200 groups", () => {
  test.each(["nftables", "iptables"] as const)("%s: linear output", (backend) => {
    const all = new Renderer(bigPolicySet(backend)).renderAll();
    expect(all).toHaveLength(50);
    // Per host: 200 groups × 50 members × 2 families of set elements, 400 chains, 400 map entries.
    const first = all[0];
    const text = first.nft ?? first.iptables?.ipset ?? "";
    expect(text.length).toBeLessThan(1_200_000);
    // Half the endpoints (100 groups of 50): half the set elements, chains and entries, so half the
    // bytes, where rules per endpoint pair would leave a quarter.
    const half = new Renderer(bigPolicySet(backend, 5_000)).renderAll();
    const ratio = all.reduce((n, r) => n + size(r), 0) / half.reduce((n, r) => n + size(r), 0);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });
});
