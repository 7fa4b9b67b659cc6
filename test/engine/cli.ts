/**
 * `npm run engine -- <preview|up|refresh|destroy> DIR [--stack NAME] [--state FILE]
 *                    [--config key=value …] [--secret key=value …] [--json] [--host-driver MODULE]`
 *
 * Runs a Pulumi program through the harness (see deploy.ts). Config keys without a namespace get
 * the project's (`key` → `<project>:key`), like `pulumi config set`. Exit code 1 on errors.
 */
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

const USAGE = "usage: npm run engine -- <preview|up|refresh|destroy> DIR [--stack NAME] [--state FILE] [--config key=value ...] [--secret key=value ...] [--json] [--host-driver MODULE]";

export function parseArgs(argv: readonly string[]): CliArgs {
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
    else if (flag === "--config" || flag === "--secret") {
      const pair = value();
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`${flag} ${pair}: expected key=value`);
      const k = pair.slice(0, eq).includes(":") ? pair.slice(0, eq) : `${project}:${pair.slice(0, eq)}`;
      args.config[k] = pair.slice(eq + 1);
      if (flag === "--secret") args.secretKeys.push(k);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return args;
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const result = await deploy({ ...args });
  process.stdout.write(args.json ? `${JSON.stringify(mask(result as unknown as Json), null, 2)}\n` : `${formatResult(result)}\n`);
  return result.errors.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
