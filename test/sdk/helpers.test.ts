import { kubernetesPorts, ports, rancher, stackConfig } from "../../sdk";

describe("rancher helpers", () => {
  it.each([
    [rancher.withinStack(), { within: "stack", action: "allow" }],
    [rancher.withinService("deny"), { within: "service", action: "deny" }],
    [rancher.withinLinked(), { within: "linked", action: "allow" }],
    [rancher.groupBy("com.rancher.department"), { between: { groupBy: "com.rancher.department" }, action: "allow" }],
    [rancher.between("tier in (web, app)", "deny"), { between: { selector: "tier in (web, app)" }, action: "deny" }],
    [rancher.fromTo({ from: "tier=web", to: "tier=db", ports: [ports.tcp(5432)] }), { from: { selector: "tier=web" }, to: { selector: "tier=db" }, ports: ["5432/tcp"], action: "allow" }],
    [rancher.fromTo({ to: "tier=db", action: "deny" }), { to: { selector: "tier=db" }, action: "deny" }],
  ])("%j", (rule, expected) => {
    expect(rule).toEqual(expected);
  });
});

describe("ports", () => {
  it.each<[string, unknown, unknown]>([
    ["tcp", ports.tcp(80), "80/tcp"],
    ["udp", ports.udp(53), "53/udp"],
    ["tcpRange", ports.tcpRange(8000, 8080), "8000-8080/tcp"],
    ["udpRange", ports.udpRange(1000, 1001), "1000-1001/udp"],
    ["k8s tcp", kubernetesPorts.tcp(443), { protocol: "TCP", port: 443 }],
    ["k8s named", kubernetesPorts.tcp("http"), { protocol: "TCP", port: "http" }],
    ["k8s range", kubernetesPorts.tcpRange(32000, 32767), { protocol: "TCP", port: 32000, endPort: 32767 }],
    ["k8s all tcp", kubernetesPorts.allTcp(), { protocol: "TCP" }],
  ])("%s", (_what, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it.each([[() => ports.tcp(0)], [() => ports.udp(65536)], [() => ports.tcpRange(90, 80)], [() => kubernetesPorts.tcp(1.5)]])("rejects %p", (f) => {
    expect(f).toThrow(RangeError);
  });
});

describe("stackConfig.place", () => {
  const endpoints = [{ name: "a", ips: ["10.0.0.1"], host: "h1" }, { name: "b", ips: ["10.0.0.2"], host: "h1" }];
  it("moves the named endpoints and keeps the rest", () => {
    expect(stackConfig.place(endpoints, { b: { host: "h2", ips: ["192.0.2.9"] } })).toEqual([endpoints[0], { name: "b", ips: ["192.0.2.9"], host: "h2" }]);
    expect(stackConfig.place(endpoints, undefined)).toEqual(endpoints);
  });
  it("refuses names that are not endpoints", () => {
    expect(() => stackConfig.place(endpoints, { c: { host: "h2" } })).toThrow("placement names endpoints that do not exist: c");
  });
});
