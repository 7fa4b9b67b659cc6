/**
 * End to end: the rancher-stack-isolation example through the engine harness against the
 * namespace lab (real sshd, real nftables). up → measured matrix equals the analysis → config
 * change → preview shows the changed rule lines → up → refresh: no drift → a hand edit on a host
 * → refresh shows drift → up repairs → destroy leaves nothing of ours. Needs root and the lab tools.
 */
import { ModelInput } from "../../provider/model/model";
import { tableName } from "../../provider/render";
import { ExampleLab, expectedMatrix, onLab, readModel } from "./lab-support";

const PROBES = ["tcp/80", "icmp/8"];
const model = readModel("rancher-stack-isolation.yaml");

/** The example's policy: `openPorts` first (when set), then `within: stack`. */
function policy(openPorts: number[]): ModelInput {
  return {
    ...model,
    network: {
      defaultPolicyAction: "deny",
      policy: [...(openPorts.length > 0 ? [{ ports: openPorts.map((p) => `${p}/tcp`), action: "allow" as const }] : []), { within: "stack" as const, action: "allow" as const }],
    },
  };
}

describe("rancher-stack-isolation through the harness on the namespace lab", () => {
  let run: ExampleLab | undefined;
  const table = tableName("rancher-stack-isolation");
  const expected = (openPorts: number[]) => expectedMatrix(onLab(policy(openPorts), run!.lab), PROBES);

  beforeAll(async () => {
    run = await ExampleLab.create({ example: "examples/rancher-stack-isolation", model, listen: { tcp: [80] } });
  }, 180_000);

  afterAll(async () => {
    await run?.destroy();
    if (run) process.stdout.write(`engine timings (ms): ${JSON.stringify(run.timings)}\n`);
  });

  it("up, change, refresh, drift, repair, destroy", async () => {
    const r = run!;
    const up = await r.engine("up", ["up"]);
    expect(up).toContain("+ 1 created");
    expect(up).not.toContain(r.keyMaterial);
    expect(await r.lab.measureMatrix(PROBES)).toEqual(expected([]));

    const preview = await r.engine("preview change", ["preview", "--config", "openPorts=[80]"]);
    expect(preview).toContain("rancher-stack-isolation  update");
    expect(preview).toMatch(/~ rules\.h1:\n(.*\n)*? +\+ \t+meta l4proto tcp th dport 80 /);
    expect(preview).toContain('+ policy[0].ports: ["80/tcp"]');

    await r.engine("up change", ["up", "--config", "openPorts=[80]"]);
    expect(await r.lab.measureMatrix(PROBES)).toEqual(expected([80]));

    const clean = await r.engine("refresh", ["refresh", "--config", "openPorts=[80]"]);
    expect(clean).toContain("0 drifted");

    // A hand edit that keeps the version rule (its hash): the entry chain emptied, so nothing is filtered.
    await r.lab.exec("h2", ["nft", "flush", "chain", "inet", table, "forward"]);
    const drift = await r.engine("refresh drift", ["refresh", "--config", "openPorts=[80]"]);
    expect(drift).toContain("rancher-stack-isolation  drift");
    expect(drift).toContain('+ applied.h2.drift: "the rules were edited on the host (first difference at line ');
    expect(drift).toContain("1 drifted");

    const repairPreview = await r.engine("preview repair", ["preview", "--config", "openPorts=[80]"]);
    expect(repairPreview).toContain('~ rules.h2: "(drifted: the rules were edited on the host (first difference at line ');
    await r.engine("up repair", ["up", "--config", "openPorts=[80]"]);
    expect(await r.lab.measureMatrix(PROBES)).toEqual(expected([80]));
    expect(await r.engine("refresh after repair", ["refresh", "--config", "openPorts=[80]"])).toContain("0 drifted");

    const destroy = await r.engine("destroy", ["destroy"]);
    expect(destroy).toContain("- 1 deleted");
    expect(await r.ourTables()).toEqual([]);
    const open = await r.lab.measureMatrix(["tcp/80"]);
    expect(Object.values(open["tcp/80"]).every((row) => Object.values(row).every(Boolean))).toBe(true);
  }, 600_000);
});
