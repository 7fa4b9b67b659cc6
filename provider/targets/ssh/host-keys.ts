/**
 * Host key verification: a pinned `SHA256:` fingerprint, a pinned OpenSSH public key line, or an
 * OpenSSH known_hosts file (plain and hashed `|1|salt|hash` entries, `[host]:port` form, `*`/`?`
 * wildcards, `!` negation, `@revoked`).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { SHA256_FINGERPRINT } from '../../model/inventory';

export interface HostKey {
  type: string;
  blob: Buffer;
}

/** `SHA256:<base64 unpadded>` of a raw public key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Parses `ssh-ed25519 AAAA... [comment]`; returns undefined when it is not a key line. */
export function parseKeyLine(line: string): HostKey | undefined {
  const [type, data] = line.trim().split(/\s+/);
  if (!type || !data || !/^[a-z0-9@.-]+$/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(data)) return undefined;
  const blob = Buffer.from(data, 'base64');
  // The blob starts with the length-prefixed key type; a mismatch means a corrupt line.
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len <= 0 || blob.subarray(4, 4 + len).toString() !== type) return undefined;
  return { type, blob };
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    // ssh hashes the host name as it looks it up: lower case (`ssh H1.Example` finds `h1.example`).
    const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name.toLowerCase()).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

export interface KnownHostsMatch {
  keys: HostKey[];
  revoked: HostKey[];
}

/** The keys a known_hosts text lists for host:port (certificate authorities are not supported and skipped). */
export function lookupKnownHosts(text: string, host: string, port: number): KnownHostsMatch {
  const name = knownHostsName(host, port);
  const result: KnownHostsMatch = { keys: [], revoked: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0].startsWith('@')) marker = fields.shift();
    if (marker === '@revoked') {
      const key = parseKeyLine(fields.slice(1).join(' '));
      if (key) result.revoked.push(key);
      continue;
    }
    if (marker !== undefined) continue; // @cert-authority: not supported
    if (fields.length < 3 || !hostFieldMatches(fields[0], name)) continue;
    const key = parseKeyLine(fields.slice(1).join(' '));
    if (key) result.keys.push(key);
  }
  return result;
}

/** Server host key algorithms that can present a key of this type. */
export function algorithmsForKeyType(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

export interface HostKeyPolicy {
  /** Fingerprints accepted (empty with `insecure` = anything). */
  expected: string[];
  revoked: string[];
  insecure: boolean;
  /** Restrict negotiation to the algorithms of the expected keys, when their types are known. */
  algorithms?: string[];
  /** Where the expectation came from, for error messages. */
  source: string;
}

export interface HostKeySource {
  hostKey?: string;
  /** known_hosts text: every key it lists for the host is accepted, `@revoked` keys never. */
  knownHosts?: string;
  knownHostsPath?: string;
  insecureSkipHostKeyVerification?: boolean;
}

/** Works out which host keys to accept; throws a plain Error when none can be determined. */
export function hostKeyPolicy(source: HostKeySource, host: string, port: number): HostKeyPolicy {
  if (source.insecureSkipHostKeyVerification) {
    return { expected: [], revoked: [], insecure: true, source: 'insecureSkipHostKeyVerification' };
  }
  if (source.hostKey) {
    const pin = source.hostKey.trim();
    const pinned = pinnedFingerprint(pin);
    if (pinned !== undefined) return { expected: [pinned], revoked: [], insecure: false, source: 'pinned fingerprint' };
    const key = parseKeyLine(pin);
    if (!key) {
      throw new Error('hostKey is neither a "SHA256:..." fingerprint (43 base64 characters, as ssh-keygen -l prints it) nor an OpenSSH public key line ("ssh-ed25519 AAAA...")');
    }
    return {
      expected: [fingerprint(key.blob)],
      revoked: [],
      insecure: false,
      algorithms: algorithmsForKeyType(key.type),
      source: 'pinned public key',
    };
  }
  if (source.knownHosts) return knownHostsPolicy(source.knownHosts, 'knownHosts', host, port);
  if (source.knownHostsPath) {
    let text: string;
    try {
      text = fs.readFileSync(source.knownHostsPath, 'utf8');
    } catch (err) {
      throw new Error(`cannot read known_hosts file ${source.knownHostsPath}: ${(err as Error).message}`);
    }
    return knownHostsPolicy(text, `known_hosts ${source.knownHostsPath}`, host, port);
  }
  throw new Error(
    'no host key to verify against: set hostKey (a "SHA256:..." fingerprint or a public key line) or knownHostsPath; ' +
      'insecureSkipHostKeyVerification: true turns verification off (not recommended)',
  );
}

/**
 * A `SHA256:` fingerprint in the one spelling compared: 43 base64 characters, as `ssh-keygen -l`
 * prints it; the padded 44-character form (a trailing `=`, as other tools print it) is the same
 * fingerprint. Undefined when `pin` is not a fingerprint.
 */
export function pinnedFingerprint(pin: string): string | undefined {
  const match = SHA256_FINGERPRINT.exec(pin);
  return match === null ? undefined : `SHA256:${match[1]}`;
}

/** Every key a known_hosts text lists for the host is accepted, none that it revokes. */
function knownHostsPolicy(text: string, source: string, host: string, port: number): HostKeyPolicy {
  const match = lookupKnownHosts(text, host, port);
  const revoked = match.revoked.map((k) => fingerprint(k.blob));
  const keys = match.keys.filter((k) => !revoked.includes(fingerprint(k.blob)));
  if (keys.length === 0) {
    throw new Error(`${source} has no ${match.keys.length > 0 ? 'key that is not @revoked' : 'entry'} for ${knownHostsName(host, port)}`);
  }
  const types = [...new Set(keys.map((k) => k.type))];
  return { expected: keys.map((k) => fingerprint(k.blob)), revoked, insecure: false, algorithms: types.flatMap(algorithmsForKeyType), source };
}
