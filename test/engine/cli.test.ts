/**
 * The harness's command line: secrets from a file or an environment variable (never on the
 * command line), and no secret value in any output, even when a flag is malformed or a program
 * quotes a config value in its error.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs, scrubber } from "./cli";
import { runEngine } from "./run-engine";

const PROGRAM = path.join(__dirname, "fixtures", "files");
const TOKEN = "hunter2-very-secret";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUtc2VjcmV0LWxpbmU=\n-----END OPENSSH PRIVATE KEY-----";

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-engine-cli-")); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe("parseArgs", () => {
  test("--secret-file reads the file (trailing newlines dropped, as $(cat FILE) does); --secret-env the variable", () => {
    const file = write("key", `${KEY}\n`);
    const args = parseArgs(["preview", PROGRAM, "--secret-file", `privateKey=${file}`, "--secret-env", "token=TEST_TOKEN", "--config", "dir=/x"], { TEST_TOKEN: TOKEN });
    expect(args.config).toEqual({ "harness-files:privateKey": KEY, "harness-files:token": TOKEN, "harness-files:dir": "/x" });
    expect(args.secretKeys).toEqual(["harness-files:privateKey", "harness-files:token"]);
  });

  test("~/ in a --secret-file path is the home folder", () => {
    const home = os.homedir();
    const rel = path.relative(home, write("home-key", "k"));
    if (rel.startsWith("..")) return; // the temp folder is not under the home folder here
    expect(parseArgs(["preview", PROGRAM, "--secret-file", `k=~/${rel}`]).config["harness-files:k"]).toBe("k");
  });

  test.each<[string, string[], string]>([
    ["a --secret without key=", ["--secret", TOKEN], "--secret (value not shown): expected key=value"],
    ["an unset variable", ["--secret-env", "token=NOT_SET_ANYWHERE"], "--secret-env token=NOT_SET_ANYWHERE: environment variable NOT_SET_ANYWHERE is not set"],
    ["an unreadable file", ["--secret-file", "token=/nonexistent/key"], "--secret-file token=/nonexistent/key: cannot read /nonexistent/key (ENOENT)"],
    ["--secret-file without key=", ["--secret-file", "/some/key"], "--secret-file /some/key: expected key=PATH"],
  ])("%s is an error that shows no value", (_what, flags, message) => {
    expect(() => parseArgs(["preview", PROGRAM, ...flags], {})).toThrow(message);
    try { parseArgs(["preview", PROGRAM, ...flags], {}); } catch (e) { expect(String(e)).not.toContain(TOKEN); }
  });
});

describe("scrubber", () => {
  test("replaces a secret, its JSON-escaped form and each long line of a multi-line one", () => {
    const scrub = scrubber({ config: { "p:k": KEY, "p:t": TOKEN, "p:plain": "visible" }, secretKeys: ["p:k", "p:t"] });
    const text = `a ${TOKEN} b ${JSON.stringify(KEY)} c ${KEY.split("\n")[1]} visible`;
    const out = scrub(text);
    expect(out).toBe("a [secret] b \"[secret]\" c [secret] visible");
  });
});

describe("npm run -s engine", () => {
  test("--secret-file and --secret-env keep the secret out of the command line and of every output", async () => {
    const file = write("token", `${TOKEN}\n`);
    const state = path.join(dir, "state.json");
    const fromFile = await runEngine(["preview", PROGRAM, "--state", state, "--config", `dir=${dir}`, "--secret-file", `token=${file}`]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain("+ token: [secret]");
    const fromEnv = await runEngine(["preview", PROGRAM, "--state", state, "--config", `dir=${dir}`, "--secret-env", "token=TEST_ENGINE_TOKEN"], { TEST_ENGINE_TOKEN: TOKEN });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain("+ token: [secret]");
    for (const r of [fromFile, fromEnv]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  }, 120_000);

  test("a program's error that quotes a secret config value prints [secret] instead", async () => {
    const secret = "not-a-number-but-a-secret";
    const r = await runEngine(["preview", PROGRAM, "--state", path.join(dir, "s2.json"), "--config", `dir=${dir}`, "--secret-env", "count=TEST_ENGINE_COUNT"], { TEST_ENGINE_COUNT: secret });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout).toContain("program: Configuration 'harness-files:count' value '[secret]' is not a valid number");
  }, 120_000);
});
