/**
 * The harness's stack state: one JSON file. Secret values are stored encrypted (AES-256-GCM) with a
 * key kept next to the state file (`<state>.key`, mode 0600), so the file itself never holds them
 * in clear. (Pulumi's own state encryption is out of scope; this keeps secrets off the disk in
 * readable form.)
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isObject, isSecret, Json, PropertyMap, reveal, SECRET_SIG, SECRET_SIG_KEY } from "./values";

export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id: string;
  /** Checked inputs, secrets wrapped. */
  inputs: PropertyMap;
  /** Outputs, secrets wrapped. */
  outputs: PropertyMap;
  /** Resources this one depends on (URNs), for delete order. */
  dependencies?: string[];
}

export interface StackState {
  version: 1;
  project: string;
  stack: string;
  /** In creation order; destroy goes in reverse. */
  resources: ResourceState[];
  /** Stack outputs of the last run (secrets wrapped). */
  outputs?: PropertyMap;
}

const CIPHER_KEY = "ciphertext";

function loadKey(file: string): Buffer {
  const keyFile = `${file}.key`;
  if (fs.existsSync(keyFile)) return Buffer.from(fs.readFileSync(keyFile, "utf8").trim(), "base64");
  const key = crypto.randomBytes(32);
  fs.mkdirSync(path.dirname(keyFile), { recursive: true });
  fs.writeFileSync(keyFile, key.toString("base64") + "\n", { mode: 0o600 });
  return key;
}

function seal(v: Json, key: Buffer): Json {
  if (isSecret(v)) {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(reveal(v.value)), "utf8"), c.final()]);
    const blob = Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
    return { [SECRET_SIG_KEY]: SECRET_SIG, [CIPHER_KEY]: blob };
  }
  if (Array.isArray(v)) return v.map((x) => seal(x, key));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, seal(x, key)]));
  return v;
}

function unseal(v: Json, key: Buffer): Json {
  if (isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG && typeof v[CIPHER_KEY] === "string") {
    const raw = Buffer.from(v[CIPHER_KEY], "base64");
    const d = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
    return { [SECRET_SIG_KEY]: SECRET_SIG, value: JSON.parse(text) as Json };
  }
  if (Array.isArray(v)) return v.map((x) => unseal(x, key));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unseal(x, key)]));
  return v;
}

export function emptyState(project: string, stack: string): StackState {
  return { version: 1, project, stack, resources: [] };
}

export function loadState(file: string, project: string, stack: string): StackState {
  if (!fs.existsSync(file)) return emptyState(project, stack);
  const key = loadKey(file);
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
  const state = unseal(doc, key) as unknown as StackState;
  if (state.version !== 1 || !Array.isArray(state.resources)) throw new Error(`${file}: not a harness state file (version 1)`);
  return state;
}

export function saveState(file: string, state: StackState): void {
  const key = loadKey(file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(seal(state as unknown as Json, key), null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function defaultStateFile(programDir: string): string {
  return path.join(process.cwd(), ".netpol-state", `${path.basename(path.resolve(programDir))}.json`);
}
