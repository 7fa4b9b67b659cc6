/**
 * The SDK's real dynamic provider server (`@pulumi/pulumi/cmd/dynamic-provider`), started as its
 * own process group with the program directory as working directory, and a gRPC client for it.
 */
import { ChildProcess, spawn } from "child_process";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/provider_pb";
import { Status } from "@pulumi/pulumi/proto/status_pb";
import * as path from "path";
import { PropertyMap } from "./values";

const TS_REGISTER = path.resolve(__dirname, "..", "support", "ts-register.js");

export interface ResourceRef {
  urn: string;
  type: string;
  name: string;
}

export interface CheckResult {
  inputs: PropertyMap;
  failures: { property: string; reason: string }[];
}

export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface ReadResult {
  id: string;
  properties: PropertyMap;
  inputs?: PropertyMap;
}

/**
 * A Create/Update that failed after the resource came into being (`ErrorResourceInitFailed`): the
 * engine records its id and properties, so a later update or destroy can deal with it.
 */
export class InitFailedError extends Error {
  constructor(message: string, readonly id: string, readonly properties: PropertyMap) {
    super(message);
  }
}

function initFailure(err: grpc.ServiceError): InitFailedError | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!raw || typeof raw === "string") return undefined;
  for (const any of Status.deserializeBinary(raw).getDetailsList()) {
    if (!any.getTypeUrl().endsWith("pulumirpc.ErrorResourceInitFailed")) continue;
    const detail = pb.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
    return new InitFailedError(err.details || err.message, detail.getId(), plain(detail.getProperties()));
  }
  return undefined;
}

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

function struct(m: PropertyMap): Struct {
  return Struct.fromJavaScript(m);
}

function plain(s: Struct | undefined): PropertyMap {
  return (s?.toJavaScript() ?? {}) as PropertyMap;
}

export class ProviderServer {
  private constructor(private readonly child: ChildProcess, private readonly client: ResourceProviderClient, readonly log: string[]) {}

  /**
   * Starts the server in `cwd` and connects; `env` adds to the environment of the server.
   *
   * The server preloads test/support/ts-register.js, so the in-tree provider's .ts modules come
   * from the transpile cache the harness itself uses. Without it the provider's loader registers
   * ts-node in every server process and transpiles the same ~100 files again: about 4-5 s of CPU
   * in the first Check, Read or Delete of every engine operation. The loader's own ts-node path
   * (a server with nothing preloaded) is what test/resources/serialize.test.ts runs.
   */
  static async start(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<ProviderServer> {
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [cwd, __dirname] });
    const child = spawn(process.execPath, ["-r", TS_REGISTER, entry, "127.0.0.1:0"], {
      cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env },
    });
    const log: string[] = [];
    child.stderr?.setEncoding("utf8").on("data", (d: string) => log.push(d));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`dynamic provider server did not print its port within 30 s: ${log.join("")}`)), 30_000);
      child.stdout?.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`dynamic provider server exited with ${code}: ${log.join("")}`)); });
    });
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.max_send_message_length": 256 * 1024 * 1024,
    });
    return new ProviderServer(child, client, log);
  }

  private call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      method(req, (err, res) => (err ? reject(initFailure(err) ?? new Error(err.details || err.message)) : resolve(res)));
    });
  }

  async configure(config: Record<string, string>): Promise<void> {
    const req = new pb.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(config));
    const vars = req.getVariablesMap();
    for (const [k, v] of Object.entries(config)) vars.set(k, v);
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    await this.call<pb.ConfigureRequest, pb.ConfigureResponse>((q, cb) => this.client.configure(q, cb), req);
  }

  async check(r: ResourceRef, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const req = new pb.CheckRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type);
    req.setOlds(struct(olds)); req.setNews(struct(news));
    const res = await this.call<pb.CheckRequest, pb.CheckResponse>((q, cb) => this.client.check(q, cb), req);
    return {
      inputs: plain(res.getInputs()),
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(r: ResourceRef, id: string, oldOutputs: PropertyMap, oldInputs: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    const req = new pb.DiffRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type); req.setId(id);
    req.setOlds(struct(oldOutputs)); req.setOldInputs(struct(oldInputs)); req.setNews(struct(news));
    const res = await this.call<pb.DiffRequest, pb.DiffResponse>((q, cb) => this.client.diff(q, cb), req);
    const C = pb.DiffResponse.DiffChanges;
    const c = res.getChanges();
    return {
      changes: c === C.DIFF_SOME ? "some" : c === C.DIFF_NONE ? "none" : "unknown",
      replaces: res.getReplacesList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
    };
  }

  async create(r: ResourceRef, news: PropertyMap): Promise<{ id: string; properties: PropertyMap }> {
    const req = new pb.CreateRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type);
    req.setProperties(struct(news));
    const res = await this.call<pb.CreateRequest, pb.CreateResponse>((q, cb) => this.client.create(q, cb), req);
    return { id: res.getId(), properties: plain(res.getProperties()) };
  }

  async update(r: ResourceRef, id: string, oldOutputs: PropertyMap, oldInputs: PropertyMap, news: PropertyMap): Promise<PropertyMap> {
    const req = new pb.UpdateRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type); req.setId(id);
    req.setOlds(struct(oldOutputs)); req.setOldInputs(struct(oldInputs)); req.setNews(struct(news));
    const res = await this.call<pb.UpdateRequest, pb.UpdateResponse>((q, cb) => this.client.update(q, cb), req);
    return plain(res.getProperties());
  }

  async read(r: ResourceRef, id: string, outputs: PropertyMap, inputs: PropertyMap): Promise<ReadResult> {
    const req = new pb.ReadRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type); req.setId(id);
    req.setProperties(struct(outputs)); req.setInputs(struct(inputs));
    const res = await this.call<pb.ReadRequest, pb.ReadResponse>((q, cb) => this.client.read(q, cb), req);
    const inputsBack = res.getInputs();
    return { id: res.getId(), properties: plain(res.getProperties()), ...(inputsBack ? { inputs: plain(inputsBack) } : {}) };
  }

  async delete(r: ResourceRef, id: string, outputs: PropertyMap, inputs: PropertyMap): Promise<void> {
    const req = new pb.DeleteRequest();
    req.setUrn(r.urn); req.setName(r.name); req.setType(r.type); req.setId(id);
    req.setProperties(struct(outputs)); req.setOldInputs(struct(inputs));
    await this.call<pb.DeleteRequest, unknown>((q, cb) => this.client.delete(q, cb), req);
  }

  /** Closes the channel and kills the server's whole process group. */
  async stop(): Promise<void> {
    this.client.close();
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    try { process.kill(-pid, "SIGTERM"); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ } }, 3000);
    await exited;
    clearTimeout(timer);
  }
}
