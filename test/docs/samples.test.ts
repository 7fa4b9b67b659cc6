/**
 * The command samples of the docs are run and their output compared, so a sample cannot drift from
 * what the command prints. A sample is
 * - in Markdown (README.md, examples/*\/README.md): a fenced `console` block, each `$ netpol …` line
 *   (or `$ npx netpol …`; a line ending in `\` continues) followed by its output;
 * - in a model or expectation file (examples/models, examples/expectations): a comment line
 *   `#   $ netpol …`, its output on the `#   ` comment lines below it.
 * Commands run in-process from the repository root, without a shell. Only paths (of this checkout)
 * and hashes are normalised. A sample must not be a usage error (exit 2).
 *
 * Samples that need a live host, cluster or lab are left unmarked (a plain block), each listed in
 * UNMARKED with the reason; blocks that only show output (pulumi previews of the engine harness on lab
 * hosts, the demo's matrices) are checked by the tests that run those programs (test/engine/).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../provider/cli";

const ROOT = path.resolve(__dirname, "..", "..");

interface Sample {
  /** `README.md:31`: where the command is. */
  where: string;
  argv: string[];
  expected: string;
}

/** Blocks starting with `$ ` that are not run, and why. */
const UNMARKED: { file: string; command: string; reason: string }[] = [
  { file: "README.md", command: "$ netpol plan calico-web-app.yaml", reason: "needs lab hosts with the model applied; test/e2e/plan-access.test.ts applies it on the namespace lab and compares plan's lines with netpol diff's" },
  { file: "README.md", command: "$ netpol plan shop.yaml", reason: "needs a live cluster (shop.yaml's kubeconfig); test/cli-cluster.test.ts plans against the real kube-apiserver" },
  { file: "examples/kubernetes-networkpolicy/README.md", command: "$ npm run -s engine -- preview examples/kubernetes-networkpolicy --config kubeconfig=", reason: "needs a live cluster; test/engine/kubernetes-example.test.ts runs the example on the real kube-apiserver" },
  { file: "examples/kubernetes-networkpolicy/README.md", command: "$ npm run -s engine -- preview examples/kubernetes-networkpolicy … --config redisPort=6380", reason: "needs a live cluster (as above)" },
  { file: "examples/kubernetes-networkpolicy/README.md", command: "$ npm run -s engine -- refresh examples/kubernetes-networkpolicy", reason: "needs a live cluster with a hand edit (as above)" },
];

const docs = (): string[] => [
  "README.md",
  ...fs.readdirSync(path.join(ROOT, "examples")).map((d) => `examples/${d}/README.md`),
  ...["models", "expectations"].flatMap((d) => fs.readdirSync(path.join(ROOT, "examples", d)).filter((f) => f.endsWith(".yaml")).map((f) => `examples/${d}/${f}`)),
].filter((f) => fs.existsSync(path.join(ROOT, f)));

/** Words of a command line, with '…' and "…" quoting; no shell is involved. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Session lines (`$ cmd`, then output) into samples; `lineOf(i)` is the file line of lines[i]. */
function session(file: string, lines: string[], lineOf: (i: number) => number): Sample[] {
  const samples: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("$ ")) continue;
    const where = `${file}:${lineOf(i)}`;
    let command = lines[i].slice(2);
    while (command.endsWith("\\") && i + 1 < lines.length) command = `${command.slice(0, -1)} ${lines[++i].trim()}`;
    const output: string[] = [];
    while (i + 1 < lines.length && !lines[i + 1].startsWith("$ ")) output.push(lines[++i]);
    const argv = words(command);
    if (argv[0] === "npx") argv.shift();
    if (argv.shift() !== "netpol") throw new Error(`${where}: a sample runs netpol (or npx netpol), not "${command}"`);
    samples.push({ where, argv, expected: output.join("\n") });
  }
  return samples;
}

function samplesIn(file: string): Sample[] {
  const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
  const samples: Sample[] = [];
  if (file.endsWith(".md")) {
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] !== "```console") continue;
      const start = i + 1;
      while (i + 1 < lines.length && lines[i + 1] !== "```") i++;
      samples.push(...session(file, lines.slice(start, i + 1), (k) => start + k + 1));
      i++;
    }
  } else {
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith("#   $ ")) continue;
      const start = i;
      while (i + 1 < lines.length && lines[i + 1].startsWith("#   ")) i++;
      samples.push(...session(file, lines.slice(start, i + 1).map((l) => l.slice(4)), (k) => start + k + 1));
    }
  }
  return samples;
}

/** The first lines of fenced blocks that start with `$ ` but are not `console` blocks. */
function unmarkedIn(file: string): string[] {
  if (!file.endsWith(".md")) return [];
  const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
  const found: string[] = [];
  let open: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("```")) continue;
    if (open !== undefined) { open = undefined; continue; }
    open = lines[i].slice(3);
    if (open !== "console" && (lines[i + 1] ?? "").startsWith("$ ")) found.push(lines[i + 1]);
  }
  return found;
}

/** Paths of this checkout and hashes (hex runs of 8 or more with a digit) are the only normalisation. */
function normalise(text: string): string {
  return text
    .split(`${ROOT}/`).join("")
    .replace(/\b(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\b/g, "<hash>")
    .split("\n").map((l) => l.trimEnd()).join("\n")
    .trim();
}

const SAMPLES = docs().flatMap(samplesIn);

it("the docs hold samples of the analysis commands", () => {
  const commands = new Set(SAMPLES.map((s) => s.argv[0]));
  for (const c of ["validate", "reach", "explain", "diff", "test", "convert"]) expect(commands).toContain(c);
  expect(SAMPLES.map((s) => s.where)).toEqual(expect.arrayContaining([expect.stringMatching(/^examples\/models\/calico-web-app\.yaml:/)]));
});

it.each(SAMPLES.map((s) => [`${s.where}: netpol ${s.argv.join(" ")}`, s] as const))("%s", async (_title, sample) => {
  let printed = "";
  const io = (t: string) => { printed += `${t}\n`; };
  const code = await main(sample.argv, { out: io, err: io, write: (t) => { printed += t; }, env: {}, cwd: ROOT });
  expect(code).not.toBe(2);
  expect(normalise(printed)).toBe(normalise(sample.expected));
});

it("every other block that starts with a command is listed as unmarked, with its reason", () => {
  const found = docs().flatMap((file) => unmarkedIn(file).map((command) => ({ file, command })));
  const listed = (f: { file: string; command: string }) => UNMARKED.some((u) => u.file === f.file && f.command.startsWith(u.command));
  expect(found.filter((f) => !listed(f))).toEqual([]);
  expect(UNMARKED.filter((u) => !found.some((f) => f.file === u.file && f.command.startsWith(u.command)))).toEqual([]);
  for (const u of UNMARKED) expect(u.reason).not.toBe("");
});
