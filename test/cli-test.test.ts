import * as path from "node:path";
import { ROOT } from "./support/models";
import { runCli, tempFile } from "./support/cli";

const seed = path.join(ROOT, "examples/models/kubernetes-seed.yaml");
const stack = path.join(ROOT, "examples/models/rancher-stack-isolation.yaml");

describe("netpol test", () => {
  test("the example expectations hold: exit 0", async () => {
    const r = await runCli(["test", seed, path.join(ROOT, "examples/expectations/kubernetes-seed.expect.yaml")]);
    expect(r).toEqual({ code: 0, out: "5 of 5 expectation(s) hold\n", err: "" });
  });

  const failing: [string, string, string, string][] = [
    ["a probe the policy denies",
      "- { from: other/client, to: default/db, probe: tcp/6379, verdict: allow }",
      seed, "✗ expect[0]: other/client → default/db tcp/6379: expected allow, denied by default deny (isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows)"],
    ["ports of which one is open",
      "- { name: db closed to the frontend, from: default/frontend, to: default/db, ports: [tcp/6000-7000], verdict: deny }",
      seed, "✗ db closed to the frontend: default/frontend → default/db tcp/6379: expected deny, allowed by networkPolicies[0].spec.ingress[0].from[1]"],
    ["a glob over names, counted in pairs",
      "- { from: stack_one/*, to: stack_two/*, ports: [udp/53], verdict: allow }",
      stack, "✗ expect[0]: stack_one/service_one → stack_two/service_one (and 5 more pairs) udp/53: expected allow, denied by default deny (network.defaultPolicyAction)"],
    ["a selector that selects nothing",
      "- { from: nothere/*, to: default/db, probe: tcp/6379, verdict: allow }",
      seed, "✗ expect[0]: cannot check: from selects no endpoint"],
  ];
  test.each(failing)("%s: exit 1, the flow, both verdicts and the deciding rule", async (_what, yaml, model, line) => {
    const r = await runCli(["test", model, tempFile("expect.yaml", `${yaml}\n`)]);
    expect(r.code).toBe(1);
    expect(r.out.split("\n")[0]).toBe(line);
    expect(r.out).toContain("0 of 1 expectation(s) hold");
  });

  test("within a stack every pair is allowed (an endpoint with itself is not a pair)", async () => {
    const r = await runCli(["test", stack, tempFile("expect.yaml", "- { from: stack_two/*, to: stack_two/*, ports: [tcp, udp, icmp], verdict: allow }\n- { from: stack_two/*, to: { not: stack_two/* }, ports: [tcp], verdict: deny }\n")]);
    expect(r).toEqual({ code: 0, out: "2 of 2 expectation(s) hold\n", err: "" });
  });

  test("--format json", async () => {
    const r = await runCli(["test", seed, tempFile("expect.yaml", "- { from: other/client, to: default/db, probe: tcp/6379, verdict: allow }\n"), "--format", "json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ checked: 1, failures: [{
      index: 0, name: "expect[0]", expected: "allow", actual: "deny", from: "other/client", to: "default/db", pairs: 1, ports: ["tcp/6379"],
      why: ["default deny (isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows)"],
    }] });
  });

  test("a bad expectation file names the path", async () => {
    const r = await runCli(["test", seed, tempFile("expect.yaml", "- { from: a, to: b, verdict: maybe }\n")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("expect.yaml");
    expect(r.err).toContain("[0].verdict");
  });
});
