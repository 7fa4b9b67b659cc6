/**
 * Runs a Pulumi program in this process under a resource monitor of the harness: the SDK's mock
 * monitor with `registerResource` replaced, so each registration (inputs with secrets and unknowns
 * exactly as the SDK serialized them) goes to the harness's deployment and its outputs come back.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { PropertyMap } from "./values";

export interface ProjectFile {
  name: string;
  runtime: string;
  main?: string;
  description?: string;
}

/** A resource registration as the monitor received it. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** Inputs with secret wrappers and unknown sentinels. */
  inputs: PropertyMap;
  dependencies: string[];
}

export interface RegistrationResult {
  id: string;
  /** Outputs with secret wrappers; keys left out are unknown during preview. */
  outputs: PropertyMap;
}

export interface ProgramRun {
  /** Stack outputs (secret-wrapped). */
  outputs: PropertyMap;
}

export function readProject(dir: string): ProjectFile {
  const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`${dir}: no Pulumi.yaml; a program directory needs one (name, runtime: nodejs)`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as Partial<ProjectFile> | null;
  if (!doc || typeof doc.name !== "string") throw new Error(`${file}: "name" is required`);
  const runtime = typeof doc.runtime === "string" ? doc.runtime : (doc.runtime as { name?: string } | undefined)?.name;
  if (runtime !== "nodejs") throw new Error(`${file}: runtime "${String(runtime)}" is not supported by the harness (nodejs only)`);
  return { name: doc.name, runtime, ...(typeof doc.main === "string" ? { main: doc.main } : {}) };
}

type PulumiModule = typeof import("@pulumi/pulumi");
type SettingsModule = typeof import("@pulumi/pulumi/runtime/settings");
type MocksModule = typeof import("@pulumi/pulumi/runtime/mocks");
type Callback<T> = (err: Error | null, res?: T) => void;

const STACK_TYPE = "pulumi:pulumi:Stack";

function urnOf(stack: string, project: string, parent: string, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentType = (parent.split("::")[2] ?? "").split("$").pop() ?? "";
    if (parentType !== STACK_TYPE) qualified = `${parent.split("::")[2]}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

export interface RunProgramOptions {
  dir: string;
  project: ProjectFile;
  stack: string;
  preview: boolean;
  config: Record<string, string>;
  secretKeys: string[];
  register: (reg: Registration) => Promise<RegistrationResult>;
}

/**
 * The Pulumi SDK modules the program in `dir` uses (its own copy when it has one). Loading them
 * takes a second or more; deploy() does it while the provider server starts.
 */
export function loadPulumiSdk(dir: string) {
  const resolve = (m: string) => require.resolve(m, { paths: [dir, __dirname] });
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    pulumi: require(resolve("@pulumi/pulumi")) as PulumiModule,
    settings: require(resolve("@pulumi/pulumi/runtime/settings")) as SettingsModule,
    mocks: require(resolve("@pulumi/pulumi/runtime/mocks")) as MocksModule,
    stackMod: require(resolve("@pulumi/pulumi/runtime/stack")) as typeof import("@pulumi/pulumi/runtime/stack"),
  };
}

/** Loads and runs the program; resolves when it and every registration it started have finished. */
export async function runProgram(o: RunProgramOptions): Promise<ProgramRun> {
  const dir = path.resolve(o.dir);
  const { pulumi, settings, mocks, stackMod } = loadPulumiSdk(dir);

  process.env.PULUMI_PROJECT = o.project.name;
  process.env.PULUMI_STACK = o.stack;
  pulumi.runtime.setAllConfig(o.config, o.secretKeys);

  const pending = new Set<Promise<unknown>>();
  let stackOutputs: PropertyMap = {};
  const { project, stack, register } = o;

  class HarnessMonitor extends mocks.MockMonitor {
    override async registerResource(req: resproto.RegisterResourceRequest, callback: Callback<resproto.RegisterResourceResponse>): Promise<void> {
      const work = (async () => {
        const type = req.getType();
        const name = req.getName();
        const urn = urnOf(stack, project.name, req.getParent(), type, name);
        const inputs = (req.getObject()?.toJavaScript() ?? {}) as PropertyMap;
        const result = type === STACK_TYPE
          ? { id: "", outputs: {} }
          : await register({ urn, type, name, custom: req.getCustom(), inputs, dependencies: req.getDependenciesList() });
        const { RegisterResourceResponse } = await import("@pulumi/pulumi/proto/resource_pb");
        const resp = new RegisterResourceResponse();
        resp.setUrn(urn);
        resp.setId(result.id);
        resp.setObject(Struct.fromJavaScript(result.outputs));
        return resp;
      })();
      pending.add(work);
      try {
        callback(null, await work);
      } catch (e) {
        callback(e instanceof Error ? e : new Error(String(e)));
      } finally {
        pending.delete(work);
      }
    }

    override registerResourceOutputs(req: resproto.RegisterResourceOutputsRequest, callback: Callback<object>): void {
      if (req.getUrn().split("::")[2] === STACK_TYPE) stackOutputs = (req.getOutputs()?.toJavaScript() ?? {}) as PropertyMap;
      callback(null, {});
    }
  }

  await pulumi.runtime.setMocks({ newResource: () => ({ id: "", state: {} }), call: () => ({}) }, project.name, stack, o.preview);
  settings.setMockOptions(new HarnessMonitor({ newResource: () => ({ id: "", state: {} }), call: () => ({}) }), project.name, stack, o.preview);

  // Like the language host: a failed registration rejects promises nobody handles; keep them as
  // program errors instead of letting Node end the process.
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => { unhandled.push(e); };
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);

  const main = path.resolve(dir, o.project.main ?? ".");
  const previousCwd = process.cwd();
  process.chdir(dir);
  let programError: unknown;
  try {
    await stackMod.runInPulumiStack(async () => {
      const mod = require(main) as { default?: unknown } | (() => unknown);
      const entry = typeof mod === "function" ? mod : typeof mod.default === "function" ? (mod.default as () => unknown) : undefined;
      return entry ? await entry() : mod;
    });
  } catch (e) {
    programError = e;
  } finally {
    process.chdir(previousCwd);
  }
  // Registrations still in flight (e.g. resources whose outputs nobody awaited).
  await settings.disconnect().catch(() => undefined);
  while (pending.size > 0) await Promise.allSettled([...pending]);
  await new Promise((r) => setImmediate(r));
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  if (programError !== undefined) throw programError;
  if (unhandled.length > 0) throw unhandled[0];
  return { outputs: stackOutputs };
}
