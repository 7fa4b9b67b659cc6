/**
 * Discovery on real Docker hosts (test/lab/docker.ts): two routed Docker lab hosts and one plain
 * lab host whose endpoint is written in the model. `netpol discover` finds the containers with
 * their addresses and labels; Rancher stack isolation applied with `netpol apply` gives, measured
 * with real packets from inside the containers, the matrix `netpol reach` predicts; a container
 * restarted with a new address shows in `netpol plan` as changed set elements, and `apply`
 * restores the matrix. Hosts that cannot be read fail clearly and nothing is written.
 * Needs root and docker.io; under CI=true a machine without them fails here, never skips.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Lab, requireDockerLabPrerequisites } from "../lab/lab";
import { runCli } from "../support/cli";
import { ModelInput } from "../../provider/model/model";
import { cellDifferences, matrixDifferences, reachMatrix } from "./lab-model";

const PROBES = ["tcp/80", "udp/53"];
let lab: Lab;
let dir: string;

const compose = (project: string, service: string) => ({ "com.docker.compose.project": project, "com.docker.compose.service": service });

beforeAll(async () => {
  await requireDockerLabPrerequisites();
  const listen = { tcp: [80], udp: [53] };
  lab = await Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }, { name: "h3" }],
    endpoints: [{ name: "ext", host: "h3", listen }],
    containers: [
      { name: "web", host: "d1", labels: compose("shop", "web"), listen },
      { name: "cache", host: "d1", labels: compose("store", "cache"), listen },
      { name: "api", host: "d2", labels: { "io.rancher.stack.name": "shop", "io.rancher.stack_service.name": "shop/api", "netpol.namespace": "shop" }, listen },
      { name: "db", host: "d2", labels: compose("store", "db"), listen },
    ],
    ipv6: false,
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-docker-"));
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function ssh(host: string, user = "root") {
  const s = lab.hostSsh(host);
  return { host: s.host, port: s.port, user, privateKeyPath: "./id_lab", hostKey: s.hostKey };
}

function writeModel(name: string, model: ModelInput): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify(model));
  return file;
}

const stackIsolation = (backend: "nftables" | "iptables"): ModelInput => ({
  name: `disco-${backend}`,
  hosts: [
    { name: "d1", backend, discover: "docker", ssh: ssh("d1") },
    { name: "d2", backend, discover: "docker", ssh: ssh("d2") },
    { name: "h3", backend, ssh: ssh("h3") },
  ],
  endpoints: [{ name: "ext", host: "h3", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
  network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
});

test("netpol discover prints the model with every running container as an endpoint: addresses, labels, stack/service, namespace", async () => {
  const file = writeModel("discover.yaml", stackIsolation("nftables"));
  const r = await runCli(["discover", file]);
  expect(r.code).toBe(0);
  const doc = parse(r.out) as ModelInput;
  expect((doc.hosts ?? []).every((h) => h.discover === undefined)).toBe(true);
  const byName = Object.fromEntries((doc.endpoints ?? []).map((e) => [e.name, e]));
  expect(Object.keys(byName)).toEqual(["ext", "cache", "web", "api", "db"]);
  expect(byName.web).toEqual({ name: "web", ips: [lab.container("web").ipv4], host: "d1", labels: compose("shop", "web"), stack: "shop", service: "web" });
  expect(byName.api).toEqual({
    name: "api", ips: [lab.container("api").ipv4], host: "d2", namespace: "shop",
    labels: { "io.rancher.stack.name": "shop", "netpol.namespace": "shop" }, stack: "shop", service: "api",
  });
  expect(byName.db.ips).toEqual([lab.container("db").ipv4]);
  expect(r.err).toContain("host d1: 2 endpoint(s) from 2 running container(s)");
  expect(r.err).toContain('container api: label "io.rancher.stack_service.name" left out');
  // the printed snapshot is a model of its own
  const again = await runCli(["validate", writeModel("snapshot.yaml", doc)]);
  expect(again.code).toBe(0);
}, 60_000);

describe.each(["nftables", "iptables"] as const)("%s", (backend) => {
  let file: string;
  beforeAll(() => {
    file = writeModel(`model-${backend}.yaml`, stackIsolation(backend));
  });
  afterAll(async () => {
    await runCli(["destroy", file]);
  }, 60_000);

  test("apply: the measured matrix equals reach of the discovered model, on one host and across hosts", async () => {
    const applied = await runCli(["apply", file]);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
    const expected = await reachMatrix(file, PROBES);
    // the policy decides, both ways: same stack across hosts passes, other stacks do not
    expect(expected["tcp/80"].web.api).toBe(true);
    expect(expected["tcp/80"].ext.web).toBe(true);
    expect(expected["tcp/80"].web.cache).toBe(false);
    expect(expected["tcp/80"].cache.db).toBe(true);
    expect(expected["tcp/80"].web.db).toBe(false);
    expect(cellDifferences(await lab.measureMatrix(PROBES), expected)).toEqual([]);
  }, 120_000);

  test("a container restarted with a new address: plan shows the changed set elements, apply restores the matrix", async () => {
    const before = lab.container("cache").ipv4;
    const after = (await lab.restartContainer("cache", { newAddress: true })).ipv4;
    expect(after).not.toBe(before);
    const plan = await runCli(["plan", file, "--diff"]);
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/d1: update — \d+ line\(s\) added, \d+ removed/);
    expect(plan.out).toMatch(/d2: update — \d+ line\(s\) added, \d+ removed/); // db's peers include cache
    expect(plan.out).toContain("h3: up to date");
    const removed = plan.out.split("\n").filter((l) => /^\s*- /.test(l));
    const added = plan.out.split("\n").filter((l) => /^\s*\+ /.test(l));
    expect(removed.some((l) => l.includes(before))).toBe(true);
    expect(added.some((l) => l.includes(after))).toBe(true);
    // only addresses (set elements, dispatch map keys; a neighbour's line when its comma moves) and the content hash change
    expect([...removed, ...added].filter((l) => !/\b\d{1,3}(\.\d{1,3}){3}\b|comment "netpol:|element\(s\)/.test(l))).toEqual([]);
    const applied = await runCli(["apply", file]);
    expect(applied.code).toBe(0);
    expect(await matrixDifferences(lab, file, PROBES)).toEqual([]);
  }, 120_000);
});

describe("hosts that cannot be read fail the command, naming the host and the cause; nothing is written", () => {
  const rulesOf = async (host: string) => (await lab.exec(host, ["nft", "-s", "list", "ruleset"])).stdout; // -s: without counters

  test.each([
    ["no Docker daemon on the host", () => ({ name: "h3", discover: "docker" as const, ssh: ssh("h3") }), "host h3: discover docker containers failed: the Docker daemon does not answer"],
    ["no rights to use Docker (a user outside the docker group, no sudo)", () => ({ name: "d2", discover: "docker" as const, ssh: ssh("d2", lab.loginUser.user) }), "host d2: discover docker containers failed: no permission to use the Docker daemon"],
  ])("%s", async (_what, host, message) => {
    const model: ModelInput = { name: "broken", hosts: [{ name: "d1", discover: "docker", ssh: ssh("d1") }, host()], network: { defaultPolicyAction: "deny", policy: [] } };
    const file = writeModel("broken.yaml", model);
    const before = await Promise.all(["d1", "d2", "h3"].map(rulesOf));
    for (const command of ["discover", "plan", "apply", "reach"]) {
      const r = await runCli(command === "reach" ? [command, file, "--probe", "tcp/80"] : [command, file]);
      expect({ command, code: r.code }).toEqual({ command, code: 1 });
      expect(r.err).toContain(message);
      expect(r.out).toBe("");
    }
    expect(await Promise.all(["d1", "d2", "h3"].map(rulesOf))).toEqual(before);
  }, 120_000);

  test("an unreachable host (sshd stopped)", async () => {
    const file = writeModel("down.yaml", { hosts: [{ name: "d1", discover: "docker", ssh: { ...ssh("d1"), connectTimeoutMs: 2000 } }] });
    await lab.stopSshd("d1");
    try {
      const r = await runCli(["discover", file]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^host d1: /);
      expect(r.out).toBe("");
    } finally {
      await lab.startSshd("d1");
    }
  }, 60_000);
});
