import { mkdtempSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { ClientInputError } from '../../../provider/targets/api-errors';
import { ClusterConnection, KubeconfigOptions, loadKubeconfig } from '../../../provider/targets/kube/kubeconfig';

// Stand-in PEM texts: the loader checks for PEM blocks, not for valid certificates.
const CA_PEM = '-----BEGIN CERTIFICATE-----\nQ0EtZmlsZQ==\n-----END CERTIFICATE-----\n';
const CA_DATA_PEM = '-----BEGIN CERTIFICATE-----\nQ0EtZGF0YQ==\n-----END CERTIFICATE-----\n';
const CERT_PEM = '-----BEGIN CERTIFICATE-----\nY2xpZW50\n-----END CERTIFICATE-----\n';
const KEY_PEM = '-----BEGIN EC PRIVATE KEY-----\nS0VZLVNFQ1JFVA==\n-----END EC PRIVATE KEY-----\n';
const SECRET_TOKEN = 'tok-SECRET-1234';
const b64 = (text: string) => Buffer.from(text).toString('base64');

type Json = Record<string, unknown>;

/** A kubeconfig with two contexts; `patch` edits it per case. */
function config(patch: (c: { clusters: Json[]; users: Json[]; contexts: Json[]; 'current-context'?: string }) => void = () => undefined): string {
  const c = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'dev',
    clusters: [
      { name: 'dev-cluster', cluster: { server: 'https://dev.example:6443/', 'certificate-authority': 'ca.crt' } },
      { name: 'prod-cluster', cluster: { server: 'https://prod.example:6443', 'certificate-authority-data': b64(CA_DATA_PEM) } },
    ],
    users: [
      { name: 'dev-user', user: { token: SECRET_TOKEN } },
      { name: 'prod-user', user: { 'client-certificate-data': b64(CERT_PEM), 'client-key-data': b64(KEY_PEM) } },
    ],
    contexts: [
      { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } },
      { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user', namespace: 'netpol' } },
    ],
  };
  patch(c);
  return stringify(c);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'netpol-kubeconfig-'));
beforeAll(async () => {
  await fs.mkdir(path.join(dir, 'home', '.kube'), { recursive: true });
  await fs.mkdir(path.join(dir, 'empty-home'));
  const files: Record<string, string> = {
    'ca.crt': CA_PEM,
    'client.crt': CERT_PEM,
    'client.key': KEY_PEM,
    'token.txt': `${SECRET_TOKEN}-from-file\n`,
    'not-pem.crt': 'hello',
    'relative.yaml': config((c) => {
      c.users[0].user = { tokenFile: 'token.txt' };
      c.users[1].user = { 'client-certificate': 'client.crt', 'client-key': 'client.key' };
    }),
    'config': config(),
    'home/.kube/config': config((c) => { c['current-context'] = 'prod'; }),
    // KUBECONFIG merging: first file sets current-context and context "dev"; second defines the rest.
    'first.yaml': stringify({ 'current-context': 'merged', contexts: [{ name: 'merged', context: { cluster: 'dev-cluster', user: 'dev-user' } }] }),
    'second.yaml': config((c) => { c['current-context'] = 'prod'; c.contexts.push({ name: 'merged', context: { cluster: 'prod-cluster', user: 'prod-user' } }); }),
  };
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const inDir = (name: string) => path.join(dir, name);
/** `config(patch)` with the CA path made absolute, for inline text (which has no directory). */
const inline = (patch: Parameters<typeof config>[0] = () => undefined) =>
  config((c) => { (c.clusters[0].cluster as Json)['certificate-authority'] = inDir('ca.crt'); patch(c); });

describe('loadKubeconfig resolves', () => {
  const cases: Array<{ name: string; options: () => KubeconfigOptions; expect: Partial<ClusterConnection> }> = [
    {
      name: 'a file path, current-context, CA file relative to the kubeconfig, token',
      options: () => ({ path: inDir('config') }),
      expect: { context: 'dev', cluster: 'dev-cluster', user: 'dev-user', namespace: 'default', server: 'https://dev.example:6443', caPem: CA_PEM, token: SECRET_TOKEN, insecureSkipTlsVerify: false },
    },
    {
      name: 'an explicit context with CA data, client certificate data and a namespace',
      options: () => ({ path: inDir('config'), context: 'prod' }),
      expect: { context: 'prod', namespace: 'netpol', server: 'https://prod.example:6443', caPem: CA_DATA_PEM, clientCertificatePem: CERT_PEM, clientKeyPem: KEY_PEM, token: undefined },
    },
    {
      name: 'inline YAML via `inline`',
      options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://inline.example' }; }) }),
      expect: { server: 'https://inline.example', caPem: undefined, source: 'inline kubeconfig' },
    },
    {
      name: 'inline text via `kubeconfig` (recognised by its line breaks)',
      options: () => ({ kubeconfig: inline((c) => { c.clusters[0].cluster = { server: 'https://auto.example' }; }) }),
      expect: { server: 'https://auto.example', source: 'inline kubeconfig' },
    },
    {
      name: 'a path via `kubeconfig`',
      options: () => ({ kubeconfig: inDir('config') }),
      expect: { server: 'https://dev.example:6443', source: `kubeconfig ${inDir('config')}` },
    },
    {
      name: 'KUBECONFIG lists: missing files skipped, first definition and first current-context win',
      options: () => ({ env: { KUBECONFIG: [inDir('nope.yaml'), inDir('first.yaml'), inDir('second.yaml')].join(path.delimiter) } }),
      expect: { context: 'merged', cluster: 'dev-cluster', user: 'dev-user', caPem: CA_PEM, token: SECRET_TOKEN },
    },
    {
      name: '~/.kube/config when KUBECONFIG is unset',
      options: () => ({ env: { HOME: inDir('home') } }),
      expect: { context: 'prod', server: 'https://prod.example:6443' },
    },
    {
      name: 'client certificate and key files, relative to the kubeconfig',
      options: () => ({ path: inDir('relative.yaml'), context: 'prod' }),
      expect: { clientCertificatePem: CERT_PEM, clientKeyPem: KEY_PEM, token: undefined },
    },
    {
      name: 'client certificate and key files given as absolute paths',
      options: () => ({ inline: inline((c) => { c.users[0].user = { 'client-certificate': inDir('client.crt'), 'client-key': inDir('client.key') }; }) }),
      expect: { clientCertificatePem: CERT_PEM, clientKeyPem: KEY_PEM, token: undefined },
    },
    {
      name: 'tokenFile relative to the kubeconfig (trimmed)',
      options: () => ({ path: inDir('relative.yaml') }),
      expect: { token: `${SECRET_TOKEN}-from-file` },
    },
    {
      name: 'token wins over tokenFile, CA data wins over CA file',
      options: () => ({ inline: inline((c) => {
        c.users[0].user = { token: 'inline-token', tokenFile: inDir('missing-token') };
        c.clusters[0].cluster = { server: 'https://x', 'certificate-authority': 'missing.crt', 'certificate-authority-data': b64(CA_DATA_PEM) };
      }) }),
      expect: { token: 'inline-token', caPem: CA_DATA_PEM },
    },
    {
      name: 'insecure-skip-tls-verify: true is honoured',
      options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'insecure-skip-tls-verify': true }; }) }),
      expect: { insecureSkipTlsVerify: true, caPem: undefined },
    },
    {
      name: 'insecure-skip-tls-verify: "true" (a string) is not honoured',
      options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'insecure-skip-tls-verify': 'true' }; }) }),
      expect: { insecureSkipTlsVerify: false },
    },
    {
      name: 'insecure-skip-tls-verify: false',
      options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'insecure-skip-tls-verify': false }; }) }),
      expect: { insecureSkipTlsVerify: false },
    },
    {
      name: 'a context without user (anonymous)',
      options: () => ({ inline: inline((c) => { c.contexts[0].context = { cluster: 'dev-cluster' }; }) }),
      expect: { user: '', token: undefined, clientCertificatePem: undefined },
    },
  ];
  it.each(cases)('$name', async ({ options, expect: expected }) => {
    const connection = await loadKubeconfig(options());
    expect(connection).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, value]) => value !== undefined)));
    for (const [key, value] of Object.entries(expected)) if (value === undefined) expect(connection[key as keyof ClusterConnection]).toBeUndefined();
  });

  it('reads KUBECONFIG from process.env at call time, not at import', async () => {
    const saved = process.env.KUBECONFIG;
    try {
      process.env.KUBECONFIG = inDir('second.yaml');
      expect((await loadKubeconfig()).context).toBe('prod');
      process.env.KUBECONFIG = inDir('config');
      expect((await loadKubeconfig()).context).toBe('dev');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('http://, proxies and tls-server-name', () => {
  it('an http:// server is accepted with insecureAllowHttp: true', async () => {
    const connection = await loadKubeconfig({ inline: inline((c) => { c.clusters[0].cluster = { server: 'http://127.0.0.1:8080' }; }), insecureAllowHttp: true });
    expect(connection.server).toBe('http://127.0.0.1:8080');
  });

  it.each([
    ['NO_PROXY names the host', { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'other.example, dev.example' }],
    ['NO_PROXY names its domain with a dot', { HTTPS_PROXY: 'http://p:3128', no_proxy: '.example' }],
    ['NO_PROXY names the host and port', { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'dev.example:6443' }],
    ['NO_PROXY is *', { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '*' }],
    ['only HTTP_PROXY, for an https server', { HTTP_PROXY: 'http://p:3128' }],
  ])('a proxy variable that does not apply: %s', async (_what, env) => {
    await expect(loadKubeconfig({ inline: inline(), env })).resolves.toMatchObject({ server: 'https://dev.example:6443' });
  });

  it.each(['https://127.0.0.1:6443', 'https://localhost:6443', 'https://[::1]:6443'])('a loopback server %s is never proxied', async (server) => {
    const connection = await loadKubeconfig({ inline: inline((c) => { (c.clusters[0].cluster as Json).server = server; }), env: { HTTPS_PROXY: 'http://p:3128' } });
    expect(connection.server).toBe(server);
  });

  it('a server in a NO_PROXY CIDR is reached directly', async () => {
    const connection = await loadKubeconfig({ inline: inline((c) => { (c.clusters[0].cluster as Json).server = 'https://10.1.2.3:6443'; }), env: { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '10.0.0.0/8' } });
    expect(connection.server).toBe('https://10.1.2.3:6443');
  });

  it('tls-server-name is carried to the connection (the transport sends and verifies it)', async () => {
    const connection = await loadKubeconfig({ inline: inline((c) => { (c.clusters[0].cluster as Json)['tls-server-name'] = 'kube.internal'; }) });
    expect(connection.tlsServerName).toBe('kube.internal');
  });
});

describe('loadKubeconfig rejects', () => {
  const cases: Array<{ name: string; options: () => KubeconfigOptions; message: RegExp }> = [
    { name: 'an unknown context, listing the available ones', options: () => ({ path: inDir('config'), context: 'staging' }), message: /context "staging" not found; available contexts: dev, prod/ },
    { name: 'no context and no current-context', options: () => ({ inline: inline((c) => { delete c['current-context']; }) }), message: /no context given and current-context is not set; available contexts: dev, prod/ },
    { name: 'a context naming a missing cluster', options: () => ({ inline: inline((c) => { c.contexts[0].context = { cluster: 'gone', user: 'dev-user' }; }) }), message: /context "dev" uses cluster "gone", which is not defined; clusters: dev-cluster, prod-cluster/ },
    { name: 'a context naming a missing user', options: () => ({ inline: inline((c) => { c.contexts[0].context = { cluster: 'dev-cluster', user: 'gone' }; }) }), message: /context "dev" uses user "gone", which is not defined; users: dev-user, prod-user/ },
    { name: 'an unreadable CA file, naming its path', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'certificate-authority': inDir('no-such-ca.crt') }; }) }), message: new RegExp(`certificate-authority: cannot read ${inDir('no-such-ca.crt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)`) },
    { name: 'a CA file that holds no PEM certificate', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'certificate-authority': inDir('not-pem.crt') }; }) }), message: /certificate-authority .*not-pem.crt: does not contain a PEM "CERTIFICATE" block/ },
    { name: 'bad base64 in certificate-authority-data', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'certificate-authority-data': 'not base64!' }; }) }), message: /cluster "dev-cluster", certificate-authority-data: is not valid base64/ },
    { name: 'bad base64 in client-key-data, without showing it', options: () => ({ inline: inline((c) => { c.users[1].user = { 'client-certificate-data': b64(CERT_PEM), 'client-key-data': 'S0VZ-SECRET-x' }; }), context: 'prod' }), message: /user "prod-user", client-key-data: is not valid base64 \(the value is not shown\)$/ },
    { name: 'base64 data that is not PEM', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'certificate-authority-data': b64('plain text') }; }) }), message: /certificate-authority-data \(decoded\): does not contain a PEM "CERTIFICATE" block/ },
    { name: 'a cluster without server', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { 'insecure-skip-tls-verify': true }; }) }), message: /cluster "dev-cluster": has no server URL/ },
    { name: 'a server that is not a URL', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'dev.example:6443' }; }) }), message: /server "dev.example:6443" must use https:\/\// },
    { name: 'a server URL with credentials', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://u:pw-SECRET@x' }; }) }), message: /server URL must not carry credentials/ },
    { name: 'insecure-skip-tls-verify with a CA', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'https://x', 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(CA_PEM) }; }) }), message: /insecure-skip-tls-verify: true cannot be combined with a certificate authority/ },
    { name: 'a client certificate without key', options: () => ({ inline: inline((c) => { c.users[0].user = { 'client-certificate': inDir('client.crt') }; }) }), message: /needs both client-certificate\(-data\) and client-key\(-data\)/ },
    { name: 'exec credentials', options: () => ({ inline: inline((c) => { c.users[0].user = { exec: { command: 'aws' } }; }) }), message: /uses exec credentials, which this target does not support/ },
    { name: 'an unreadable tokenFile', options: () => ({ inline: inline((c) => { c.users[0].user = { tokenFile: 'missing-token' }; }) }), message: /tokenFile: cannot read .*missing-token \(ENOENT\)/ },
    { name: 'a field of the wrong type', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 6443 }; }) }), message: /clusters\.0\.cluster\.server: Expected string, received number/ },
    { name: 'text that is not YAML', options: () => ({ inline: 'clusters: [\n  - {' }), message: /inline kubeconfig: is not valid YAML/ },
    { name: 'a missing file', options: () => ({ path: inDir('missing-config') }), message: /kubeconfig .*missing-config: cannot read the file \(ENOENT\)/ },
    { name: 'a KUBECONFIG whose files all are missing', options: () => ({ env: { KUBECONFIG: inDir('a.yaml') } }), message: /none of the files in KUBECONFIG exists/ },
    { name: 'no kubeconfig anywhere', options: () => ({ env: { HOME: inDir('empty-home') } }), message: /KUBECONFIG is not set and .*empty-home\/.kube\/config does not exist/ },
    { name: 'an http:// server (the token would travel in clear text)', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'http://dev.example:8080' }; }) }), message: /cluster "dev-cluster": server "http:\/\/dev.example:8080" uses http:\/\/: the credentials and every object would travel in clear text; use the server's https:\/\/ URL \(insecureAllowHttp: true accepts it, for a loopback test server only\)$/ },
    { name: 'an http:// server on loopback without the option', options: () => ({ inline: inline((c) => { c.clusters[0].cluster = { server: 'http://127.0.0.1:8080' }; }) }), message: /uses http:\/\// },
    { name: 'proxy-url (this client does not tunnel)', options: () => ({ inline: inline((c) => { (c.clusters[0].cluster as Json)['proxy-url'] = 'http://proxy.example:3128'; }) }), message: /cluster "dev-cluster": proxy-url is set, and this client does not go through a proxy; remove it to reach the server directly$/ },
    { name: 'HTTPS_PROXY for the server', options: () => ({ inline: inline(), env: { HTTPS_PROXY: 'http://proxy.example:3128' } }), message: /cluster "dev-cluster": HTTPS_PROXY is set, and this client does not go through a proxy: add dev.example to NO_PROXY to reach the server directly, or unset HTTPS_PROXY$/ },
    { name: 'https_proxy, NO_PROXY naming another domain', options: () => ({ inline: inline(), env: { https_proxy: 'http://p:3128', NO_PROXY: 'example.org,10.0.0.0/8,dev.example:6444' } }), message: /https_proxy is set/ },
    { name: 'a kubeconfig over 4 MiB', options: () => ({ inline: `# ${'x'.repeat(4 * 1024 * 1024)}\n` }), message: /inline kubeconfig: is 4.0 MiB, over the limit of 4 MiB from line 1 on/ },
    { name: '10,000 nested maps', options: () => ({ inline: `clusters: ${'{a: '.repeat(10000)}1${'}'.repeat(10000)}\n` }), message: /^inline kubeconfig: line 1, column 263: nests lists and mappings deeper than 64 levels/ },
  ];
  it.each(cases)('$name', async ({ options, message }) => {
    const error: unknown = await loadKubeconfig(options()).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ClientInputError);
    const text = (error as Error).message;
    expect(text).toMatch(message);
    for (const secret of [SECRET_TOKEN, 'S0VZ', 'KEY-SECRET', 'pw-SECRET']) expect(text).not.toContain(secret);
  });
});
