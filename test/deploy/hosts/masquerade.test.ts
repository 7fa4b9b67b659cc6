/** Masquerade warnings: which NAT rules break per-endpoint rules on other hosts, and what the warning says. */
import { masqueradeScope, masqueradeWarnings } from "../../../provider/deploy/hosts/masquerade";
import { parseModel } from "../../../provider/model/model";
import { NatRule } from "../../../provider/targets/ssh/nat-check";

const model = parseModel({
  hosts: [{ name: "d1" }, { name: "d2" }],
  endpoints: [
    { name: "web", host: "d1", ips: ["172.17.0.2", "fd00:1::2"] },
    { name: "cache", host: "d1", ips: ["172.17.0.3"] },
    { name: "db", host: "d2", ips: ["10.231.2.2"] },
  ],
});
const scope = masqueradeScope(model, "d1");

const rule = (text: string, fields: Partial<NatRule> = {}): NatRule => ({ family: 4, text, listedBy: "iptables -t nat", ...fields });
const DOCKER = rule("-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE", { source: { cidr: "172.17.0.0/16", negated: false } });

test("the scope: the host's own endpoints, and the addresses of endpoints elsewhere", () => {
  expect(scope).toEqual({ local: [{ name: "web", ips: ["172.17.0.2", "fd00:1::2"] }, { name: "cache", ips: ["172.17.0.3"] }], remote: ["10.231.2.2"] });
});

test("Docker's default rule: one warning naming the host, the endpoints, the rule and the fix", () => {
  const [warning, ...more] = masqueradeWarnings("d1", [DOCKER], scope);
  expect(more).toEqual([]);
  expect(warning).toMatch(/^d1: traffic from endpoint\(s\) cache, web to other hosts is masqueraded by "-A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE" \(iptables -t nat\)/);
  expect(warning).toContain('"ip-masq": false');
  expect(warning).toContain("com.docker.network.bridge.enable_ip_masquerade=false");
  expect(warning).toContain("Plain Docker hosts");
});

test.each<[string, NatRule[], string[]]>([
  ["no NAT rules", [], []],
  ["a subnet none of the host's endpoints is in (the routed lab's hairpin for the host's own address)", [rule("-A POSTROUTING -s 10.231.1.0/24 ! -o docker0 -j MASQUERADE", { source: { cidr: "10.231.1.0/24", negated: false } })], []],
  ["Docker's hairpin rule for a published port (destination: the container itself)", [rule("-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -j MASQUERADE", { source: { cidr: "172.17.0.2/32", negated: false }, destination: { cidr: "172.17.0.2/32", negated: false } })], []],
  ["an IPv6 rule, while no endpoint of another host has an IPv6 address", [rule("-A POSTROUTING -s fd00:1::/64 -j MASQUERADE", { family: 6, source: { cidr: "fd00:1::/64", negated: false } })], []],
  ["a rule without a source (everything leaving)", [rule("-A POSTROUTING -o eth0 -j MASQUERADE")], ["cache", "web"]],
  ["a negated source that leaves the endpoints in", [rule("-A POSTROUTING ! -s 10.0.0.0/8 -j MASQUERADE", { source: { cidr: "10.0.0.0/8", negated: true } })], ["cache", "web"]],
  ["a destination that is not another host's endpoint", [rule("-A POSTROUTING -s 172.17.0.0/16 -d 192.0.2.0/24 -j MASQUERADE", { source: { cidr: "172.17.0.0/16", negated: false }, destination: { cidr: "192.0.2.0/24", negated: false } })], []],
  ["an nft rule with a bare address", [rule("ip saddr 172.17.0.3 masquerade", { listedBy: "nft ip nat", source: { cidr: "172.17.0.3", negated: false } })], ["cache"]],
])("%s", (_what, nat, endpoints) => {
  const warnings = masqueradeWarnings("d1", nat, scope);
  expect(warnings.length).toBe(endpoints.length > 0 ? 1 : 0);
  if (endpoints.length > 0) expect(warnings[0]).toContain(`endpoint(s) ${endpoints.join(", ")} to other hosts`);
});

test("a host with no endpoints of its own, or a model with no other host's endpoints: nothing to warn about", () => {
  expect(masqueradeWarnings("d2", [DOCKER], masqueradeScope(model, "d2"))).toEqual([]);
  const single = parseModel({ hosts: [{ name: "d1" }], endpoints: [{ name: "web", host: "d1", ips: ["172.17.0.2"] }] });
  expect(masqueradeWarnings("d1", [DOCKER], masqueradeScope(single, "d1"))).toEqual([]);
});
