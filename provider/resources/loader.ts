/**
 * Loads the project's own modules from inside a dynamic provider. A provider is turned into source
 * text by Pulumi's closure serializer and re-loaded by the dynamic provider server, where relative
 * imports mean nothing; so providers load by absolute path (captured here as a plain string) at call
 * time. In a built package those are `.js` files; in-tree (TypeScript sources, as the examples run)
 * ts-node is registered on first use.
 */
import * as path from "path";

/** `provider/` of this installation; a string, so it serializes as a literal. */
const PROVIDER_ROOT: string = path.resolve(__dirname, "..");

/** `loadModule<typeof import("../render")>("render")`: the module at `provider/<relative>`. */
export function loadModule<T>(relative: string): T {
  const load: (id: string) => unknown = require;
  const { existsSync } = load("fs") as typeof import("fs");
  const { join } = load("path") as typeof import("path");
  const base = join(PROVIDER_ROOT, relative);
  const js = [`${base}.js`, join(base, "index.js")].find((f) => existsSync(f));
  if (js) return load(js) as T;
  const extensions = (load("module") as { _extensions?: Record<string, unknown> })._extensions ?? {};
  if (!(".ts" in extensions)) {
    const tsNode = load(require.resolve("ts-node", { paths: [PROVIDER_ROOT] })) as typeof import("ts-node");
    tsNode.register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
  }
  return load(base) as T;
}
