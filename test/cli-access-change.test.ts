/** What `netpol plan` prints above the rule lines, per group of hosts' recorded policies (the lab run is test/e2e/plan-access.test.ts). */
import { accessText } from "../provider/analyze/access";
import { diffPolicySets, formatDiff } from "../provider/analyze/diff";
import { accessChangeLines } from "../provider/cli/access-change";
import { encodePolicy } from "../provider/deploy/hosts/policy-record";
import { compiledExample } from "./support/models";

const stack = compiledExample("rancher-stack-isolation.yaml");
const label = compiledExample("rancher-label-isolation.yaml");
const indented = (text: string) => text.split("\n").map((l) => `  ${l}`);

describe("plan: who may now reach whom", () => {
  test("one recorded policy on every host: the lines of netpol diff", () => {
    expect(accessChangeLines(label, [{ host: "h1", policy: encodePolicy(stack) }, { host: "h2", policy: encodePolicy(stack) }])).toEqual([
      "who may reach whom, compared with the policy last applied to every host (h1, h2):",
      ...indented(formatDiff(diffPolicySets(stack, label), label.endpoints.map((e) => e.name))),
    ]);
  });

  test("a record another version wrote, and a host with none: the whole access after apply, and why", () => {
    const lines = accessChangeLines(label, [{ host: "h1", policy: "netpol-policy-0 x" }, { host: "h2" }, { host: "h3", policy: encodePolicy(label) }]);
    expect(lines).toEqual([
      "who may reach whom after apply, not compared on h1: the record's policy is in another format (netpol-policy-0), written by another version of netpol",
      ...indented(accessText(label)),
      "who may reach whom after apply, not compared on h2: no policy is recorded there (never applied, or applied by an older netpol)",
      ...indented(accessText(label)),
      "who may reach whom, compared with the policy last applied to h3:",
      "  no change in who may reach whom",
    ]);
  });
});
