/**
 * `node -r ./test/support/ts-register.js x.ts`: what `-r ts-node/register/transpile-only` does for
 * the tests' child processes (the engine harness, a `netpol` the test can SIGKILL), with the
 * transpiled files kept on disk between processes. Every such child used to load TypeScript and
 * transpile the same ~40-110 files again (about 4 s of CPU each, dozens of children a CI run).
 *
 * Each .ts file outside node_modules is transpiled on its own (ts.transpileModule, the tsconfig's
 * compiler options, as ts-node's transpile-only mode does) and cached under the temp folder by a
 * hash of the TypeScript version, the options, the file's path and its text, so an edited file is
 * transpiled again. TypeScript itself is loaded only on a miss. Stack traces point into the .ts
 * files (inline source maps).
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const TSCONFIG = path.join(ROOT, 'tsconfig.json');

let compiler;
/** TypeScript and the tsconfig's options, read once on the first miss. */
function loadCompiler() {
  if (compiler) return compiler;
  const ts = require('typescript');
  const read = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
  if (read.error) throw new Error(`ts-register: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  const options = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT).options;
  compiler = {
    ts,
    options: { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false, declarationMap: false, noEmit: false, isolatedModules: true },
  };
  return compiler;
}

// The cache key's fixed part: what changes the output besides the file (the compiler and the tsconfig).
const typescriptVersion = JSON.parse(fs.readFileSync(require.resolve('typescript/package.json'), 'utf8')).version;
const keyBase = crypto.createHash('sha256').update(typescriptVersion).update('\0').update(fs.readFileSync(TSCONFIG)).update('\0').update(fs.readFileSync(__filename)).digest('hex').slice(0, 16);
const CACHE_DIR = path.join(os.tmpdir(), `netpol-ts-cache-${keyBase}`);

function transpiled(file, text) {
  const key = crypto.createHash('sha256').update(file).update('\0').update(text).digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  const { ts, options } = loadCompiler();
  const out = ts.transpileModule(text, { compilerOptions: options, fileName: file, reportDiagnostics: false }).outputText;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  // Written whole, then renamed: a process reading the cache never sees half a file.
  const partial = `${cached}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(partial, out);
  fs.renameSync(partial, cached);
  return out;
}

const plainJs = require.extensions['.js'];
require.extensions['.ts'] = function loadTs(module, file) {
  if (file.includes(`${path.sep}node_modules${path.sep}`)) return plainJs(module, file);
  module._compile(transpiled(file, fs.readFileSync(file, 'utf8')), file);
};
process.setSourceMapsEnabled(true);
