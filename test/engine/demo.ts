/**
 * `npm run demo`: the README's quick start on a throwaway namespace lab (needs root and the lab
 * tools). Three hosts carry the Rancher seed's three stacks; the quick start program (the root
 * Pulumi.yaml → examples/rancher-label-isolation) applies label isolation; the measured matrix is
 * printed beside the one `netpol reach` predicts; the policy changes (`groupBy` →
 * com.rancher.location), the plan shows the changed rule lines, up applies it, the matrices are
 * printed again, destroy removes it, and the lab is torn down.
 *
 * With a real `pulumi` CLI on PATH it drives that (local file backend, a throwaway stack and
 * config file); without one, the engine harness. Exits 1 when a measured cell differs from the
 * analysis, so the demo doubles as a check.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Matrix } from "../../provider/analyze/matrix";
import { Lab } from "../lab/lab";
import { configFlags, expectedMatrix, labForModel, labStackConfig, onLab, readModel, ROOT } from "./lab-support";
import { runEngine } from "./run-engine";

const PROBE = "tcp/80";
const STACK = "demo";
const SEED = readModel("rancher-label-isolation.yaml");
const GROUP_BY = ["com.rancher.department", "com.rancher.location"] as const;

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function pulumiOnPath(): boolean {
  return spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0;
}

/** What `netpol reach` says for the seed's stacks at the lab's addresses, grouped by `groupBy`. */
function groupedBy(lab: Lab, groupBy: string): Matrix {
  const doc = { ...onLab(SEED, lab), network: { defaultPolicyAction: "deny" as const, policy: [{ between: { groupBy }, action: "allow" as const }] } };
  return expectedMatrix(doc, [PROBE])[PROBE];
}

/** The two matrices side by side; returns the number of cells where they differ. */
function printSideBySide(title: string, measured: Matrix, expected: Matrix): number {
  const names = Object.keys(expected);
  const label = (n: string, i: number) => `${i + 1} ${n}`;
  const width = Math.max(...names.map((n, i) => label(n, i).length)) + 2;
  const row = (m: Matrix, from: string) => names.map((to) => (m[from]?.[to] ? "." : "X")).join(" ");
  const header = names.map((_, i) => String(i + 1)).join(" ");
  let differ = 0;
  say(`\n${title} — ${PROBE}, rows: from, columns: to; "." reaches, "X" blocked`);
  say(`${" ".repeat(width)}${"measured".padEnd(header.length + 4)}expected (netpol reach)`);
  say(`${" ".repeat(width)}${header}    ${header}`);
  names.forEach((from, i) => {
    const cells = names.filter((to) => measured[from]?.[to] !== expected[from][to]).length;
    differ += cells;
    say(`${label(from, i).padEnd(width)}${row(measured, from)}    ${row(expected, from)}${cells > 0 ? `   ← ${cells} cell(s) differ` : ""}`);
  });
  say(differ === 0 ? "measured == expected in every cell" : `MISMATCH: ${differ} cell(s) differ`);
  return differ;
}

async function main(): Promise<void> {
  const endpoints = SEED.endpoints ?? [];
  const hostNames = (SEED.hosts ?? []).map((h) => h.name);
  say(`Building a lab: ${hostNames.length} hosts (network namespaces with sshd and nftables), ${endpoints.length} containers of the seed's three stacks.`);
  const lab = await labForModel(SEED, { tcp: [80] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-demo-"));
  let mismatches = 0;
  try {
    const { secrets, plain } = labStackConfig(lab, SEED);
    const real = pulumiOnPath();
    const configFile = path.join(dir, `Pulumi.${STACK}.yaml`);
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "netpol-demo" };
    // `input`: a value on stdin (`pulumi config set KEY` reads it there), so a secret is never an argument.
    const pulumi = (args: string[], quiet = false, input?: string) => {
      const r = spawnSync("pulumi", [...args, "--cwd", ROOT, "--stack", STACK, "--config-file", configFile, "--non-interactive"], { encoding: "utf8", env, input, stdio: [input === undefined ? "ignore" : "pipe", quiet ? "ignore" : "inherit", "inherit"] });
      if (r.status !== 0) throw new Error(`pulumi ${args[0]} failed`);
    };
    const harness = async (op: string, extra: Record<string, string>) => {
      const args = [op, ROOT, "--stack", STACK, "--state", path.join(dir, "state.json"), ...configFlags({ secrets, plain: { ...plain, ...extra } })];
      const r = await runEngine(args, {}, 300_000);
      process.stdout.write(r.stdout + r.stderr);
      if (r.code !== 0) throw new Error(`${op} failed`);
    };
    const step = async (op: "preview" | "up" | "destroy", extra: Record<string, string> = {}) => {
      say(`\n$ ${real ? "pulumi" : "npm run -s engine --"} ${op}${real ? (op === "preview" ? " --diff" : " --yes") : " ."}${Object.entries(extra).map(([k, v]) => ` --config ${k}=${v}`).join("")}`);
      if (!real) return harness(op, extra);
      for (const [k, v] of Object.entries(extra)) pulumi(["config", "set", k, v], true);
      pulumi(op === "preview" ? ["preview", "--diff"] : [op, "--yes", "--skip-preview", ...(op === "up" ? ["--diff"] : [])]);
    };
    const compare = async (title: string, expected: Matrix) => {
      const measured = (await lab.measureMatrix([PROBE]))[PROBE];
      mismatches += printSideBySide(title, measured, expected);
    };

    say(real ? "Using the pulumi CLI on PATH (local file backend, throwaway stack)." : "No pulumi CLI on PATH: using the engine harness (npm run -s engine).");
    if (real) {
      spawnSync("pulumi", ["stack", "init", STACK, "--cwd", ROOT, "--non-interactive"], { env, stdio: "ignore" });
      for (const [k, v] of Object.entries(secrets)) pulumi(["config", "set", "--secret", k], true, v);
      for (const [k, v] of Object.entries(plain)) pulumi(["config", "set", k, v], true);
    }
    const names = endpoints.map((e) => e.name);
    const allOpen: Matrix = Object.fromEntries(names.map((from) => [from, Object.fromEntries(names.map((to) => [to, true]))]));
    await compare("Before: no policy, every path open", allOpen);
    await step("up", { groupBy: GROUP_BY[0] });
    await compare(`Label isolation by ${GROUP_BY[0]}`, groupedBy(lab, GROUP_BY[0]));
    say(`\nChanging the policy: group by ${GROUP_BY[1]} instead. The plan:`);
    await step("preview", { groupBy: GROUP_BY[1] });
    await step("up", { groupBy: GROUP_BY[1] });
    await compare(`Label isolation by ${GROUP_BY[1]}`, groupedBy(lab, GROUP_BY[1]));
    await step("destroy", { groupBy: GROUP_BY[1] });
    await compare("After destroy: every path open again", allOpen);
    if (real) spawnSync("pulumi", ["stack", "rm", STACK, "--yes", "--cwd", ROOT, "--non-interactive"], { env, stdio: "ignore" });
  } finally {
    say("\nTearing the lab down.");
    await lab.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (mismatches > 0) throw new Error(`${mismatches} measured cell(s) differ from the analysis`);
  say("Done: every measured cell matched the analysis.");
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
