/**
 * One harness operation (preview, up, refresh, destroy) the way the engine runs it: the program's
 * registrations go through Check → Diff → Create / Update / Replace on the real dynamic provider
 * server; refresh reads every resource back; destroy deletes in reverse order. State is a JSON file.
 */
import * as path from "path";
import { InitFailedError, ProviderServer, ResourceRef } from "./provider-client";
import { loadPulumiSdk, readProject, Registration, RegistrationResult, runProgram } from "./program";
import { loadState, ResourceState, saveState, StackState } from "./state";
import { annotateMap, PropertyMap, reveal, revealMap, sameValue } from "./values";

export type Operation = "preview" | "up" | "refresh" | "destroy";
export type StepOp = "create" | "update" | "replace" | "delete" | "same" | "read";

export interface Step {
  op: StepOp;
  urn: string;
  type: string;
  name: string;
  /** Old and new inputs (create/update/replace/delete), or outputs (read). Secret-wrapped. */
  before?: PropertyMap;
  after?: PropertyMap;
  /** Properties the provider said force a replacement. */
  replaces?: string[];
  error?: string;
  /** A read that found a difference (drift) or the resource gone. */
  drift?: boolean;
}

export interface DeployOptions {
  op: Operation;
  dir: string;
  stateFile: string;
  stack?: string;
  /** Namespaced config (`project:key`). */
  config?: Record<string, string>;
  secretKeys?: string[];
  /**
   * Test-only: a module exporting `hostDriver` that stands in for the SSH hosts. The harness then
   * gives every Network the provider `networkProviderWith({ hostDriverModule })` in place of the
   * one the program registered (the program's own code stays as a user writes it).
   */
  hostDriverModule?: string;
}

export interface DeployResult {
  op: Operation;
  project: string;
  stack: string;
  steps: Step[];
  errors: string[];
  outputs: PropertyMap;
  durationMs: number;
}

const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic(\/|:)/;
const PROVIDER_KEY = "__provider";
const NETWORK_TYPE = /^pulumi-nodejs:dynamic\/netpol:Network$/;

/** The serialized Network provider with a host driver of the test's (see DeployOptions.hostDriverModule). */
async function serializedNetworkProvider(hostDriverModule: string): Promise<string> {
  const { networkProviderWith } = await import("../../provider/resources/network");
  const pulumi = await import("@pulumi/pulumi");
  const provider = networkProviderWith({ hostDriverModule });
  return (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
}

function refOf(r: { urn: string; type: string; name: string }): ResourceRef {
  return { urn: r.urn, type: r.type, name: r.name };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function withoutProvider(m: PropertyMap): PropertyMap {
  const { [PROVIDER_KEY]: _drop, ...rest } = m;
  return rest;
}

export async function deploy(o: DeployOptions): Promise<DeployResult> {
  const started = Date.now();
  const dir = path.resolve(o.dir);
  const project = readProject(dir);
  const stack = o.stack ?? "dev";
  const config = o.config ?? {};
  const state = loadState(o.stateFile, project.name, stack);
  const result: DeployResult = { op: o.op, project: project.name, stack, steps: [], errors: [], outputs: state.outputs ?? {}, durationMs: 0 };
  const starting = ProviderServer.start(dir, { PULUMI_PROJECT: project.name, PULUMI_STACK: stack });
  // The server's process is spawned; the program's SDK loads here meanwhile (a failure to load
  // is reported by runProgram, which loads it again).
  if (o.op === "preview" || o.op === "up") {
    try { loadPulumiSdk(dir); } catch { /* see runProgram */ }
  }
  const server = await starting;
  try {
    await server.configure(config);
    const run = new Deployment(server, state, result, o.op === "preview", o.hostDriverModule ? await serializedNetworkProvider(o.hostDriverModule) : undefined);
    if (o.op === "preview" || o.op === "up") await run.update(() => runProgram({
      dir, project, stack, preview: o.op === "preview", config, secretKeys: o.secretKeys ?? [], register: (r) => run.register(r),
    }));
    else if (o.op === "refresh") await run.refresh();
    else await run.destroy();
    if (o.op !== "preview") saveState(o.stateFile, run.nextState());
  } finally {
    await server.stop();
    result.durationMs = Date.now() - started;
  }
  return result;
}

class Deployment {
  private readonly byUrn: Map<string, ResourceState>;
  private readonly next: ResourceState[] = [];
  private readonly seen = new Set<string>();
  private readonly replaced: ResourceState[] = [];
  /** URNs whose resource is gone (deleted, or found missing by refresh). */
  private readonly deleted = new Set<string>();
  private outputs: PropertyMap | undefined;

  constructor(private readonly server: ProviderServer, private readonly state: StackState, private readonly result: DeployResult, private readonly preview: boolean,
    private readonly networkProviderText?: string) {
    this.byUrn = new Map(state.resources.map((r) => [r.urn, r]));
  }

  /** A failed Create/Update that left a resource behind is recorded with what the provider reported. */
  private keepPartial(reg: Registration, inputs: PropertyMap, e: unknown): void {
    if (e instanceof InitFailedError && e.id !== "") {
      this.record({ urn: reg.urn, type: reg.type, name: reg.name, custom: true, id: e.id, inputs, outputs: annotateMap(e.properties, inputs), dependencies: reg.dependencies });
    }
  }

  private fail(step: Step, e: unknown): never {
    step.error = messageOf(e);
    this.result.errors.push(`${step.type} ${step.name}: ${step.error}`);
    throw new Error(step.error);
  }

  async update(program: () => Promise<{ outputs: PropertyMap }>): Promise<void> {
    try {
      this.outputs = (await program()).outputs;
      this.result.outputs = this.outputs;
    } catch (e) {
      const msg = messageOf(e);
      const known = this.result.steps.some((st) => st.error !== undefined && msg.includes(st.error));
      if (!known) this.result.errors.push(`program: ${msg}`);
    }
    if (this.result.errors.length > 0) return;
    for (const old of [...this.replaced].reverse()) await this.remove(old, "replace");
    const orphans = this.state.resources.filter((r) => !this.seen.has(r.urn)).reverse();
    for (const old of orphans) await this.remove(old, "delete");
  }

  /** Deletes a resource (an orphan, or the old half of a replacement); a failure keeps it in state. */
  private async remove(old: ResourceState, why: "delete" | "replace"): Promise<void> {
    const step: Step = { op: "delete", urn: old.urn, type: old.type, name: old.name, before: old.inputs };
    if (why === "delete") this.result.steps.push(step);
    if (this.preview || !old.custom || !DYNAMIC_TYPE.test(old.type)) return;
    try {
      await this.server.delete(refOf(old), old.id, revealMap(old.outputs), revealMap(old.inputs));
      if (why === "delete") this.deleted.add(old.urn);
    } catch (e) {
      step.error = messageOf(e);
      this.result.errors.push(`${old.type} ${old.name}: delete failed: ${step.error}`);
    }
  }

  /** One registration: Check, Diff, then Create / Update / Replace (or nothing on preview). */
  async register(given: Registration): Promise<RegistrationResult> {
    const reg = this.networkProviderText !== undefined && NETWORK_TYPE.test(given.type)
      ? { ...given, inputs: { ...given.inputs, [PROVIDER_KEY]: this.networkProviderText } } : given;
    this.seen.add(reg.urn);
    const old = this.byUrn.get(reg.urn);
    if (!reg.custom || !DYNAMIC_TYPE.test(reg.type)) {
      // Components and foreign resources: recorded, echoed back.
      this.record({ urn: reg.urn, type: reg.type, name: reg.name, custom: reg.custom, id: old?.id ?? "", inputs: reg.inputs, outputs: reg.inputs });
      return { id: reg.custom ? reg.name : "", outputs: reg.inputs };
    }
    const step: Step = { op: "same", urn: reg.urn, type: reg.type, name: reg.name, ...(old ? { before: old.inputs } : {}) };
    this.result.steps.push(step);
    const ref = refOf(reg);
    const checked = await this.server.check(ref, old ? revealMap(old.inputs) : {}, revealMap(reg.inputs)).catch((e) => this.fail(step, e));
    if (checked.failures.length > 0) {
      this.fail(step, `check failed:\n${checked.failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n")}`);
    }
    const inputs = annotateMap(checked.inputs, reg.inputs);
    step.after = inputs;

    if (!old) {
      step.op = "create";
      if (this.preview) return { id: "", outputs: inputs };
      const created = await this.server.create(ref, revealMap(inputs)).catch((e) => { this.keepPartial(reg, inputs, e); return this.fail(step, e); });
      return this.commit(reg, created.id, inputs, annotateMap(created.properties, inputs));
    }

    const diff = await this.server.diff(ref, old.id, revealMap(old.outputs), revealMap(old.inputs), revealMap(inputs)).catch((e) => this.fail(step, e));
    const changed = diff.changes === "some" || (diff.changes === "unknown" && !sameValue(reveal(old.inputs), reveal(inputs)));
    if (!changed) {
      this.record({ ...old, inputs, dependencies: reg.dependencies });
      return { id: old.id, outputs: old.outputs };
    }
    if (diff.replaces.length > 0) {
      step.op = "replace";
      step.replaces = diff.replaces;
      if (this.preview) return { id: "", outputs: inputs };
      if (diff.deleteBeforeReplace) {
        await this.server.delete(ref, old.id, revealMap(old.outputs), revealMap(old.inputs)).catch((e) => this.fail(step, e));
      } else {
        this.replaced.push(old);
      }
      const created = await this.server.create(ref, revealMap(inputs)).catch((e) => this.fail(step, e));
      return this.commit(reg, created.id, inputs, annotateMap(created.properties, inputs));
    }
    step.op = "update";
    if (this.preview) return { id: old.id, outputs: inputs };
    const outs = await this.server.update(ref, old.id, revealMap(old.outputs), revealMap(old.inputs), revealMap(inputs))
      .catch((e) => { this.record(old); this.keepPartial(reg, inputs, e); return this.fail(step, e); });
    return this.commit(reg, old.id, inputs, annotateMap(outs, inputs));
  }

  private commit(reg: Registration, id: string, inputs: PropertyMap, outputs: PropertyMap): RegistrationResult {
    this.record({ urn: reg.urn, type: reg.type, name: reg.name, custom: true, id, inputs, outputs, dependencies: reg.dependencies });
    return { id, outputs };
  }

  private record(r: ResourceState): void {
    const i = this.next.findIndex((x) => x.urn === r.urn);
    if (i >= 0) this.next[i] = r; else this.next.push(r);
  }

  /** Reads every resource back; differences are drift and go into state. */
  async refresh(): Promise<void> {
    for (const r of this.state.resources) {
      if (!r.custom || !DYNAMIC_TYPE.test(r.type)) { this.record(r); continue; }
      const step: Step = { op: "read", urn: r.urn, type: r.type, name: r.name, before: r.outputs };
      this.result.steps.push(step);
      try {
        const back = await this.server.read(refOf(r), r.id, revealMap(r.outputs), revealMap(r.inputs));
        if (back.id === "") {
          step.drift = true;
          this.deleted.add(r.urn);
          continue; // gone: dropped from state
        }
        const outputs = annotateMap(annotateMap(back.properties, r.outputs), r.inputs);
        step.after = outputs;
        step.drift = !sameValue(reveal(withoutProvider(r.outputs)), reveal(withoutProvider(outputs)));
        const inputs = back.inputs ? annotateMap(back.inputs, r.inputs) : r.inputs;
        this.record({ ...r, id: back.id, outputs, inputs });
      } catch (e) {
        step.error = messageOf(e);
        this.result.errors.push(`${r.type} ${r.name}: refresh failed: ${step.error}`);
        this.record(r);
      }
    }
  }

  /** Deletes everything, last created first. */
  async destroy(): Promise<void> {
    for (const r of [...this.state.resources].reverse()) {
      const step: Step = { op: "delete", urn: r.urn, type: r.type, name: r.name, before: r.inputs };
      if (r.custom && DYNAMIC_TYPE.test(r.type)) this.result.steps.push(step);
      else continue;
      try {
        await this.server.delete(refOf(r), r.id, revealMap(r.outputs), revealMap(r.inputs));
        this.deleted.add(r.urn);
      } catch (e) {
        step.error = messageOf(e);
        this.result.errors.push(`${r.type} ${r.name}: delete failed: ${step.error}`);
      }
    }
    for (const r of this.state.resources) if (!r.custom || !DYNAMIC_TYPE.test(r.type)) this.deleted.add(r.urn);
    this.outputs = {};
  }

  /** The new state; old resources not re-recorded and not deleted are kept (e.g. after an error). */
  nextState(): StackState {
    const kept = new Set(this.next.map((r) => r.urn));
    const resources = [...this.next, ...this.state.resources.filter((r) => !kept.has(r.urn) && !this.deleted.has(r.urn))];
    return { ...this.state, resources, outputs: this.outputs ?? this.state.outputs ?? {} };
  }
}
