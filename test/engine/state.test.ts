import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadState, saveState, StackState } from "../../test/engine/state";
import { annotateSecrets, makeSecret, reveal } from "../../test/engine/values";

describe("state file", () => {
  it("stores secrets encrypted and reads them back", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-state-"));
    const file = path.join(dir, "s.json");
    const state: StackState = {
      version: 1, project: "p", stack: "dev",
      resources: [{ urn: "u", type: "t", name: "n", custom: true, id: "i", inputs: { key: makeSecret({ pem: "PRIVATE-KEY-TEXT" }), open: "x" }, outputs: {} }],
    };
    saveState(file, state);
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain("PRIVATE-KEY-TEXT");
    expect(text).toContain('"open": "x"');
    expect(fs.statSync(`${file}.key`).mode & 0o777).toBe(0o600);
    expect(loadState(file, "p", "dev")).toEqual(state);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("annotateSecrets (the engine re-marks what was secret in the inputs)", () => {
  it.each([
    ["whole key", { a: "v", b: "w" }, { a: makeSecret("v"), b: "w" }, { a: makeSecret("v"), b: "w" }],
    ["nested", { h: [{ k: "v", n: 1 }] }, { h: [{ k: makeSecret("x"), n: 1 }] }, { h: [{ k: makeSecret("v"), n: 1 }] }],
    ["keys only in outputs stay open", { o: "x" }, { a: makeSecret("v") }, { o: "x" }],
  ])("%s", (_what, outs, ins, expected) => {
    expect(annotateSecrets(outs, ins)).toEqual(expected);
    expect(reveal(annotateSecrets(outs, ins))).toEqual(outs);
  });
});
