/**
 * `npm run bench -- input`: hostile input refused in time. A 3 KB model of 1,500 nested `[`, a
 * model of 10,000 nested mappings, a 10 MB model file, a kubeconfig of 10,000 nested maps and a
 * 3 MB value quoted in an error, each refused (InputError / ClientInputError) within the 2 s
 * target; and what the nesting scan costs on a valid model near the 8 MiB limit.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModelFile } from "../provider/cli/load";
import { MAX_MODEL_BYTES, parseModelText } from "../provider/model/model";
import { nestingBeyond } from "../provider/model/text-limits";
import { loadKubeconfig } from "../provider/targets/kube/kubeconfig";

const TARGET_MS = 2000;
const ms = (t: number) => `${t.toFixed(0).padStart(6)} ms`;

/** How long `refuse` takes to throw; a call that does not throw is a failure of the bench. */
async function timeRefusal(refuse: () => unknown): Promise<number> {
  const started = performance.now();
  try {
    await refuse();
  } catch {
    return performance.now() - started;
  }
  throw new Error("the input was accepted");
}

export async function inputBench(): Promise<boolean> {
  console.log(`\n== input: hostile documents refused (target: each under ${TARGET_MS} ms)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-bench-input-"));
  try {
    const line = "  - { name: endpoint-with-a-long-name, ips: [10.1.2.3], labels: { tier: web } }\n";
    const bigFile = path.join(dir, "big.yaml");
    fs.writeFileSync(bigFile, `name: big\nendpoints:\n${line.repeat(Math.ceil(10_000_000 / line.length))}`);
    const cases: Array<[string, () => unknown]> = [
      ["model, 1,500 nested [ (3 KB)", () => parseModelText(`endpoints: ${"[".repeat(1500)}${"]".repeat(1500)}\n`)],
      ["model, 10,000 nested flow mappings", () => parseModelText(`namespaces: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n`)],
      ["model file, 10 MB", () => loadModelFile(bigFile, dir)],
      ["kubeconfig, 10,000 nested maps", () => loadKubeconfig({ inline: `clusters: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n` })],
      ["model, a 3 MB value in an error", () => parseModelText(JSON.stringify({ hosts: [{ name: "h", backend: "x".repeat(3_000_000) }] }))],
    ];
    let met = true;
    for (const [what, refuse] of cases) {
      const took = await timeRefusal(refuse);
      if (took > TARGET_MS) met = false;
      console.log(`  ${what.padEnd(40)} refused in ${ms(took)}${took > TARGET_MS ? "  MISSED" : ""}`);
    }
    const valid = `name: near-limit\nendpoints:\n${line.repeat(Math.floor((MAX_MODEL_BYTES - 100) / line.length))}`;
    const started = performance.now();
    const deep = nestingBeyond(valid);
    console.log(`  nesting scan of a valid ${(valid.length / 1048576).toFixed(1)} MiB model  ${ms(performance.now() - started)} (${deep === undefined ? "within the limit" : "FLAGGED"})`);
    return met && deep === undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
