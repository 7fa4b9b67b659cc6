/**
 * Every example program through the harness, against a fake SSH target (the lab test covers the
 * real path): preview renders rules for every host, up applies them, a config change previews as
 * changed rule lines, destroy removes the tables.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runEngine } from "./run-engine";

const ROOT = path.resolve(__dirname, "..", "..");
const HOST_KEY = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nexample-key-material-42\n-----END OPENSSH PRIVATE KEY-----";

function hosts(names: string[]): string {
  return JSON.stringify(names.map((name, i) => ({ name, ssh: { host: `192.0.2.${i + 1}`, hostKey: HOST_KEY } })));
}

const CASES: [string, string[], string[], RegExp][] = [
  ["examples/rancher-stack-isolation", ["h1", "h2", "h3"], ["--config", "openPorts=[8080]"], /dport 8080/],
  ["examples/rancher-label-isolation", ["h1", "h2", "h3"], ["--config", "groupBy=com.rancher.location"], /^ +[-+] /m],
  ["examples/calico-profiles", ["h1", "h2"], ["--config", "webPorts=[80,443,8080]"], /8080/],
  ["examples/kubernetes-on-hosts", ["h1", "h2"], ["--config", "redisPort=6380"], /6380/],
];

describe.each(CASES)("example %s", (example, hostNames, change, changedLine) => {
  let dir: string;
  const program = path.join(ROOT, example);
  const env = () => ({ NETPOL_FAKE_HOSTS_DIR: dir });
  const args = () => ["--host-driver", path.join(ROOT, "test/resources/fake-host-driver.ts"), "--state", path.join(dir, "state.json"), "--secret", `hosts=${hosts(hostNames)}`, "--secret", `privateKey=${KEY}`];
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-example-")); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("previews, applies, previews a change as rule lines, destroys", async () => {
    const preview = await runEngine(["preview", program, ...args()], env());
    expect(preview.stderr).toBe("");
    expect(preview.code).toBe(0);
    for (const h of hostNames) expect(preview.stdout).toMatch(new RegExp(`\\+ rules\\.${h}: \\(\\d+ lines\\)`));
    expect(preview.stdout).toContain("+ credentials: [secret]");

    const up = await runEngine(["up", program, ...args()], env());
    expect(up.code).toBe(0);
    const log = fs.readFileSync(path.join(dir, "calls.log"), "utf8");
    for (const h of hostNames) expect(log).toMatch(new RegExp(`^apply ${h} netpol_`, "m"));

    const changed = await runEngine(["preview", program, ...args(), ...change], env());
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/~ rules\.h\d:/);
    const diffLines = changed.stdout.split("\n").filter((l) => /^ {11}[-+] /.test(l));
    expect(diffLines.some((l) => changedLine.test(l))).toBe(true);

    for (const out of [preview.stdout, up.stdout, changed.stdout]) expect(out).not.toContain("example-key-material-42");
    expect(fs.readFileSync(path.join(dir, "state.json"), "utf8")).not.toContain("example-key-material-42");

    const destroy = await runEngine(["destroy", program, ...args()], env());
    expect(destroy.code).toBe(0);
    for (const h of hostNames) expect(fs.readFileSync(path.join(dir, "calls.log"), "utf8")).toMatch(new RegExp(`^delete ${h} netpol_`, "m"));
  }, 120_000);
});
