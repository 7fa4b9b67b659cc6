import { kubernetesPorts, ports } from "../../sdk";

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
