/**
 * Running an example program through the engine harness against the namespace lab: a lab built
 * from the example's model file (its hosts and endpoints, listeners on the ports that matter), the
 * stack config that points the program at it (hosts with pinned host keys, the private key as a
 * secret, `placement` with the lab's addresses), the analyzer's matrix for a model document on
 * those addresses, and the tables of ours left on the hosts. Needs root and the lab tools.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { matrix } from "../../provider/analyze/matrix";
import { parseProbe } from "../../provider/analyze/probe";
import { compile } from "../../provider/compile";
import { ModelInput, parseModel } from "../../provider/model/model";
import { Lab, Matrix, requireLabPrerequisites } from "../lab/lab";
import { runEngine } from "./run-engine";

export const ROOT = path.resolve(__dirname, "..", "..");

/** A model file of examples/models, as a plain document. */
export function readModel(file: string): ModelInput {
  return parse(fs.readFileSync(path.join(ROOT, "examples", "models", file), "utf8")) as ModelInput;
}

/** The document with every endpoint on the lab's address (IPv4 only: the labs are built without IPv6). */
export function onLab(doc: ModelInput, lab: Lab): ModelInput {
  return { ...doc, endpoints: (doc.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })) };
}

/** The analyzer's reachability matrix of a document, keyed like `Lab.measureMatrix`. */
export function expectedMatrix(doc: ModelInput, probes: readonly string[]): Matrix {
  const parsed = probes.map((p) => {
    const probe = parseProbe(p);
    if (typeof probe === "string") throw new Error(`bad probe ${p}: ${probe}`);
    return probe;
  });
  const report = matrix(compile(parseModel(doc)), parsed);
  return Object.fromEntries(report.probes.map((p, i) => [probes[i], p.matrix]));
}

/** How many cells of a matrix are allowed and denied, so a test can insist both occur. */
export function verdictCounts(m: Matrix): { allowed: number; denied: number } {
  let allowed = 0;
  let denied = 0;
  for (const rows of Object.values(m)) for (const row of Object.values(rows)) for (const v of Object.values(row)) v ? allowed++ : denied++;
  return { allowed, denied };
}

export interface ExampleLabOptions {
  /** The example program's directory, relative to the repository root. */
  example: string;
  /** The model whose hosts and endpoints the lab is made of. */
  model: ModelInput;
  /** Ports every endpoint listens on (TCP accepts, UDP echoes). */
  listen: { tcp?: number[]; udp?: number[] };
}

/** A lab of the model's hosts and endpoints, every endpoint listening on `listen` (IPv4 only). */
export async function labForModel(model: ModelInput, listen: { tcp?: number[]; udp?: number[] }): Promise<Lab> {
  await requireLabPrerequisites();
  return Lab.create({
    hosts: (model.hosts ?? []).map((h) => ({ name: h.name })),
    endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? "", listen })),
    ipv6: false,
  });
}

/**
 * The stack config that points an example program at the lab: `hosts` (pinned host keys) and
 * `privateKey` as secrets, `placement` (the lab's addresses) as plain config.
 */
export function labStackConfig(lab: Lab, model: ModelInput): { secrets: Record<string, string>; plain: Record<string, string> } {
  const hostNames = (model.hosts ?? []).map((h) => h.name);
  const hosts = hostNames.map((name) => {
    const s = lab.hostSsh(name);
    return { name, ssh: { host: s.host, port: s.port, user: s.user, hostKey: s.hostKey } };
  });
  const placement = Object.fromEntries((model.endpoints ?? []).map((e) => [e.name, { ips: [lab.endpoint(e.name).ipv4] }]));
  return {
    secrets: { hosts: JSON.stringify(hosts), privateKey: lab.hostSsh(hostNames[0]).privateKey },
    plain: { placement: JSON.stringify(placement) },
  };
}

/** The harness flags for stack config: `--secret k=v …` then `--config k=v …`. */
export function configFlags(config: { secrets: Record<string, string>; plain: Record<string, string> }): string[] {
  return [
    ...Object.entries(config.secrets).flatMap(([k, v]) => ["--secret", `${k}=${v}`]),
    ...Object.entries(config.plain).flatMap(([k, v]) => ["--config", `${k}=${v}`]),
  ];
}

/** A lab built for one example, with the harness pointed at it. */
export class ExampleLab {
  /** Milliseconds per engine run, by label. */
  readonly timings: Record<string, number> = {};

  private constructor(
    readonly lab: Lab,
    readonly program: string,
    readonly hostNames: string[],
    private readonly dir: string,
    /** `--secret hosts=… --secret privateKey=… --config placement=…` */
    readonly config: string[],
  ) {}

  static async create(options: ExampleLabOptions): Promise<ExampleLab> {
    const hostNames = (options.model.hosts ?? []).map((h) => h.name);
    const lab = await labForModel(options.model, options.listen);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-engine-lab-"));
    const config = configFlags(labStackConfig(lab, options.model));
    return new ExampleLab(lab, path.join(ROOT, options.example), hostNames, dir, config);
  }

  /** One harness run (`preview`, `up`, `refresh`, `destroy` and extra flags); throws with the output unless it succeeds. */
  async engine(label: string, args: string[]): Promise<string> {
    const [op, ...flags] = args;
    const r = await runEngine([op, this.program, "--state", path.join(this.dir, "state.json"), ...this.config, ...flags], {}, 180_000);
    this.timings[label] = r.ms;
    if (r.code !== 0) throw new Error(`${label} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** The harness state file's text (to check that no secret is stored in plain text). */
  stateText(): string {
    return fs.readFileSync(path.join(this.dir, "state.json"), "utf8");
  }

  /** `nft list tables` lines naming a netpol table, on every host of the lab. */
  async ourTables(): Promise<string[]> {
    const lines: string[] = [];
    for (const h of this.hostNames) {
      const out = (await this.lab.exec(h, ["nft", "list", "tables"])).stdout;
      lines.push(...out.split("\n").filter((l) => l.includes("netpol_")).map((l) => `${h}: ${l.trim()}`));
    }
    return lines;
  }

  /** The private key's body line, which must never appear in any output. */
  get keyMaterial(): string {
    return this.lab.hostSsh(this.hostNames[0]).privateKey.split("\n")[1];
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
