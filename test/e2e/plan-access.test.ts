/**
 * `netpol plan` says who may now reach whom before the rule lines, compared with the policy the
 * hosts' records say the last apply enforced, on a namespace lab (real sshd, real nftables): with
 * nothing applied it lists who may reach whom after the apply; after an apply, no change; for a
 * changed model the very lines of `netpol diff OLD NEW`, which the measured matrix then bears
 * out; a host whose rules an apply leaves alone still records the new policy; hosts applied
 * apart get a section each. Needs root and the lab tools.
 */
import * as fs from "node:fs";
import { parse } from "yaml";
import { ACCESS_HEADER } from "../../provider/analyze/access";
import { ModelInput } from "../../provider/model/model";
import { Lab, requireLabPrerequisites } from "../lab/lab";
import { runCli } from "../support/cli";
import { ROOT } from "../support/models";
import { labFor, writeLabModel } from "./lab-model";

const model = parse(fs.readFileSync(`${ROOT}/examples/models/calico-web-app.yaml`, "utf8")) as ModelInput;
/** client-1 (on h1) gets a profile that lets in tcp/80 only: h1's rules change, h2's do not. */
const changed: ModelInput = {
  ...model,
  endpoints: (model.endpoints ?? []).map((e) => (e.name === "client-1" ? { ...e, profiles: ["CLIENT"] } : e)),
  profiles: [...(model.profiles ?? []), { id: "CLIENT", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80] }], outbound_rules: [{ action: "allow" }] }],
};

const planHead = (out: string) => out.slice(0, out.indexOf("\nh1: "));

beforeAll(async () => {
  await requireLabPrerequisites();
});

describe("netpol plan: who may now reach whom, on the namespace lab", () => {
  let lab: Lab;
  beforeAll(async () => { lab = await labFor(model); }, 120_000);
  afterAll(async () => { await lab?.destroy(); });

  test("nothing applied → applied → a changed model → a host left alone → hosts applied apart", async () => {
    const oldFile = writeLabModel(model, lab);
    const newFile = writeLabModel(changed, lab);

    let r = await runCli(["plan", oldFile]);
    expect(r.code).toBe(0);
    expect(r.out.split("\n").slice(0, 3)).toEqual([
      "who may reach whom after apply, not compared on every host (h1, h2): no policy is recorded there (never applied, or applied by an older netpol)",
      `  ${ACCESS_HEADER}`,
      "  * (5 endpoints) → web-1, web-2 (2 endpoints): icmp/8, tcp/80, tcp/443, other protocols",
    ]);
    expect(r.out).toMatch(/\nh1: create — \d+ line\(s\) added/);

    expect((await runCli(["apply", oldFile])).code).toBe(0);
    r = await runCli(["plan", oldFile]);
    expect(r.out).toBe("who may reach whom, compared with the policy last applied to every host (h1, h2):\n  no change in who may reach whom\nh1: up to date\nh2: up to date\nplan: 2 host(s)\n");

    // The changed model: the lines of `netpol diff`, above the rule lines.
    r = await runCli(["plan", newFile]);
    const diff = await runCli(["diff", oldFile, newFile]);
    expect(diff.out).toMatch(/^- denied +web-1, web-2 \(2 endpoints\) → client-1 +icmp\/\*, tcp\/1-79, tcp\/81-65535, /m);
    expect(planHead(r.out)).toBe(["who may reach whom, compared with the policy last applied to every host (h1, h2):", ...diff.out.trimEnd().split("\n").map((l) => `  ${l}`)].join("\n"));
    expect(r.out).toMatch(/\nh1: update — \d+ line\(s\) added, \d+ removed\nh2: up to date\n/);

    // Only h1's rules change; packets agree with the plan.
    r = await runCli(["apply", newFile]);
    expect(r.out).toContain("apply: 2 host(s), 1 changed, 1 up to date");
    expect(await lab.probe("web-2", "client-1", "tcp/443")).toBe(false);
    expect(await lab.probe("web-2", "client-1", "tcp/80")).toBe(true);
    expect(await lab.probe("app-1", "client-1", "tcp/443")).toBe(false);

    // h2 was not rewritten, yet its record names the policy now enforced.
    r = await runCli(["plan", newFile]);
    expect(planHead(r.out)).toBe("who may reach whom, compared with the policy last applied to every host (h1, h2):\n  no change in who may reach whom");

    // Back to the old model on h1 only: the two hosts now carry different policies.
    expect((await runCli(["apply", oldFile, "--host", "h1"])).code).toBe(0);
    r = await runCli(["plan", oldFile]);
    const back = await runCli(["diff", newFile, oldFile]);
    expect(planHead(r.out)).toBe([
      "who may reach whom, compared with the policy last applied to h1:",
      "  no change in who may reach whom",
      "who may reach whom, compared with the policy last applied to h2:",
      ...back.out.trimEnd().split("\n").map((l) => `  ${l}`),
    ].join("\n"));

    expect((await runCli(["destroy", oldFile])).code).toBe(0);
    r = await runCli(["plan", oldFile]);
    expect(r.out).toMatch(/^who may reach whom after apply, not compared on every host \(h1, h2\): no policy is recorded there/);
  }, 300_000);
});
