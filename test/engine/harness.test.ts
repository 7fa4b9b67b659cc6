/**
 * The harness end to end on a small program whose provider manages files: preview, up, a config
 * change (update with a line diff, replace), refresh with drift, destroy; secrets never in clear.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runEngine } from "./run-engine";

const PROGRAM = path.join(__dirname, "fixtures", "files");
const TOKEN = "hunter2-very-secret";

describe("engine harness", () => {
  let dir: string;
  let state: string;
  const base = () => ["--state", state, "--config", `dir=${dir}`, "--secret", `token=${TOKEN}`];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-harness-"));
    state = path.join(dir, "state", "s.json");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs preview, up, update, refresh and destroy in the engine's order", async () => {
    const preview = await runEngine(["preview", PROGRAM, ...base()]);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain("+  pulumi-nodejs:dynamic/harness:File  f0  create");
    expect(preview.stdout).toMatch(/derived {2}create\n(.*\n)*? {7}\+ content: \(computed\)/);
    expect(preview.stdout).toContain("+ token: [secret]");
    expect(preview.stdout).toContain("+ 4 to create");
    expect(fs.existsSync(path.join(dir, "file-0"))).toBe(false);

    const up = await runEngine(["up", PROGRAM, ...base()]);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("+ 4 created");
    expect(fs.readFileSync(path.join(dir, "derived"), "utf8")).toBe("size of f0: 21\n");
    const stateText = fs.readFileSync(state, "utf8");
    expect(stateText).not.toContain(TOKEN);
    expect(stateText).toContain("ciphertext");

    const again = await runEngine(["preview", PROGRAM, ...base()]);
    expect(again.stdout).toContain("4 unchanged");
    expect(again.stdout).not.toMatch(/ {2}(update|replace)/);

    const change = ["--config", "content1=line 1\nline 2 changed\nfile 1\n", "--config", "name0=renamed"];
    const diff = await runEngine(["preview", PROGRAM, ...base(), ...change]);
    expect(diff.stdout).toContain("+- pulumi-nodejs:dynamic/harness:File  f0  replace  [diff: ~name]");
    expect(diff.stdout).toContain('~ name: "file-0" => "renamed"');
    expect(diff.stdout).toMatch(/~ content:\n +line 1\n +- line 2\n +\+ line 2 changed\n +file 1/);

    const applied = await runEngine(["up", PROGRAM, ...base(), ...change]);
    expect(applied.code).toBe(0);
    expect(fs.existsSync(path.join(dir, "file-0"))).toBe(false);
    expect(fs.readFileSync(path.join(dir, "renamed"), "utf8")).toContain("file 0");

    fs.writeFileSync(path.join(dir, "file-1"), "edited by hand\n");
    const refresh = await runEngine(["refresh", PROGRAM, ...base()]);
    expect(refresh.stdout).toMatch(/f1 {2}drift\n {7}~ content:\n +- line 1\n +- line 2 changed\n +- file 1\n +\+ edited by hand/);
    expect(refresh.stdout).toContain("1 drifted");

    const secretChange = await runEngine(["preview", PROGRAM, "--state", state, "--config", `dir=${dir}`, "--secret", "token=another-secret", ...change]);
    expect(secretChange.stdout).toContain("~ token: [secret] => [secret]");
    expect(secretChange.stdout + secretChange.stderr).not.toMatch(/another-secret|hunter2/);

    const destroy = await runEngine(["destroy", PROGRAM, ...base()]);
    expect(destroy.code).toBe(0);
    // Reverse order: `derived` (which depends on f0) goes before f0.
    expect(destroy.stdout).toMatch(/derived {2}delete(.*\n)*.*f0 {2}delete/);
    expect(destroy.stdout).toContain("- 4 deleted");
    expect(fs.readdirSync(dir).sort()).toEqual(["state"]);
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources).toEqual([]);
  }, 120_000);

  it("reports check failures with the property and exits 1", async () => {
    const bad = await runEngine(["preview", PROGRAM, ...base(), "--config", "name1=Not A Name"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("Errors:");
    expect(bad.stdout).toContain('name: "Not A Name" is not a file name');
  }, 60_000);

  it("rejects unknown commands with the usage", async () => {
    const r = await runEngine(["deploy", PROGRAM]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("usage: npm run -s engine --");
  }, 30_000);
});
