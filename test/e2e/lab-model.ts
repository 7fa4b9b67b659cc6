/**
 * Puts a model file onto a namespace lab: endpoint addresses become the lab's, hosts get the lab's
 * SSH settings (client key file, pinned host key). The model's policies stay as written.
 * And holds a lab against a model file: `netpol reach` of the file beside the matrix the lab measures.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Lab, Matrix, ProbeOptions, ProbeSpec } from "../lab/lab";
import { ModelInput } from "../../provider/model/model";
import { runCli } from "../support/cli";

export const LISTEN = { tcp: [80, 443, 6379, 7890], udp: [53] };

export async function labFor(model: ModelInput): Promise<Lab> {
  return Lab.create({
    hosts: (model.hosts ?? []).map((h) => ({ name: h.name })),
    endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? "", listen: LISTEN })),
    ipv6: false,
  });
}

/** Writes the model, rewritten for the lab, to a temp folder; returns the file's path. */
export function writeLabModel(model: ModelInput, lab: Lab, backend: "nftables" | "iptables" = "nftables"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-e2e-"));
  const first = model.hosts?.[0]?.name ?? "";
  fs.writeFileSync(path.join(dir, "id_lab"), lab.hostSsh(first).privateKey, { mode: 0o600 });
  const doc: ModelInput = {
    ...model,
    hosts: (model.hosts ?? []).map((h) => {
      const ssh = lab.hostSsh(h.name);
      return { name: h.name, backend, ssh: { host: ssh.host, port: ssh.port, user: ssh.user, privateKeyPath: "./id_lab", hostKey: ssh.hostKey } };
    }),
    endpoints: (model.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })),
  };
  const file = path.join(dir, "model.yaml");
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/**
 * `netpol reach FILE --format json --probe …` as a Matrix (probe → from → to → reachable). Expects
 * exit 0 and, unless `allowStderr`, nothing on stderr.
 */
export async function reachMatrix(file: string, probes: ProbeSpec[], options: { allowStderr?: boolean } = {}): Promise<Matrix> {
  const r = await runCli(["reach", file, "--format", "json", ...probes.flatMap((p) => ["--probe", p])]);
  if (!options.allowStderr) expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out) as { probes: { probe: string; matrix: Record<string, Record<string, boolean>> }[] };
  return Object.fromEntries(doc.probes.map((p) => [p.probe, p.matrix]));
}

/**
 * The cells where a measured matrix and an expected one differ, one line each (empty: equal).
 * Expects both to name the same endpoints for every measured probe.
 */
export function cellDifferences(measured: Matrix, expected: Matrix): string[] {
  const out: string[] = [];
  for (const [probe, rows] of Object.entries(measured)) {
    expect({ probe, endpoints: Object.keys(expected[probe] ?? {}).sort() }).toEqual({ probe, endpoints: Object.keys(rows).sort() });
    for (const [from, row] of Object.entries(rows)) {
      for (const [to, cell] of Object.entries(row)) {
        const want = expected[probe]?.[from]?.[to];
        if (cell !== want) out.push(`${probe} ${from} → ${to}: measured ${cell}, expected ${want}`);
      }
    }
  }
  return out;
}

/**
 * Measures the lab's matrix for the probes (`measure`: lab.measureMatrix's options), then runs
 * `netpol reach` on the file (`reach`: reachMatrix's options); returns the cells where they differ
 * (empty: the lab does what the model says).
 */
export async function matrixDifferences(
  lab: Lab,
  file: string,
  probes: ProbeSpec[],
  options: { measure?: ProbeOptions & { concurrency?: number }; reach?: { allowStderr?: boolean } } = {},
): Promise<string[]> {
  const measured = await lab.measureMatrix(probes, options.measure);
  return cellDifferences(measured, await reachMatrix(file, probes, options.reach));
}
