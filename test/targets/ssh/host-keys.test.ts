/**
 * Host keys from known_hosts text and pinned fingerprints, against the lab's real sshd (its host
 * keys are the ones it presents): every matching key is pinned, `@revoked` wins, hashed entries
 * match the way ssh looks names up, a padded fingerprint is the fingerprint ssh-keygen prints.
 */
import * as crypto from 'crypto';
import { TWO_SSHD_LAB, labForSuite } from '../../lab/suite';
import { parseModel } from '../../../provider/model/model';
import { InputError } from '../../../provider/model/errors';
import { sshTarget } from '../../../provider/resources/inputs';
import { SshSettingsInput } from '../../../provider/resources/schema';
import { hostKeyPolicy, lookupKnownHosts } from '../../../provider/targets/ssh/host-keys';
import { runOnHost } from '../../../provider/targets/ssh/session';
import { labTarget, rejection } from './support';

const lab = labForSuite(TWO_SSHD_LAB);

/** h1 as a Network's ssh settings (the Pulumi door), with `knownHosts` text instead of a pin. */
function withKnownHosts(knownHosts: string): SshSettingsInput {
  const h1 = lab().hostSsh('h1');
  return { host: h1.host, port: h1.port, user: h1.user, privateKey: h1.privateKey, knownHosts, connectTimeoutMs: 3000 };
}

describe('knownHosts text (a Network host)', () => {
  test('every key listed for the host is pinned, not only the first (here another host\'s key comes first)', async () => {
    const h1 = lab().hostSsh('h1');
    const text = `${h1.host} ${lab().hostSsh('h2').hostKeyLine}\n${h1.host} ${h1.hostKeyLine}\n`;
    expect((await runOnHost(sshTarget(withKnownHosts(text)), 'echo ok')).stdout).toBe('ok\n');
  });

  test('@revoked wins over a line that lists the same key: refused at connect, nothing runs', async () => {
    const h1 = lab().hostSsh('h1');
    const text = `${h1.host} ${lab().hostSsh('h2').hostKeyLine}\n${h1.host} ${h1.hostKeyLine}\n@revoked * ${h1.hostKeyLine}\n`;
    const marker = `/tmp/netpol-revoked-${process.pid}`;
    const err = await rejection(runOnHost(sshTarget(withKnownHosts(text)), `touch ${marker}`));
    expect(err.step).toBe('host key verification');
    expect(err.message).toContain('which is revoked');
    expect((await lab().exec('h1', ['test', '-e', marker], { check: false })).code).not.toBe(0);
  });

  test('a text whose only key for the host is revoked fails before connecting, saying so', () => {
    const h1 = lab().hostSsh('h1');
    expect(() => sshTarget(withKnownHosts(`${h1.host} ${h1.hostKeyLine}\n@revoked ${h1.host} ${h1.hostKeyLine}\n`)))
      .toThrow(`knownHosts has no key that is not @revoked for ${h1.host}`);
  });

  test('a hashed entry matches the host name as ssh looks it up (lower case)', () => {
    const h1 = lab().hostSsh('h1');
    const salt = crypto.randomBytes(20);
    const mac = crypto.createHmac('sha1', salt).update('h1.lab.example').digest('base64');
    const text = `|1|${salt.toString('base64')}|${mac} ${h1.hostKeyLine}\n`;
    expect(lookupKnownHosts(text, 'H1.Lab.Example', 22).keys).toHaveLength(1);
    expect(lookupKnownHosts(text, 'h1.lab.example', 2222).keys).toHaveLength(0);
  });
});

describe('pinned fingerprints', () => {
  test('the padded 44-character form (SHA256:…=) connects like the unpadded one ssh-keygen -l prints', async () => {
    const padded = `${lab().hostSsh('h1').hostKey}=`;
    expect(padded).toMatch(/^SHA256:[A-Za-z0-9+/]{43}=$/);
    expect((await runOnHost(labTarget(lab(), 'h1', { hostKey: padded }), 'echo ok')).stdout).toBe('ok\n');
    expect(hostKeyPolicy({ hostKey: padded }, 'h1', 22).expected).toEqual([lab().hostSsh('h1').hostKey]);
  });

  test.each([
    ['44 characters without padding', `SHA256:${'A'.repeat(44)}`],
    ['43 characters that no sha256 digest encodes to (the last one carries 4 bits)', `SHA256:${'A'.repeat(42)}B`],
    ['padding twice', `SHA256:${'A'.repeat(43)}==`],
  ])('%s is rejected at validation, not at connect', (_what, hostKey) => {
    const parse = () => parseModel({ hosts: [{ name: 'h1', ssh: { host: '10.0.0.1', hostKey } }] }, 'model.yaml');
    expect(parse).toThrow(InputError);
    expect(parse).toThrow(/hosts\[0\]\.ssh\.hostKey: must be an OpenSSH fingerprint \("SHA256:" and 43 characters, as ssh-keygen -l prints it\)/);
  });
});
