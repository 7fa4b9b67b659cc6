/**
 * The seeds on real Docker hosts (test/lab/docker.ts, routed topology), with discovered endpoints.
 * Per backend one lab of three Docker hosts runs, for the whole suite, the seeds' containers:
 * the Rancher seeds' three stacks labelled as Rancher 1.x labels them (`io.rancher.stack.name`,
 * `io.rancher.stack_service.name`, the seeds' department and location labels) and the Kubernetes
 * seed's pods (`netpol.namespace` and their labels). The models are swapped on one network:
 * stack, label and container isolation, then the Kubernetes seed; each time the matrix measured
 * with real packets from inside the containers equals `netpol reach` of the discovered model, cell
 * by cell. Then: a container restarted with a new address (plan names the changed set elements,
 * apply restores the matrix); destroy leaves Docker's own rules byte-identical to before the first
 * apply (iptables-save of both families and all tables, nft list ruleset, ipsets; counters aside);
 * a published port answers the sources the policy allows, before, during and after; a dockerd
 * restart is named by status and repaired by apply.
 * Needs root and docker.io; under CI=true a machine without them fails here, never skips.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Lab, LabContainerSpec, Matrix, requireDockerLabPrerequisites } from "../lab/lab";
import { ModelInput } from "../../provider/model/model";
import { runCli } from "../support/cli";
import { ROOT } from "../support/models";
import { cellDifferences, matrixDifferences, reachMatrix } from "./lab-model";

const HOSTS = ["h1", "h2", "h3"];
const listen = { tcp: [80, 6379], udp: [53] };
const seed = (name: string): ModelInput => parse(fs.readFileSync(`${ROOT}/examples/models/${name}`, "utf8"));

/** A container as Rancher 1.x labels it, named as Rancher names it (`stack-service-1`). */
function rancher(stack: string, service: string, host: string, labels: Record<string, string>): LabContainerSpec {
  return {
    name: `${stack}-${service}-1`, host, listen,
    labels: { "io.rancher.stack.name": stack, "io.rancher.stack_service.name": `${stack}/${service}`, "io.rancher.container.name": `${stack}-${service}-1`, ...labels },
  };
}
const pod = (namespace: string, name: string, host: string, role: string): LabContainerSpec =>
  ({ name: `${namespace}-${name}`, host, listen, labels: { "netpol.namespace": namespace, role } });

/** The container whose port 80 Docker publishes on h1's addresses as 8080, and two sources on h2. */
const PUBLISHED = "stack_one-service_one-1";
const SAME_STACK = "stack_one-service_two-1";
const OTHER_STACK = "stack_two-service_two-1";

/** The seeds' containers, placed on the hosts as the seed models place their endpoints. */
const CONTAINERS: LabContainerSpec[] = [
  { ...rancher("stack_one", "service_one", "h1", { "com.rancher.department": "qa" }), publish: ["8080:80"] },
  rancher("stack_one", "service_two", "h2", { "com.rancher.department": "engineering" }),
  rancher("stack_one", "service_three", "h3", { "com.rancher.location": "cupertino" }),
  rancher("stack_two", "service_one", "h1", { "com.rancher.department": "qa" }),
  rancher("stack_two", "service_two", "h2", { "com.rancher.location": "cupertino" }),
  rancher("stack_three", "service_one", "h3", { "com.rancher.department": "engineering" }),
  rancher("stack_three", "service_two", "h1", { "com.rancher.location": "phoenix" }),
  pod("default", "db", "h1", "db"),
  pod("default", "frontend", "h1", "frontend"),
  pod("default", "other", "h2", "other"),
  pod("myproject", "client", "h2", "client"),
  pod("other", "client", "h1", "client"),
];

/** The Docker rules of a host as text, counters and generated-at comments aside. */
async function dockerRules(lab: Lab, host: string): Promise<string> {
  const parts: string[] = [];
  for (const argv of [["iptables-save"], ["ip6tables-save"], ["nft", "-s", "list", "ruleset"], ["ipset", "list", "-n"]]) {
    const out = (await lab.exec(host, argv)).stdout;
    parts.push(`## ${argv.join(" ")}`, ...out.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]$/, "[-]")));
  }
  return parts.join("\n");
}

describe.each(["nftables", "iptables"] as const)("seeds on routed Docker hosts, %s", (backend) => {
  let lab: Lab;
  let dir: string;
  let before: string[];
  const NAME = `docker-seeds-${backend}`;

  beforeAll(async () => {
    await requireDockerLabPrerequisites();
    lab = await Lab.create({ hosts: HOSTS.map((name) => ({ name, docker: true })), endpoints: [], containers: CONTAINERS, ipv6: false });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-docker-seeds-"));
    fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
    before = await Promise.all(HOSTS.map((h) => dockerRules(lab, h)));
  }, 180_000);

  afterAll(async () => {
    if (dir) await runCli(["destroy", path.join(dir, "rancher-stack-isolation.yaml")]);
    await lab?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** A seed on the lab: its policy as written, every host discovering its endpoints from Docker. */
  function writeSeed(file: string): string {
    const { endpoints: _written, hosts: _hosts, name: _name, ...policy } = seed(file);
    const hosts = HOSTS.map((name) => {
      const s = lab.hostSsh(name);
      return { name, backend, discover: "docker" as const, ssh: { host: s.host, port: s.port, user: s.user, privateKeyPath: "./id_lab", hostKey: s.hostKey } };
    });
    const out = path.join(dir, file);
    fs.writeFileSync(out, stringify({ name: NAME, hosts, ...policy }));
    return out;
  }

  /** What the published port answers: from a source of the same stack and from one of another. */
  async function published(): Promise<{ sameStack: boolean; otherStack: boolean }> {
    const h1 = lab.host("h1").transitV4;
    const [sameStack, otherStack] = await Promise.all([SAME_STACK, OTHER_STACK].map((from) => lab.probeAddress(from, h1, "tcp/8080")));
    return { sameStack, otherStack };
  }

  /** One prober per container, all at once: a denied probe waits out its 1 s timeout. */
  const MEASURE = { concurrency: CONTAINERS.length };

  async function applyAndMeasure(file: string, probes: string[]): Promise<Matrix> {
    const r = await runCli(["apply", file]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("warning:");
    const expected = await reachMatrix(file, probes);
    expect(cellDifferences(await lab.measureMatrix(probes, MEASURE), expected)).toEqual([]);
    return expected;
  }

  test("discovery finds every container with the seeds' stack, service, namespace and labels", async () => {
    const r = await runCli(["discover", writeSeed("kubernetes-seed.yaml")]);
    expect(r.code).toBe(0);
    const byName = Object.fromEntries((parse(r.out) as ModelInput).endpoints?.map((e) => [e.name, e]) ?? []);
    expect(Object.keys(byName).sort()).toEqual(CONTAINERS.map((c) => c.name).sort());
    expect(byName["stack_two-service_one-1"]).toMatchObject({ host: "h1", stack: "stack_two", service: "service_one", labels: { "com.rancher.department": "qa" } });
    expect(byName["myproject-client"]).toMatchObject({ host: "h2", namespace: "myproject", labels: { role: "client" } });
    // without a policy, the published port answers everyone
    expect(await published()).toEqual({ sameStack: true, otherStack: true });
  }, 60_000);

  test("Rancher seeds: stack → label → container isolation, measured matrix == reach each time; the published port follows the policy", async () => {
    const stack = await applyAndMeasure(writeSeed("rancher-stack-isolation.yaml"), ["tcp/80", "icmp/8"]);
    // the seed's verdicts, on one host and across hosts
    expect(stack["tcp/80"][SAME_STACK][PUBLISHED]).toBe(true);
    expect(stack["tcp/80"][OTHER_STACK][PUBLISHED]).toBe(false);
    expect(stack["tcp/80"]["stack_three-service_two-1"]["stack_two-service_one-1"]).toBe(false);
    expect(stack["tcp/80"]["stack_three-service_one-1"]["stack_three-service_two-1"]).toBe(true);
    expect(await published()).toEqual({ sameStack: true, otherStack: false });

    const label = await applyAndMeasure(writeSeed("rancher-label-isolation.yaml"), ["tcp/80"]);
    expect(label["tcp/80"]["stack_two-service_one-1"][PUBLISHED]).toBe(true); // both qa
    expect(label["tcp/80"][SAME_STACK][PUBLISHED]).toBe(false); // engineering → qa
    expect(label["tcp/80"]["stack_one-service_three-1"]["stack_two-service_two-1"]).toBe(false); // no department
    expect(await published()).toEqual({ sameStack: false, otherStack: false });

    const container = await applyAndMeasure(writeSeed("rancher-container-isolation.yaml"), ["udp/53"]);
    expect(Object.values(container["udp/53"]).flatMap((row) => Object.entries(row)).filter(([, cell]) => cell)).toHaveLength(CONTAINERS.length); // itself only
  }, 120_000);

  test("Kubernetes seed: measured matrix == reach; a restarted container's new address shows in plan as set elements, apply restores the matrix", async () => {
    const file = writeSeed("kubernetes-seed.yaml");
    const probes = ["tcp/6379", "tcp/80"];
    const k8s = await applyAndMeasure(file, probes);
    expect(k8s["tcp/6379"]["default-frontend"]["default-db"]).toBe(true);
    expect(k8s["tcp/6379"]["myproject-client"]["default-db"]).toBe(true);
    expect(k8s["tcp/6379"]["other-client"]["default-db"]).toBe(false);
    expect(k8s["tcp/80"]["default-frontend"]["default-db"]).toBe(false);
    expect(k8s["tcp/80"]["other-client"]["default-other"]).toBe(true);

    const old = lab.container("myproject-client").ipv4;
    const now = (await lab.restartContainer("myproject-client", { newAddress: true })).ipv4;
    expect(now).not.toBe(old);
    const plan = await runCli(["plan", file, "--diff"]);
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/h1: update — \d+ line\(s\) added, \d+ removed/); // db's peers
    const lines = plan.out.split("\n");
    expect(lines.some((l) => /^\s*- /.test(l) && l.includes(old))).toBe(true);
    expect(lines.some((l) => /^\s*\+ /.test(l) && l.includes(now))).toBe(true);
    expect((await runCli(["apply", file])).code).toBe(0);
    const measured = await lab.measureMatrix(probes, MEASURE);
    expect(measured["tcp/6379"]["myproject-client"]["default-db"]).toBe(true);
    expect(cellDifferences(measured, await reachMatrix(file, probes))).toEqual([]);
  }, 120_000);

  test("destroy leaves Docker's rules byte-identical to before the first apply, and the published port answers everyone again", async () => {
    const r = await runCli(["destroy", writeSeed("rancher-stack-isolation.yaml")]);
    expect(r.code).toBe(0);
    const after = await Promise.all(HOSTS.map((h) => dockerRules(lab, h)));
    HOSTS.forEach((h, i) => expect({ host: h, rules: after[i] }).toEqual({ host: h, rules: before[i] }));
    expect(before[0]).toContain("-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination");
    expect(await published()).toEqual({ sameStack: true, otherStack: true });
  }, 60_000);

  test(backend === "nftables"
    ? "dockerd restarted under the network: status says in sync and the matrix and the published port still follow the policy (Docker's tables and ours are apart)"
    : "dockerd restarted under the network: status names the lost hook order on h1 only, apply repairs it, the matrix and the published port follow the policy", async () => {
    const file = writeSeed("rancher-stack-isolation.yaml");
    expect((await runCli(["apply", file])).code).toBe(0);
    const addresses = lab.containers.map((c) => c.ipv4);
    await lab.restartDockerd("h1");
    expect(lab.containers.map((c) => c.ipv4)).toEqual(addresses); // the endpoints did not change, only Docker's rules
    const status = await runCli(["status", file]);
    if (backend === "nftables") {
      expect(status.out).toBe("h1: in sync\nh2: in sync\nh3: in sync\n");
      expect(status.code).toBe(0);
    } else {
      expect(status.code).toBe(1);
      expect(status.out).toContain(`# FORWARD runs "-A FORWARD -j DOCKER-USER" before the network's chain`);
      expect(status.out.split("\n").filter((l) => /^h\d: /.test(l))).toEqual([expect.stringMatching(/^h1: drift: /), "h2: in sync", "h3: in sync"]);
      const plan = await runCli(["plan", file]);
      expect(plan.out).toContain("apply puts the network's hook back in front");
      const repaired = await runCli(["apply", file]); // no --force: Docker moved the hook, nobody edited the rules
      expect(repaired.code).toBe(0);
      expect(repaired.out).toMatch(/^h1: applied/m);
      expect(repaired.out).toContain("1 changed, 2 up to date");
      expect((await runCli(["status", file])).out).toBe("h1: in sync\nh2: in sync\nh3: in sync\n");
    }
    expect(await matrixDifferences(lab, file, ["tcp/80"], { measure: MEASURE })).toEqual([]);
    expect(await published()).toEqual({ sameStack: true, otherStack: false });
  }, 120_000);
});
