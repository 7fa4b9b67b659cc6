/**
 * The Network resource with `discover: docker` hosts, through the engine harness (the SDK's real
 * dynamic provider server) on routed Docker lab hosts and one plain lab host: the preview shows
 * the rules for the containers that run now; `up` applies them and the measured matrix equals the
 * analysis of the discovered model; a container restarted with a new address is a preview of the
 * changed lines and an `up` that restores the matrix; a host that cannot be read fails the preview
 * naming it, with nothing changed on any host. Needs root and docker.io; never skips under CI.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { ModelInput } from "../../provider/model/model";
import { tableName } from "../../provider/render";
import { expectedMatrix } from "../engine/lab-support";
import { runEngine } from "../engine/run-engine";
import { Lab, requireDockerLabPrerequisites } from "../lab/lab";

const ROOT = path.resolve(__dirname, "..", "..");
const PROGRAM = path.join(ROOT, "test/deploy/model-program");
const PROBES = ["tcp/80"];
const NAME = "docker-network";
const compose = (project: string, service: string) => ({ "com.docker.compose.project": project, "com.docker.compose.service": service });

let lab: Lab;
let dir: string;

const model: ModelInput = {
  name: NAME,
  hosts: [{ name: "d1" }, { name: "d2" }, { name: "h3" }],
  endpoints: [{ name: "ext", host: "h3", ips: ["192.0.2.1"], stack: "shop", service: "ext" }],
  network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
};

beforeAll(async () => {
  await requireDockerLabPrerequisites();
  const listen = { tcp: [80] };
  lab = await Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }, { name: "h3" }],
    endpoints: [{ name: "ext", host: "h3", listen }],
    containers: [
      { name: "web", host: "d1", labels: compose("shop", "web"), listen },
      { name: "cache", host: "d1", labels: compose("store", "cache"), listen },
      { name: "api", host: "d2", labels: compose("shop", "api"), listen },
      { name: "db", host: "d2", labels: compose("store", "db"), listen },
    ],
    ipv6: false,
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-docker-network-"));
  fs.writeFileSync(path.join(dir, "model.yaml"), stringify(model));
  fs.writeFileSync(path.join(dir, "key"), lab.clientKey.privateKey, { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface HostConfig {
  name: string;
  discover?: "docker";
  user?: string;
}

/** The engine's arguments: hosts (pinned keys) as a secret file, the lab's key, ext's address. */
function engineArgs(hosts: HostConfig[]): string[] {
  const config = hosts.map((h) => {
    const s = lab.hostSsh(h.name);
    return { name: h.name, ...(h.discover ? { discover: h.discover } : {}), ssh: { host: s.host, port: s.port, user: h.user ?? s.user, hostKey: s.hostKey } };
  });
  fs.writeFileSync(path.join(dir, "hosts.json"), JSON.stringify(config), { mode: 0o600 });
  return ["--state", path.join(dir, "state.json"), "--secret-file", `hosts=${path.join(dir, "hosts.json")}`,
    "--secret-file", `privateKey=${path.join(dir, "key")}`, "--config", `modelFile=${path.join(dir, "model.yaml")}`,
    "--config", `placement=${JSON.stringify({ ext: { ips: [lab.endpoint("ext").ipv4] } })}`];
}

const DISCOVERING: HostConfig[] = [{ name: "d1", discover: "docker" }, { name: "d2", discover: "docker" }, { name: "h3" }];

async function engine(op: string, hosts: HostConfig[] = DISCOVERING): Promise<{ code: number; out: string }> {
  const r = await runEngine([op, PROGRAM, ...engineArgs(hosts)], {}, 180_000);
  return { code: r.code, out: `${r.stdout}\n${r.stderr}` };
}

/** The model as the lab runs it now: every container an endpoint with its address and Compose stack. */
function liveModel(): ModelInput {
  const containers = ["web", "cache", "api", "db"].map((name) => {
    const c = lab.container(name);
    return { name, host: c.host, ips: [c.ipv4], stack: c.labels["com.docker.compose.project"] };
  });
  return { ...model, endpoints: [{ ...model.endpoints![0], ips: [lab.endpoint("ext").ipv4] }, ...containers] };
}

/** The Network's outputs in the harness's state file. */
function networkOutputs(): Record<string, unknown> {
  const state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as { resources: { name: string; outputs: Record<string, unknown> }[] };
  const network = state.resources.find((r) => r.name === NAME);
  if (!network) throw new Error(`no resource ${NAME} in the state`);
  return network.outputs;
}

const rulesetOf = async (host: string) => (await lab.exec(host, ["nft", "-s", "list", "ruleset"])).stdout;

test("preview shows the rules for the running containers; up enforces them: measured matrix == analysis of the discovered model", async () => {
  const preview = await engine("preview");
  expect(preview.code).toBe(0);
  // containers sorted by host, then name: cache is the first one found
  expect(preview.out).toContain(`+ discovered: [{"host":"d1","ips":["${lab.container("cache").ipv4}"]`);
  expect(preview.out).toMatch(/\+ rules\.d1: \(\d+ lines\)/);

  const up = await engine("up");
  expect(up.out).toMatch(/\+ 1 created/);
  expect(up.code).toBe(0);
  const outputs = networkOutputs();
  expect((outputs.discovered as { name: string }[]).map((e) => e.name)).toEqual(["cache", "web", "api", "db"]);
  const rules = outputs.rules as Record<string, string>;
  for (const c of ["web", "cache", "api", "db"]) expect(rules[lab.container(c).host]).toContain(lab.container(c).ipv4);
  const expected = expectedMatrix(liveModel(), PROBES);
  // the policy decides both ways: same stack passes (across hosts too), other stacks do not
  expect(expected["tcp/80"].web.api).toBe(true);
  expect(expected["tcp/80"].ext.web).toBe(true);
  expect(expected["tcp/80"].web.cache).toBe(false);
  expect(expected["tcp/80"].cache.db).toBe(true);
  expect(await lab.measureMatrix(PROBES)).toEqual(expected);
  const refresh = await engine("refresh");
  expect(refresh.out).toContain("0 drifted");
}, 300_000);

test("a container restarted with a new address: the preview shows the changed lines, up restores the matrix", async () => {
  const before = lab.container("cache").ipv4;
  const after = (await lab.restartContainer("cache", { newAddress: true })).ipv4;
  expect(after).not.toBe(before);
  const preview = await engine("preview");
  expect(preview.code).toBe(0);
  expect(preview.out).toContain(`${NAME}  update`);
  const lines = preview.out.split("\n");
  expect(lines.some((l) => /^\s*- /.test(l) && l.includes(before))).toBe(true);
  expect(lines.some((l) => /^\s*\+ /.test(l) && l.includes(after))).toBe(true);
  const up = await engine("up");
  expect(up.code).toBe(0);
  expect(await lab.measureMatrix(PROBES)).toEqual(expectedMatrix(liveModel(), PROBES));
}, 300_000);

test("hosts that cannot be read (no Docker daemon; no rights to use it) fail the preview and the up, each named; nothing changes", async () => {
  const broken: HostConfig[] = [{ name: "d1", discover: "docker" }, { name: "d2", discover: "docker", user: lab.loginUser.user }, { name: "h3", discover: "docker" }];
  const before = await Promise.all(["d1", "d2", "h3"].map(rulesetOf));
  for (const op of ["preview", "up"]) {
    const r = await engine(op, broken);
    expect({ op, code: r.code }).toEqual({ op, code: 1 });
    expect(r.out).toMatch(/hosts\[1\]: host d2: discover docker containers failed: no permission to use the Docker daemon/);
    expect(r.out).toMatch(/hosts\[2\]: host h3: discover docker containers failed: the Docker daemon does not answer/);
    expect(r.out).not.toContain(lab.clientKey.privateKey.split("\n")[1]);
  }
  expect(await Promise.all(["d1", "d2", "h3"].map(rulesetOf))).toEqual(before);
}, 300_000);

test("destroy removes the network's table from every host", async () => {
  const destroy = await engine("destroy");
  expect(destroy.code).toBe(0);
  expect(destroy.out).toMatch(/- 1 deleted/);
  for (const h of ["d1", "d2", "h3"]) expect(await rulesetOf(h)).not.toContain(tableName(NAME));
}, 300_000);
