/**
 * Test-only PKI: a throw-away CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate, generated with the `openssl` CLI into a fresh temp directory at test start.
 * Nothing here is used outside tests; the keys are deleted by `removeTestPki`.
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/** Files and PEM texts of the generated PKI. */
export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Client certificate with subject CN = `clientName`, signed by the CA. */
  clientName: string;
  clientCertFile: string;
  clientKeyFile: string;
  clientCertPem: string;
  clientKeyPem: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function newKey(dir: string, file: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', file]);
}

async function signedCert(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await newKey(dir, `${name}.key`);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  await fs.writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
}

/** Generates CA, server and client certificates (a few hundred ms with EC keys). */
export async function createTestPki(clientName = 'alice'): Promise<TestPki> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'netpol-pki-'));
  await newKey(dir, 'ca.key');
  await openssl(dir, [
    'req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=netpol-test-ca', '-days', '2', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt',
  ]);
  await signedCert(dir, 'server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await signedCert(dir, 'client', `/O=netpol-testers/CN=${clientName}`, 'extendedKeyUsage=clientAuth\n');
  const read = (file: string) => fs.readFile(path.join(dir, file), 'utf8');
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    caPem: await read('ca.crt'),
    serverCertPem: await read('server.crt'),
    serverKeyPem: await read('server.key'),
    clientName,
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
    clientCertPem: await read('client.crt'),
    clientKeyPem: await read('client.key'),
  };
}

/** Deletes the PKI directory. */
export async function removeTestPki(pki: TestPki): Promise<void> {
  await fs.rm(pki.dir, { recursive: true, force: true });
}
