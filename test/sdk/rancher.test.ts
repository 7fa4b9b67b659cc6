import { ports, rancher } from "../../sdk";

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
