/**
 * The model's `rancher:` target for the CLI: the Rancher network that gets the model's `network`
 * (defaultPolicyAction and policy), with the API key pair read from the environment variables the
 * model names (at call time; never from the file). Errors are InputErrors naming the model file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DeployInput } from "../deploy/registry";
import { InputError, InputIssue } from "../model/errors";
import { Model } from "../model/model";

export function rancherSettings(model: Model, file: string, cwd: string, env: Record<string, string | undefined>): NonNullable<DeployInput["rancher"]> {
  const r = model.rancher;
  if (r === undefined) throw new Error("the model has no rancher target");
  const issues: InputIssue[] = [];
  const secret = (field: "accessKeyEnv" | "secretKeyEnv") => {
    const value = env[r[field]];
    if (value === undefined || value === "") issues.push({ path: `rancher.${field}`, message: `environment variable ${r[field]} is not set` });
    return value ?? "";
  };
  const accessKey = secret("accessKeyEnv");
  const secretKey = secret("secretKeyEnv");
  let caPem: string | undefined;
  if (r.caPath !== undefined) {
    const ca = path.resolve(path.dirname(path.resolve(cwd, file)), r.caPath);
    try {
      caPem = fs.readFileSync(ca, "utf8");
    } catch {
      issues.push({ path: "rancher.caPath", message: `cannot read ${ca}` });
    }
  }
  if (issues.length > 0) throw new InputError(file, issues);
  return {
    target: { url: r.url, project: r.project, network: r.network, accessKey, secretKey, ...(caPem !== undefined ? { caPem } : {}), ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}), ...(r.insecureAllowHttp === true ? { insecureAllowHttp: true } : {}) },
    // Rancher's own default is allow with no rules.
    desired: { defaultPolicyAction: model.network?.defaultPolicyAction ?? "allow", policy: model.network?.policy ?? [] },
  };
}
