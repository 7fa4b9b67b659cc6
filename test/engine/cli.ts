/**
 * `npm run -s engine -- <preview|up|refresh|destroy> DIR [--stack NAME] [--state FILE]
 *                       [--config key=value …] [--secret key=value …] [--secret-file key=PATH …]
 *                       [--secret-env key=VAR …] [--json] [--host-driver MODULE]`
 *
 * Runs a Pulumi program through the harness (see deploy.ts). Config keys without a namespace get
 * the project's (`key` → `<project>:key`), like `pulumi config set`. Exit code 1 on errors.
 *
 * Secrets: `--secret-file` reads the value from a file (trailing newlines dropped, as `$(cat FILE)`
 * does) and `--secret-env` from an environment variable, so a key never sits on a command line
 * (where `ps` shows it and `npm run` without `-s` echoes it). No secret value is ever printed: a
 * malformed flag is reported without its value, and every output is scrubbed of secret values
 * (a program's error may quote a config value).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy, Operation } from "./deploy";
import { readProject } from "./program";
import { defaultStateFile } from "./state";
import { Json } from "./values";
import { formatResult, mask } from "./view";

export interface CliArgs {
  op: Operation;
  dir: string;
  stack: string;
  stateFile: string;
  config: Record<string, string>;
  secretKeys: string[];
  json: boolean;
  /** Test-only: see DeployOptions.hostDriverModule. */
  hostDriverModule?: string;
}

const USAGE = "usage: npm run -s engine -- <preview|up|refresh|destroy> DIR [--stack NAME] [--state FILE] [--config key=value ...] [--secret key=value ...] [--secret-file key=PATH ...] [--secret-env key=VAR ...] [--json] [--host-driver MODULE]";

/** `~/x` as the shell would expand it (an argument `key=~/x` is not expanded by every shell). */
function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** A secret's value from where the flag says: the argument itself, a file, or an environment variable. */
function secretValue(flag: string, key: string, source: string, env: NodeJS.ProcessEnv): string {
  if (flag === "--secret") return source;
  if (flag === "--secret-env") {
    const v = env[source];
    if (v === undefined || v === "") throw new Error(`${flag} ${key}=${source}: environment variable ${source} is not set`);
    return v;
  }
  const file = path.resolve(expandHome(source));
  try {
    return fs.readFileSync(file, "utf8").replace(/(\r?\n)+$/, "");
  } catch (e) {
    throw new Error(`${flag} ${key}=${source}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const [op, dir, ...rest] = argv;
  if (op !== "preview" && op !== "up" && op !== "refresh" && op !== "destroy") throw new Error(USAGE);
  if (!dir) throw new Error(USAGE);
  const project = readProject(path.resolve(dir)).name;
  const args: CliArgs = { op, dir, stack: "dev", stateFile: defaultStateFile(dir), config: {}, secretKeys: [], json: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--stack") args.stack = value();
    else if (flag === "--state") args.stateFile = path.resolve(value());
    else if (flag === "--json") args.json = true;
    else if (flag === "--host-driver") args.hostDriverModule = path.resolve(value());
    else if (flag === "--config" || flag === "--secret" || flag === "--secret-file" || flag === "--secret-env") {
      const pair = value();
      const eq = pair.indexOf("=");
      const secret = flag !== "--config";
      const form = flag === "--secret-file" ? "key=PATH" : flag === "--secret-env" ? "key=VAR" : "key=value";
      // The argument of a malformed --secret may be the secret itself: never repeat it.
      if (eq <= 0) throw new Error(`${flag} ${secret && flag === "--secret" ? "(value not shown)" : pair}: expected ${form}`);
      const name = pair.slice(0, eq);
      const k = name.includes(":") ? name : `${project}:${name}`;
      args.config[k] = secret ? secretValue(flag, name, pair.slice(eq + 1), env) : pair.slice(eq + 1);
      if (secret && !args.secretKeys.includes(k)) args.secretKeys.push(k);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return args;
}

/**
 * Replaces every secret value (and, for a multi-line one such as a private key, each of its longer
 * lines, raw or JSON-escaped) with `[secret]`: the last guard before anything is printed.
 */
export function scrubber(args: Pick<CliArgs, "config" | "secretKeys">): (text: string) => string {
  const pieces = new Set<string>();
  for (const k of args.secretKeys) {
    const v = args.config[k];
    if (v === undefined || v.length < 4) continue;
    for (const piece of [v, ...v.split(/\r?\n/).filter((l) => l.trim().length >= 8)]) {
      pieces.add(piece);
      pieces.add(JSON.stringify(piece).slice(1, -1));
    }
  }
  const sorted = [...pieces].sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, p) => t.split(p).join("[secret]"), text);
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const scrub = scrubber(args);
  try {
    const result = await deploy({ ...args });
    process.stdout.write(scrub(args.json ? `${JSON.stringify(mask(result as unknown as Json), null, 2)}\n` : `${formatResult(result)}\n`));
    return result.errors.length > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(scrub(`error: ${e instanceof Error ? e.message : String(e)}\n`));
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
