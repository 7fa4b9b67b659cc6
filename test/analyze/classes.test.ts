import { ClassAnalysis } from "../../provider/analyze/classes";
import { Probe } from "../../provider/analyze/probe";
import { Analyzer } from "../../provider/analyze/reach";
import { compiledExample, probe } from "../support/models";
import { PROBES, randomPolicySet } from "../render/random-policy";

/** The random policies' probes without a source port (as `netpol` probes are), plus a few more. */
const probes: Probe[] = [
  ...PROBES.map(({ srcPort: _srcPort, ...p }) => p),
  probe("tcp/23"), probe("tcp/65535"), probe("udp/80"), probe("icmp/3/3"), probe("icmpv6/128"), probe("icmpv6/1/3"),
  { text: "proto/200", protocol: 200 },
];

function expectAgreement(analyzer: Analyzer, classes: ClassAnalysis, list: readonly Probe[]) {
  const names = analyzer.endpointNames();
  const differing: string[] = [];
  for (const p of list) for (const from of names) for (const to of names) {
    const allowed = classes.allowed(from, to, p);
    if (allowed !== analyzer.reach(from, to, p).allowed) differing.push(`${from} → ${to} ${p.text}: classes say ${allowed}`);
  }
  expect(differing).toEqual([]);
}

describe("class-based reachability agrees with reach(), cell by cell", () => {
  test.each(Array.from({ length: 300 }, (_, i) => i + 1))("random policy set %i", (seed) => {
    const ps = randomPolicySet(seed);
    expectAgreement(new Analyzer(ps), new ClassAnalysis(ps), probes);
  });

  test.each(["rancher-stack-isolation.yaml", "rancher-label-isolation.yaml", "rancher-container-isolation.yaml", "calico-web-app.yaml", "kubernetes-seed.yaml", "kubernetes-seed-v1beta1.yaml"])("%s", (name) => {
    const ps = compiledExample(name);
    const list = ["tcp/80", "tcp/443", "tcp/6379", "tcp/7890", "udp/53", "icmp/8", "icmp/0"].map(probe);
    expectAgreement(new Analyzer(ps), new ClassAnalysis(ps), list);
  });
});

describe("classes", () => {
  test("stack isolation: one class per stack, tcp allowed within the stack on every port", () => {
    const ps = compiledExample("rancher-stack-isolation.yaml");
    const c = new ClassAnalysis(ps);
    expect(c.classes.map((k) => k.members)).toEqual([
      ["stack_one/service_one", "stack_one/service_two", "stack_one/service_three"],
      ["stack_two/service_one", "stack_two/service_two"],
      ["stack_three/service_one", "stack_three/service_two"],
    ]);
    const tcp = c.protocolIndex(6);
    expect(c.pair(0, 0).outcomes[tcp]).toEqual([{ from: 0, to: 65535, allowed: true, why: ["network.policy[0]"] }]);
    expect(c.pair(0, 1).outcomes[tcp]).toEqual([{ from: 0, to: 65535, allowed: false, why: ["default deny (network.defaultPolicyAction)"] }]);
  });

  test("calico WEB: tcp 80 and 443 in, as two port ranges", () => {
    const ps = compiledExample("calico-web-app.yaml");
    const c = new ClassAnalysis(ps);
    const web = c.classOf("web-1");
    const client = c.classOf("client-1");
    const allowed = c.pair(client, web).outcomes[c.protocolIndex(6)].filter((p) => p.allowed).map((p) => [p.from, p.to]);
    expect(allowed).toEqual([[80, 80], [443, 443]]);
  });
});
