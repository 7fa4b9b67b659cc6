/**
 * End to end: the rancher-stack-isolation example through the engine harness against the
 * namespace lab (real sshd, real nftables). up → measured matrix equals the analysis → config
 * change → preview shows the changed rule lines → up → refresh: no drift → a hand edit on a host
 * → refresh shows drift → up repairs → destroy leaves nothing of ours. Needs root and the lab tools.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { matrix } from "../../provider/analyze/matrix";
import { parseProbe, Probe } from "../../provider/analyze/probe";
import { compile } from "../../provider/compile";
import { ModelInput, parseModel } from "../../provider/model/model";
import { tableName } from "../../provider/render";
import { Lab, requireLabPrerequisites } from "../lab/lab";
import { runEngine } from "./run-engine";

const ROOT = path.resolve(__dirname, "..", "..");
const EXAMPLE = path.join(ROOT, "examples", "rancher-stack-isolation");
const PROBES = ["tcp/80", "icmp/8"];
const model = parse(fs.readFileSync(path.join(ROOT, "examples", "models", "rancher-stack-isolation.yaml"), "utf8")) as ModelInput;

/** What the analysis says, for the example's policy with the lab's addresses. */
function expected(lab: Lab, openPorts: number[]): Record<string, Record<string, Record<string, boolean>>> {
  const doc: ModelInput = {
    ...model,
    endpoints: (model.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })),
    network: {
      defaultPolicyAction: "deny",
      policy: [...(openPorts.length > 0 ? [{ ports: openPorts.map((p) => `${p}/tcp`), action: "allow" as const }] : []), { within: "stack" as const, action: "allow" as const }],
    },
  };
  const probes = PROBES.map((p) => parseProbe(p) as Probe);
  const report = matrix(compile(parseModel(doc)), probes);
  return Object.fromEntries(report.probes.map((p, i) => [PROBES[i], p.matrix]));
}

describe("rancher-stack-isolation through the harness on the namespace lab", () => {
  let lab: Lab | undefined;
  let dir: string;
  let config: string[];
  const table = tableName("rancher-stack-isolation");
  const timings: Record<string, number> = {};
  const engine = async (label: string, args: string[]) => {
    const r = await runEngine([args[0], EXAMPLE, "--state", path.join(dir, "state.json"), ...config, ...args.slice(1)], {}, 180_000);
    timings[label] = r.ms;
    if (r.code !== 0) throw new Error(`${label} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const ourTables = async () => {
    const lines: string[] = [];
    for (const h of ["h1", "h2", "h3"]) lines.push(...(await lab!.exec(h, ["nft", "list", "tables"])).stdout.split("\n").filter((l) => l.includes("netpol_")));
    return lines;
  };

  beforeAll(async () => {
    await requireLabPrerequisites();
    lab = await Lab.create({
      hosts: [{ name: "h1" }, { name: "h2" }, { name: "h3" }],
      endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? "", listen: { tcp: [80] } })),
      ipv6: false,
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-engine-lab-"));
    const hosts = ["h1", "h2", "h3"].map((name) => {
      const s = lab!.hostSsh(name);
      return { name, ssh: { host: s.host, port: s.port, user: s.user, hostKey: s.hostKey } };
    });
    const placement = Object.fromEntries((model.endpoints ?? []).map((e) => [e.name, { ips: [lab!.endpoint(e.name).ipv4] }]));
    config = ["--secret", `hosts=${JSON.stringify(hosts)}`, "--secret", `privateKey=${lab.hostSsh("h1").privateKey}`, "--config", `placement=${JSON.stringify(placement)}`];
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`engine timings (ms): ${JSON.stringify(timings)}\n`);
  });

  it("up, change, refresh, drift, repair, destroy", async () => {
    const up = await engine("up", ["up"]);
    expect(up).toContain("+ 1 created");
    expect(up).not.toContain(lab!.hostSsh("h1").privateKey.split("\n")[1]);
    expect(await lab!.measureMatrix(PROBES)).toEqual(expected(lab!, []));

    const preview = await engine("preview change", ["preview", "--config", "openPorts=[80]"]);
    expect(preview).toContain("rancher-stack-isolation  update");
    expect(preview).toMatch(/~ rules\.h1:\n(.*\n)*? +\+ \t+meta l4proto tcp th dport 80 /);
    expect(preview).toContain('+ policy[0].ports: ["80/tcp"]');

    await engine("up change", ["up", "--config", "openPorts=[80]"]);
    expect(await lab!.measureMatrix(PROBES)).toEqual(expected(lab!, [80]));

    const clean = await engine("refresh", ["refresh", "--config", "openPorts=[80]"]);
    expect(clean).toContain("0 drifted");

    await lab!.exec("h2", ["nft", "flush", "table", "inet", table]);
    const drift = await engine("refresh drift", ["refresh", "--config", "openPorts=[80]"]);
    expect(drift).toContain("rancher-stack-isolation  drift");
    expect(drift).toContain('+ applied.h2.drift: "the rules were edited on the host"');
    expect(drift).toContain("1 drifted");

    const repairPreview = await engine("preview repair", ["preview", "--config", "openPorts=[80]"]);
    expect(repairPreview).toContain('~ rules.h2: "(drifted: the rules were edited on the host)" => (');
    await engine("up repair", ["up", "--config", "openPorts=[80]"]);
    expect(await lab!.measureMatrix(PROBES)).toEqual(expected(lab!, [80]));
    expect(await engine("refresh after repair", ["refresh", "--config", "openPorts=[80]"])).toContain("0 drifted");

    const destroy = await engine("destroy", ["destroy"]);
    expect(destroy).toContain("- 1 deleted");
    expect(await ourTables()).toEqual([]);
    const open = await lab!.measureMatrix(["tcp/80"]);
    expect(Object.values(open["tcp/80"]).every((row) => Object.values(row).every(Boolean))).toBe(true);
  }, 600_000);
});
