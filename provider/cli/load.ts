/** Reads a model file from disk and validates it; every failure is an InputError naming the file. */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { InputError } from "../model/errors";
import { MAX_MODEL_BYTES, Model, parseModelText } from "../model/model";
import { lineAtByte, mebibytes } from "../model/text-limits";
import { DiscoveredModel, discoverModel, discoveringHosts } from "../deploy/discovery";
import { CliIo } from "./io";
import { hostTargets } from "./ssh-settings";

/**
 * The text of a file the user names, refused when it is missing, not a regular file or larger
 * than `limit` (only the part up to the limit is read then, to say on which line it is passed).
 */
export async function readUserFile(file: string, cwd: string, limit = MAX_MODEL_BYTES): Promise<string> {
  const full = path.resolve(cwd, file);
  let stat;
  try {
    stat = await fs.stat(full);
  } catch {
    throw new InputError(file, [{ path: "", message: "cannot read the file: it does not exist or is not accessible" }]);
  }
  if (!stat.isFile()) throw new InputError(file, [{ path: "", message: "is not a regular file" }]);
  if (stat.size > limit) {
    const head = Buffer.alloc(limit);
    const handle = await fs.open(full, "r");
    try {
      await handle.read(head, 0, limit, 0);
    } finally {
      await handle.close();
    }
    const at = `over the limit of ${mebibytes(limit)} from line ${lineAtByte(head, limit)} on`;
    throw new InputError(file, [{ path: "", message: `the file is ${mebibytes(stat.size)}, ${at}; split it or generate it from a program` }]);
  }
  return fs.readFile(full, "utf8");
}

export async function loadModelFile(file: string, cwd: string): Promise<Model> {
  return parseModelText(await readUserFile(file, cwd), file);
}

/**
 * The model file with the endpoints of its `discover: docker` hosts read live (see
 * deploy/discovery.ts): what plan, apply, reach, explain and render work on. A host that cannot be
 * read fails the whole command (DiscoveryError, exit 1) before anything is written.
 */
export async function loadLiveModel(file: string, io: CliIo): Promise<DiscoveredModel> {
  const model = await loadModelFile(file, io.cwd);
  const discovering = discoveringHosts(model).map((h) => h.name);
  if (discovering.length === 0) return { model, hosts: [] };
  const connections = hostTargets(model, file, io.cwd, io.env, discovering);
  return discoverModel(model, new Map(connections.map((c) => [c.name, c.target])), file);
}
