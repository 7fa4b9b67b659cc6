/** Which server a cluster target resolves to, as a digest: spellings of one URL, unknowns, kubeconfigs that do not load. */
import { createHash } from "crypto";
import { stringify } from "yaml";
import { resolvedServerDigest, serverDigest, storedServerDigest, writtenServerDigest } from "../../provider/resources/cluster-server";
import { UNKNOWN } from "../../provider/resources/inputs";

const TOKEN = "tok-cluster-server-5e1b";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A kubeconfig (no network is touched: only the server URL is resolved) with contexts `a` → server a, `b` → server b. */
function kubeconfig(a: string, b = "https://b.example:6443", token = TOKEN): string {
  return stringify({
    apiVersion: "v1", kind: "Config", "current-context": "a",
    clusters: [{ name: "ca", cluster: { server: a } }, { name: "cb", cluster: { server: b } }],
    users: [{ name: "u", user: { token } }],
    contexts: [{ name: "a", context: { cluster: "ca", user: "u" } }, { name: "b", context: { cluster: "cb", user: "u", namespace: "other" } }],
  });
}

describe("serverDigest", () => {
  it.each([
    ["https://a.example:6443", "https://a.example:6443/"],
    ["https://a.example:6443", "https://A.Example:6443"],
    ["https://a.example", "https://a.example:443"],
    ["https://rancher.example/k8s/clusters/c-1", "https://rancher.example/k8s/clusters/c-1/"],
  ])("%s and %s are one server", (one, other) => {
    expect(serverDigest(other)).toBe(sha256(one));
  });

  it.each([
    ["https://a.example:6443", "https://a.example:6444"],
    ["https://a.example:6443", "http://a.example:6443"],
    ["https://rancher.example/k8s/clusters/c-1", "https://rancher.example/k8s/clusters/c-2"],
  ])("%s and %s are two", (one, other) => {
    expect(serverDigest(one)).not.toBe(serverDigest(other));
  });
});

describe("resolvedServerDigest", () => {
  const text = kubeconfig("https://a.example:6443");
  it.each<[string, unknown, string | undefined]>([
    ["inline text, current context", { kubeconfigContent: text }, sha256("https://a.example:6443")],
    ["inline text, another context", { kubeconfigContent: text, context: "b" }, sha256("https://b.example:6443")],
    ["another token, same server", { kubeconfigContent: kubeconfig("https://a.example:6443/", undefined, "tok-rotated") }, sha256("https://a.example:6443")],
    ["force and fieldManager play no part", { kubeconfigContent: text, force: UNKNOWN, fieldManager: "x" }, sha256("https://a.example:6443")],
    ["text not known yet (preview)", { kubeconfigContent: UNKNOWN }, undefined],
    ["context not known yet (preview)", { kubeconfigContent: text, context: UNKNOWN }, undefined],
    ["the whole target not known yet", UNKNOWN, undefined],
    ["not YAML", { kubeconfigContent: "clusters: [\n  {server: " }, undefined],
    ["no such context", { kubeconfigContent: text, context: "c" }, undefined],
    ["no such file", { kubeconfig: "/nonexistent/kubeconfig" }, undefined],
    ["not a target", { kubeconfigContent: 42 }, undefined],
    ["an http:// server (refused: the token would travel in clear text)", { kubeconfigContent: kubeconfig("http://a.example:8080") }, undefined],
    ["an http:// server with insecureAllowHttp", { kubeconfigContent: kubeconfig("http://a.example:8080"), insecureAllowHttp: true }, sha256("http://a.example:8080")],
    ["10,000 nested maps (refused before parsing, no abort)", { kubeconfigContent: `clusters: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n` }, undefined],
  ])("%s", async (_what, cluster, expected) => {
    expect(await resolvedServerDigest(cluster)).toBe(expected);
  });
});

describe("the digest stored with the outputs", () => {
  it("only for a kubeconfig file: inline text is in the old outputs and resolves again", async () => {
    expect(storedServerDigest({ kubeconfigContent: "x" }, "https://a.example:6443")).toEqual({});
    expect(storedServerDigest({ kubeconfig: "/k" }, "https://a.example:6443")).toEqual({ clusterServerSha256: sha256("https://a.example:6443") });
    expect(storedServerDigest({}, "https://a.example:6443")).toEqual({ clusterServerSha256: sha256("https://a.example:6443") });
  });

  it("the server written to: the old inline text, else the stored digest", async () => {
    const text = kubeconfig("https://a.example:6443");
    expect(await writtenServerDigest({ cluster: { kubeconfigContent: text }, clusterServerSha256: "ignored" })).toBe(sha256("https://a.example:6443"));
    expect(await writtenServerDigest({ cluster: { kubeconfig: "/nonexistent/kubeconfig" }, clusterServerSha256: "d" })).toBe("d");
    expect(await writtenServerDigest({ cluster: { kubeconfig: "/nonexistent/kubeconfig" } })).toBeUndefined();
  });
});
