import { stringify } from 'yaml';
import { ClientInputError } from '../../../provider/targets/api-errors';
import { KubeconfigDocument, mergeDocuments } from '../../../provider/targets/kube/kubeconfig-merge';

const doc = (source: string, body: unknown, baseDir = `/dir/${source}`): KubeconfigDocument => ({ text: typeof body === 'string' ? body : stringify(body), baseDir, source });

describe('mergeDocuments', () => {
  it('the first document to define a name wins, with its own directory; so does the first current-context', () => {
    const merged = mergeDocuments([
      doc('a', { contexts: [{ name: 'dev', context: { cluster: 'c1', user: 'u1' } }] }),
      doc('b', {
        'current-context': 'prod',
        clusters: [{ name: 'c1', cluster: { server: 'https://b' } }],
        contexts: [{ name: 'dev', context: { cluster: 'c2' } }, { name: 'prod', context: { cluster: 'c1' } }],
      }),
      doc('c', { 'current-context': 'dev', clusters: [{ name: 'c1', cluster: { server: 'https://c' } }] }),
    ]);
    expect(merged.sources).toEqual(['a', 'b', 'c']);
    expect(merged.currentContext).toBe('prod');
    expect(merged.contexts.get('dev')).toEqual({ body: { cluster: 'c1', user: 'u1' }, baseDir: '/dir/a', source: 'a' });
    expect(merged.contexts.get('prod')?.source).toBe('b');
    expect(merged.clusters.get('c1')).toEqual({ body: { server: 'https://b' }, baseDir: '/dir/b', source: 'b' });
    expect(merged.users.size).toBe(0);
  });

  it('an empty document adds nothing, and an entry without body is an empty one', () => {
    const merged = mergeDocuments([doc('empty', ''), doc('json', '{"users": [{"name": "anon"}]}')]);
    expect(merged.currentContext).toBeUndefined();
    expect(merged.users.get('anon')?.body).toEqual({});
  });

  it.each([
    { name: 'text that is not YAML', text: 'clusters: [\n  - {', message: /^bad: is not valid YAML/ },
    { name: 'a field of the wrong type, by its path', text: stringify({ users: [{ name: 'u', user: { token: 42 } }] }), message: /^bad: users\.0\.user\.token: Expected string, received number$/ },
    { name: 'an entry without name', text: stringify({ contexts: [{ context: {} }] }), message: /^bad: contexts\.0\.name: Required$/ },
  ])('rejects $name, naming the document', ({ text, message }) => {
    const merge = () => mergeDocuments([doc('bad', text)]);
    expect(merge).toThrow(ClientInputError);
    expect(merge).toThrow(message);
  });
});
