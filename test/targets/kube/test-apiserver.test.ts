/**
 * Checks that the test API server (test/support/kube-apiserver.ts, a stand-in for the real API
 * server) answers the way the real one does on the paths the client does not exercise itself:
 * exact Status shapes, and requests our client never sends (it validates them first).
 */
import axios from 'axios';
import * as https from 'https';
import { KubeApiServer, startKubeApiServer } from '../../support/kube-apiserver';

let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(async () => {
  await server.close();
});

const NP = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
async function raw(method: string, path: string, body?: unknown, contentType = 'application/apply-patch+yaml') {
  const response = await axios.request({
    baseURL: server.url,
    url: path,
    method,
    data: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: 'Bearer good-token', 'Content-Type': contentType },
    httpsAgent: new https.Agent({ ca: server.pki.caPem }),
    validateStatus: () => true,
  });
  return { status: response.status, body: response.data as Record<string, unknown> };
}

describe('test API server Status answers', () => {
  it('404 has the real NotFound shape', async () => {
    expect(await raw('GET', `${NP}/x`)).toEqual({
      status: 404,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'networkpolicies.networking.k8s.io "x" not found', reason: 'NotFound', details: { name: 'x', group: 'networking.k8s.io', kind: 'networkpolicies' }, code: 404 },
    });
  });

  it.each([
    { name: 'apply without fieldManager: 422', method: 'PATCH', path: `${NP}/p`, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' } }, contentType: undefined, status: 422, reason: 'Invalid' },
    { name: 'a merge patch: 415', method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: {}, contentType: 'application/merge-patch+json', status: 415, reason: 'UnsupportedMediaType' },
    { name: 'body name differs from the URL: 400', method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'q' } }, contentType: undefined, status: 400, reason: 'BadRequest' },
    { name: 'PUT of a missing object: 404', method: 'PUT', path: `${NP}/missing`, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'missing', resourceVersion: '1' } }, contentType: 'application/json', status: 404, reason: 'NotFound' },
    { name: 'an unknown path: 404', method: 'GET', path: '/apis/apps/v1/deployments', body: undefined, contentType: undefined, status: 404, reason: 'NotFound' },
  ])('$name', async ({ method, path, body, contentType, status, reason }) => {
    const answer = await raw(method, path, body, contentType);
    expect([answer.status, answer.body.kind, answer.body.reason, answer.body.code]).toEqual([status, 'Status', reason, status]);
  });

  it('apply of a body without metadata.name: 422 Invalid with a Required value cause', async () => {
    const answer = await raw('PATCH', `${NP}/nameless?fieldManager=t`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {}, spec: { podSelector: {} } });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toBe('NetworkPolicy.networking.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required');
    expect(answer.body.details).toEqual({ name: '', group: 'networking.k8s.io', kind: 'NetworkPolicy', causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] });
  });

  it('PUT without resourceVersion is 422 with the cause', async () => {
    await raw('PATCH', `${NP}/put-me?fieldManager=t`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'put-me' }, spec: { podSelector: {} } });
    const answer = await raw('PUT', `${NP}/put-me`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'put-me' }, spec: { podSelector: {} } }, 'application/json');
    expect(answer.status).toBe(422);
    expect(answer.body.details).toMatchObject({ causes: [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion' }] });
  });

  it('managedFields are reported per manager in FieldsV1 form', async () => {
    const applied = await raw('PATCH', `${NP}/owned?fieldManager=team-a`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'owned', labels: { app: 'web' } }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    expect(applied.status).toBe(201);
    const metadata = applied.body.metadata as Record<string, unknown>;
    expect(metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'team-a', operation: 'Apply', apiVersion: 'networking.k8s.io/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:podSelector': {}, 'f:policyTypes': {} } } }),
    ]);
  });
});
