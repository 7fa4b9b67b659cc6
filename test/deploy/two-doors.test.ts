/**
 * Both doors onto the deploy layer agree, on real hosts: each seed scenario through `pulumi up`
 * (the engine harness running its example program) and through the `netpol` CLI (the model file
 * the program reads), on a namespace lab whose hosts share one state folder (no private mount over
 * /var/lib/pulumi-netpolicy), for both backends.
 * What one door applies, the other reads as in sync (and `netpol plan` compares with the policy
 * `pulumi up` applied); a CLI apply is no drift for a refresh.
 * Needs root and the lab tools.
 *
 * The cases run three at a time (LANES), each on a lab of its own: an engine operation is mostly
 * one busy process at a time, so one case alone leaves a core idle. Two cases of one scenario never
 * overlap: they use the same table, whose records share a file name in the shared state folder.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { stateDirFor } from "../../provider/deploy/hosts/driver";
import { ModelInput } from "../../provider/model/model";
import { tableName } from "../../provider/render";
import { writeLabModel } from "../e2e/lab-model";
import { runEngine } from "../engine/run-engine";
import { Lab, requireLabPrerequisites } from "../lab/lab";
import { STATE_DIR } from "../lab/sshd";
import { runCli } from "../support/cli";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Each seed's program and the model file it reads its inventory (and, here, its policy) from. A
 * seed without an example program goes through test/deploy/model-program, which declares the
 * Network from the model file itself.
 */
const MODEL_PROGRAM = "test/deploy/model-program";
const SCENARIOS: [string, string][] = [
  [MODEL_PROGRAM, "rancher-container-isolation.yaml"],
  ["examples/rancher-stack-isolation", "rancher-stack-isolation.yaml"],
  ["examples/rancher-label-isolation", "rancher-label-isolation.yaml"],
  ["examples/calico-profiles", "calico-web-app.yaml"],
  ["examples/kubernetes-on-hosts", "kubernetes-seed.yaml"],
  [MODEL_PROGRAM, "kubernetes-seed-v1beta1.yaml"],
];
const CASES = SCENARIOS.flatMap(([example, file]) => (["nftables", "iptables"] as const).map((backend) => [example, backend, file] as const));
const HOST_NAMES = [...new Set(SCENARIOS.flatMap(([, file]) => (modelOf(file).hosts ?? []).map((h) => h.name)))];

/**
 * Cases running at once. On a 2-core machine the suite took 267 s one at a time, 197 s with two,
 * 132-175 s with three (four runs) and 184 s with four.
 */
const LANES = 3;

function modelOf(file: string): ModelInput {
  return parse(fs.readFileSync(path.join(ROOT, "examples/models", file), "utf8")) as ModelInput;
}

let running = 0;
const waiting: (() => void)[] = [];
/** The cases run so far, or running, of each table: the next case of a table waits for them. */
const byTable = new Map<string, Promise<void>>();

/** Runs `body` once fewer than LANES cases run and every earlier case of `table` has ended (passed or failed). */
function inLane(table: string, body: () => Promise<void>): Promise<void> {
  const run = async () => {
    if (running < LANES) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // a case that ends hands its lane over
    try {
      await body();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  const result = (byTable.get(table) ?? Promise.resolve()).then(run);
  byTable.set(table, result.catch(() => undefined));
  return result;
}

beforeAll(async () => {
  await requireLabPrerequisites();
});

afterAll(() => {
  for (const h of HOST_NAMES) fs.rmSync(stateDirFor(h), { recursive: true, force: true });
});

describe.each(CASES)("%s: CLI and Pulumi on %s hosts that share a filesystem", (example, backend, file) => {
  const PROGRAM = path.join(ROOT, example);
  const model = modelOf(file);
  const hostNames = (model.hosts ?? []).map((h) => h.name);
  const table = tableName(model.name ?? "default");

  test.concurrent("pulumi up → netpol status in sync; netpol apply --force → refresh without drift; destroy leaves nothing", () => inLane(table, async () => {
    const lab = await Lab.create({
      hosts: hostNames.map((name) => ({ name })),
      endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? "", listen: { tcp: [80] } })),
      ipv6: false,
      sharedFilesystem: true,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-two-doors-"));
    try {
      await upThenBothDoors(lab, dir);
    } finally {
      await lab.destroy();
      // What a failed case left of this table: its records, its timer files and iptables notes
      // (`<table>.n<inode>.*`, `<table>-n<inode>.*`; the inode of a namespace is used again).
      // Only this table's: the cases running beside this one use the same host names.
      for (const folder of [STATE_DIR, ...hostNames.map(stateDirFor)]) {
        const files = fs.existsSync(folder) ? fs.readdirSync(folder) : [];
        for (const f of files.filter((f) => f.startsWith(`${table}.`) || f.startsWith(`${table}-n`))) fs.rmSync(path.join(folder, f), { force: true });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }), 600_000);

  async function upThenBothDoors(lab: Lab, dir: string): Promise<void> {
    const hosts = hostNames.map((name) => {
      const s = lab.hostSsh(name);
      return { name, backend, ssh: { host: s.host, port: s.port, user: s.user, hostKey: s.hostKey } };
    });
    const placement = Object.fromEntries((model.endpoints ?? []).map((e) => [e.name, { ips: [lab.endpoint(e.name).ipv4] }]));
    const engineArgs = ["--state", path.join(dir, "state.json"), "--secret", `hosts=${JSON.stringify(hosts)}`,
      "--secret", `privateKey=${lab.hostSsh(hostNames[0]).privateKey}`, "--config", `placement=${JSON.stringify(placement)}`,
      ...(example === MODEL_PROGRAM ? ["--config", `modelFile=${path.join(ROOT, "examples/models", file)}`] : [])];
    const engine = async (op: string) => {
      const r = await runEngine([op, PROGRAM, ...engineArgs], {}, 180_000);
      if (r.code !== 0) throw new Error(`${op} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };

    // The hosts really share the state folder: what one host writes there, the others see.
    const probe = path.join(STATE_DIR, `two-doors-${process.pid}-${table}-${backend}`);
    await lab.exec("h1", ["touch", probe]);
    expect(fs.existsSync(probe)).toBe(true);
    expect((await lab.exec("h2", ["ls", STATE_DIR])).stdout).toContain(path.basename(probe));
    fs.rmSync(probe);

    // One `up` converges every host (their rollback files and records stay apart).
    const up = await engine("up");
    expect(up).toMatch(/\+ +pulumi-nodejs:dynamic\/netpol:Network {2}\S+ {2}create/);
    expect(up).toMatch(/\+ \d+ created/);
    const modelFile = writeLabModel(model, lab, backend);
    let r = await runCli(["status", modelFile]);
    expect(r.err).toBe("");
    expect(r.out.trim().split("\n")).toEqual(hostNames.map((h) => `${h}: in sync`));
    expect(r.code).toBe(0);
    r = await runCli(["plan", modelFile]);
    expect(r.out).toContain(hostNames.map((h) => `${h}: up to date`).join("\n"));
    // What `pulumi up` applied is the policy the CLI compares with: who may reach whom is unchanged.
    expect(r.out.split("\n").slice(0, 2)).toEqual([`who may reach whom, compared with the policy last applied to ${hostNames.length > 1 ? `every host (${hostNames.join(", ")})` : hostNames[0]}:`, "  no change in who may reach whom"]);
    expect(r.code).toBe(0);

    // The CLI rewrites every host; for the Pulumi state that is no drift.
    r = await runCli(["apply", modelFile, "--force"]);
    expect(r.err).toBe("");
    expect(r.out).toContain(`apply: ${hostNames.length} host(s), ${hostNames.length} changed, 0 up to date`);
    const refresh = await engine("refresh");
    expect(refresh).toContain("0 drifted");

    // A hand edit is drift for both doors alike.
    const edit = backend === "nftables" ? ["nft", "add", "rule", "inet", table, "forward", "counter"] : ["iptables", "-A", table.toUpperCase(), "-j", "RETURN"];
    await lab.exec("h2", edit);
    r = await runCli(["status", modelFile]);
    expect(r.out).toMatch(/^h2: drift: the rules were edited on the host \(first difference at line \d+/m);
    expect(r.code).toBe(1);
    const drifted = await engine("refresh");
    expect(drifted).toContain("1 drifted");
    expect(drifted).toContain('+ applied.h2.drift: "the rules were edited on the host (first difference at line ');
    await engine("up");
    r = await runCli(["status", modelFile]);
    expect(r.out.trim().split("\n")).toEqual(hostNames.map((h) => `${h}: in sync`));

    const destroy = await engine("destroy");
    expect(destroy).toMatch(/- \d+ deleted/);
    r = await runCli(["status", modelFile]);
    expect(r.out.trim().split("\n")).toEqual(hostNames.map((h) => `${h}: missing: no rules of this network on the host; run apply`));
    // No record of the table is left (or no state folder at all).
    for (const h of hostNames) expect((fs.existsSync(stateDirFor(h)) ? fs.readdirSync(stateDirFor(h)) : []).filter((f) => f.startsWith(table))).toEqual([]);
  }
});
