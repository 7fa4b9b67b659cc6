/**
 * The Kubernetes client against a real kube-apiserver (test/support/real-kube-apiserver.ts):
 * server-side apply, get, replace, delete and paged lists of every kind it writes, and the API's
 * errors surfaced with their Status details. What was sent is read from the server's audit log.
 */
import { ServerSideApplyOptions, KubeClient, KubeClientOptions, KubeObject } from '../../../provider/targets/kube/client';
import { ApiError, ClientInputError } from '../../../provider/targets/api-errors';
import { describeWithRealKube, realKubeForSuite, RealKubeconfigOptions } from '../../support/real-kube-apiserver';

const FAST: KubeClientOptions = { baseDelayMs: 5 };
const NP_REF = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default' };
const NP_PATH = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
const policy = (name: string, spec: Record<string, unknown>, namespace = 'default') => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
/** The seed's example policy, in networking.k8s.io/v1 form. */
const seedSpec = {
  podSelector: { matchLabels: { role: 'db' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { project: 'myproject' } } }, { podSelector: { matchLabels: { role: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 6379 }] }],
};

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail, it succeeded');
  return outcome;
}

describeWithRealKube('the Kubernetes client against a real API server', () => {
  const kube = realKubeForSuite({ client: FAST });

  describe('server-side apply lifecycle of a NetworkPolicy', () => {
    const name = 'test-network-policy';
    const ref = { ...NP_REF, name };
    let client: KubeClient;
    let created: KubeObject;
    beforeAll(async () => {
      client = await kube.connect();
    });

    it('creates by apply with fieldManager and force=false; the server adds the default policyTypes', async () => {
      const before = await kube.requestCount();
      created = await client.apply(policy(name, seedSpec));
      expect(created.metadata).toMatchObject({ name, namespace: 'default', generation: 1 });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(created.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'pulumi-netpolicy', operation: 'Apply' })]);
      expect(created.spec).toEqual({ ...seedSpec, policyTypes: ['Ingress'] });
      expect(await kube.requestsSince(before)).toEqual([
        expect.objectContaining({ verb: 'patch', path: `${NP_PATH}/${name}`, query: { fieldManager: 'pulumi-netpolicy', force: 'false' }, code: 201 }),
      ]);
    });

    it('reads it back', async () => {
      const read = await client.get(ref);
      expect(read?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      expect(read?.spec).toEqual(created.spec);
    });

    it('re-applying the same object changes nothing: same resourceVersion and managedFields', async () => {
      const again = await client.apply(policy(name, seedSpec));
      expect(again.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      expect(again.metadata.managedFields).toEqual(created.metadata.managedFields);
    });

    it('updates: new resourceVersion and generation, same uid, dropped fields removed', async () => {
      const updated = await client.apply(policy(name, { podSelector: seedSpec.podSelector, policyTypes: ['Ingress'] }));
      expect(updated.metadata.uid).toBe(created.metadata.uid);
      expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
      expect(updated.metadata.generation).toBe(2);
      expect(updated.spec).toEqual({ podSelector: seedSpec.podSelector, policyTypes: ['Ingress'] });
    });

    it('a field taken over by another manager makes apply fail with 409 and the API message', async () => {
      await client.apply(policy(name, { podSelector: { matchLabels: { role: 'cache' } } }), { fieldManager: 'ops-team', force: true });
      const failure = await failureOf(client.apply(policy(name, { podSelector: seedSpec.podSelector, policyTypes: ['Ingress'] })));
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure.message).toBe(
        'networking.k8s.io/v1 NetworkPolicy default/test-network-policy: 409 Conflict: Apply failed with 1 conflict: ' +
          'conflict with "ops-team": .spec.podSelector' +
          ' — another field manager owns these fields; apply with force: true to take them over',
      );
      expect((failure as ApiError).causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "ops-team"', field: '.spec.podSelector' }]);
      expect((await client.get(ref))?.spec).toMatchObject({ podSelector: { matchLabels: { role: 'cache' } } });
    });

    it('force=true takes the field back; the other manager, left with nothing, is gone', async () => {
      const before = await kube.requestCount();
      const forced: ServerSideApplyOptions = { force: true };
      const applied = await client.apply(policy(name, { podSelector: seedSpec.podSelector, policyTypes: ['Ingress'] }), forced);
      expect(applied.spec).toEqual({ podSelector: seedSpec.podSelector, policyTypes: ['Ingress'] });
      expect(applied.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'pulumi-netpolicy' })]);
      expect((await kube.requestsSince(before)).map((request) => request.query.force)).toEqual(['true']);
    });

    it('replace with a stale resourceVersion fails with 409; with the current one, or none, succeeds', async () => {
      const current = await client.get(ref);
      if (current === undefined) throw new Error('policy vanished');
      const stale = { ...current, metadata: { ...current.metadata, resourceVersion: created.metadata.resourceVersion } };
      const failure = await failureOf(client.replace(stale));
      expect(failure.message).toBe(
        'networking.k8s.io/v1 NetworkPolicy default/test-network-policy: 409 Conflict: Operation cannot be fulfilled on ' +
          'networkpolicies.networking.k8s.io "test-network-policy": the object has been modified; please apply your changes to the latest version and try again',
      );
      const replaced = await client.replace({ ...current, spec: { ...(current.spec as object), policyTypes: ['Ingress', 'Egress'] } });
      expect(replaced.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'] });
      const { resourceVersion: _stale, ...unversioned } = replaced.metadata;
      const unconditional = await client.replace({ ...replaced, metadata: unversioned, spec: { podSelector: {} } });
      expect(unconditional.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    });

    it('deletes, then a second delete is fine (404 = already gone) and get is undefined', async () => {
      const before = await kube.requestCount();
      await expect(client.delete(ref)).resolves.toBe('deleted');
      await expect(client.get(ref)).resolves.toBeUndefined();
      await expect(client.delete(ref)).resolves.toBe('absent');
      expect((await kube.requestsSince(before)).map((request) => [request.verb, request.path, request.code])).toEqual([
        ['delete', `${NP_PATH}/${name}`, 200],
        ['get', `${NP_PATH}/${name}`, 404],
        ['delete', `${NP_PATH}/${name}`, 404],
      ]);
    });
  });

  describe('API errors are surfaced with their Status details', () => {
    const cases: Array<{ name: string; object: ReturnType<typeof policy>; message: RegExp; status: number; field?: string }> = [
      {
        name: 'an invalid podSelector label value: 422 with the cause field',
        object: policy('bad-label', { podSelector: { matchLabels: { role: 'bad value!' } } }),
        status: 422,
        field: 'spec.podSelector.matchLabels',
        message: /^networking\.k8s\.io\/v1 NetworkPolicy default\/bad-label: 422 Invalid: NetworkPolicy\.extensions "bad-label" is invalid: spec\.podSelector\.matchLabels: Invalid value: "bad value!": a valid label must/,
      },
      {
        name: 'an unsupported policyType: 422 FieldValueNotSupported',
        object: policy('bad-type', { podSelector: {}, policyTypes: ['Sideways'] }),
        status: 422,
        field: 'spec.policyTypes[0]',
        message: /422 Invalid: .*spec\.policyTypes\[0\]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"$/,
      },
      {
        name: 'a namespace that does not exist: 404 from apply',
        object: policy('p', { podSelector: {} }, 'no-such-namespace'),
        status: 404,
        message: /^networking\.k8s\.io\/v1 NetworkPolicy no-such-namespace\/p: 404 NotFound: namespaces "no-such-namespace" not found$/,
      },
    ];
    it.each(cases)('$name', async ({ object, message, status, field }) => {
      const client = await kube.connect();
      const before = await kube.requestCount();
      const failure = await failureOf(client.apply(object));
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure.message).toMatch(message);
      expect((failure as ApiError).status).toBe(status);
      if (field !== undefined) expect((failure as ApiError).causes.map((cause) => cause.field)).toContain(field);
      expect((await kube.requestsSince(before)).map((request) => request.code)).toEqual([status]); // client errors are not retried
    });

    const inputCases: Array<{ name: string; object: unknown; message: RegExp }> = [
      { name: 'missing metadata.name', object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {} }, message: /networking\.k8s\.io\/v1 NetworkPolicy: needs metadata\.name/ },
      { name: 'a name that would alter the path', object: policy('../../secrets', {}), message: /name "\.\.\/\.\.\/secrets" is not a valid Kubernetes name/ },
      { name: 'a namespace that would alter the path', object: policy('p', {}, 'a/b'), message: /namespace "a\/b" is not a valid namespace name/ },
      { name: 'an unsupported kind', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, message: /unsupported kind "v1 Secret"; supported: networking\.k8s\.io\/v1 NetworkPolicy, projectcalico\.org\/v3 GlobalNetworkPolicy/ },
      { name: 'not an object', object: 'apiVersion: v1', message: /kubernetes object: must be an object/ },
    ];
    it.each(inputCases)('rejects before sending: $name', async ({ object, message }) => {
      const client = await kube.connect();
      const before = await kube.requestCount();
      const failure = await failureOf(client.apply(object));
      expect(failure).toBeInstanceOf(ClientInputError);
      expect(failure.message).toMatch(message);
      expect(await kube.requestsSince(before)).toEqual([]);
    });
  });

  describe('other kinds and list', () => {
    it.each([
      { object: { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all' }, spec: { selector: 'all()', types: ['Ingress'] } }, path: '/apis/projectcalico.org/v3/globalnetworkpolicies/deny-all' },
      { object: { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'allow-web', namespace: 'default' }, spec: { selector: "role == 'web'" } }, path: '/apis/projectcalico.org/v3/namespaces/default/networkpolicies/allow-web' },
      { object: { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'WEB' }, spec: { ingress: [{ action: 'Allow' }] } }, path: undefined },
      { object: { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'web', namespace: 'ignored' }, spec: { ingress: [{ action: 'Allow' }] } }, path: '/apis/projectcalico.org/v3/profiles/web' },
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy', annotations: { 'net.beta.kubernetes.io/network-policy': '{"ingress":{"isolation":"DefaultDeny"}}' } } }, path: '/api/v1/namespaces/legacy' },
    ])('applies, reads and deletes $object.kind $object.metadata.name', async ({ object, path }) => {
      const client = await kube.connect();
      if (path === undefined) {
        // Kubernetes names are lower case: "WEB" (the seed's profile id) is refused before sending.
        await expect(client.apply(object)).rejects.toThrow(/name "WEB" is not a valid Kubernetes name/);
        return;
      }
      const before = await kube.requestCount();
      const applied = await client.apply(object);
      expect((await kube.requestsSince(before)).map((request) => [request.verb, request.path])).toEqual([['patch', path]]);
      expect(applied.metadata.namespace).toBe(object.kind === 'NetworkPolicy' ? 'default' : undefined);
      expect(applied.spec).toEqual(object.kind === 'Namespace' ? { finalizers: ['kubernetes'] } : object.spec);
      const ref = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace: applied.metadata.namespace };
      const read = await client.get(ref);
      expect(read?.metadata.annotations).toEqual(object.metadata.annotations);
      await expect(client.delete(ref)).resolves.toBe('deleted');
      if (object.kind === 'Namespace') {
        // No namespace controller runs here to finalize it: a deleted namespace stays Terminating.
        expect((await client.get(ref))?.status).toEqual({ phase: 'Terminating' });
      } else {
        await expect(client.get(ref)).resolves.toBeUndefined();
      }
    });

    it('a namespaced object without namespace goes to the context namespace', async () => {
      const client = await kube.connect({ namespace: 'kube-system' });
      const applied = await client.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'ctx-ns' }, spec: { podSelector: {} } });
      expect(applied.metadata.namespace).toBe('kube-system');
      await client.delete({ ...NP_REF, namespace: 'kube-system', name: 'ctx-ns' });
    });

    it('lists one namespace or all, with apiVersion and kind on every item', async () => {
      const client = await kube.connect();
      await client.apply(policy('list-a', { podSelector: {} }));
      await client.apply(policy('list-b', { podSelector: {} }, 'kube-system'));
      const inDefault = await client.list({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default' });
      expect(inDefault.map((item) => [item.apiVersion, item.kind, item.metadata.name])).toEqual([['networking.k8s.io/v1', 'NetworkPolicy', 'list-a']]);
      const before = await kube.requestCount();
      const everywhere = await client.list({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' });
      expect(everywhere.map((item) => `${item.metadata.namespace}/${item.metadata.name}`)).toEqual(['default/list-a', 'kube-system/list-b']);
      expect((await kube.requestsSince(before)).map((request) => [request.verb, request.path])).toEqual([['list', '/apis/networking.k8s.io/v1/networkpolicies']]);
      const profiles = await client.list({ apiVersion: 'projectcalico.org/v3', kind: 'Profile' });
      expect(profiles).toEqual([]);
    });

    it('follows continue tokens page by page', async () => {
      const client = await kube.connect({}, { ...FAST, pageSize: 2 });
      await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } });
      const names = ['p-3', 'p-1', 'p-10', 'p-2', 'p-0'];
      for (const name of names) await client.apply(policy(name, { podSelector: {} }, 'paging'));
      const before = await kube.requestCount();
      const listed = await client.list({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'paging' });
      expect(listed.map((item) => item.metadata.name)).toEqual(['p-0', 'p-1', 'p-10', 'p-2', 'p-3']);
      const pages = await kube.requestsSince(before);
      expect(pages.map((request) => [request.verb, request.query.limit])).toEqual([['list', '2'], ['list', '2'], ['list', '2']]);
      expect(pages[0].query.continue).toBeUndefined();
      expect(pages.slice(1).map((request) => request.query.continue)).toEqual([expect.any(String), expect.any(String)]);
    });
  });

  // Last: this removes the CRDs that serve projectcalico.org/v3 on this server.
  describe('a kind whose API group the server does not serve (Calico not installed)', () => {
    const profile = { apiVersion: 'projectcalico.org/v3', kind: 'Profile', name: 'web' };
    beforeAll(async () => {
      for (const plural of ['globalnetworkpolicies', 'networkpolicies', 'profiles']) {
        const answer = await kube.server.request('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.projectcalico.org`);
        if (answer.status !== 200) throw new Error(`deleting the ${plural} CRD: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      const deadline = Date.now() + 30_000;
      while ((await kube.server.request('GET', '/apis/projectcalico.org/v3/profiles')).body !== '404 page not found\n') {
        if (Date.now() > deadline) throw new Error('projectcalico.org/v3 was still served 30 s after its CRDs were deleted');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    const notServed = (what: string) =>
      `${what}: the API server at ${kube.server.url} does not serve projectcalico.org/v3 (GET /apis/projectcalico.org/v3 answers 404 page not found): in a Calico cluster the Calico API server serves it (calico-apiserver); Calico's CRDs alone (crd.projectcalico.org/v1) are not enough`;
    it.each([
      { call: 'get', run: (client: KubeClient) => client.get(profile), what: 'projectcalico.org/v3 Profile web' },
      { call: 'delete', run: (client: KubeClient) => client.delete(profile), what: 'projectcalico.org/v3 Profile web' },
      { call: 'list', run: (client: KubeClient) => client.list({ apiVersion: 'projectcalico.org/v3', kind: 'Profile' }), what: 'projectcalico.org/v3 Profile *' },
      { call: 'apply', run: (client: KubeClient) => client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'web' } }), what: 'projectcalico.org/v3 Profile web' },
    ])('$call: the plain-text 404 is an error saying so, not an absent object', async ({ run, what }) => {
      const failure = await failureOf(run(await kube.connect()));
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure.message).toBe(notServed(what));
      expect((failure as ApiError).status).toBe(404);
    });
  });
});
