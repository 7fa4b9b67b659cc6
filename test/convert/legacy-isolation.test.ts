import { KubeClient } from '../../provider/targets/kube/client';
import { defaultDenyPolicyFor, legacyIsolationAnnotation } from '../../provider/convert/legacy-isolation';
import { describeWithRealKube, startRealKubeApiServer } from '../support/real-kube-apiserver';

describe('legacy DefaultDeny isolation', () => {
  it('the annotation is exactly the seed’s', () => {
    const { key, value } = legacyIsolationAnnotation();
    expect(key).toBe('net.beta.kubernetes.io/network-policy');
    expect(JSON.parse(value)).toEqual({ ingress: { isolation: 'DefaultDeny' } });
    expect(value).toBe('{"ingress":{"isolation":"DefaultDeny"}}');
  });

  it.each(['default', 'myproject'])('the equivalent v1 policy for %s selects all pods and allows no ingress', (namespace) => {
    expect(defaultDenyPolicyFor(namespace)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-ingress', namespace },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
  });

  it('rejects a namespace that is not a namespace name', () => {
    expect(() => defaultDenyPolicyFor('My Project')).toThrow(/namespace "My Project" is not a valid namespace name/);
  });
});

describeWithRealKube('legacy DefaultDeny isolation on a real kube-apiserver', () => {
  it('the policy is stored as written (the server adds nothing), and the annotation is accepted', async () => {
    const server = await startRealKubeApiServer({ calico: false });
    try {
      const client = await KubeClient.connect({ inline: server.kubeconfig() });
      const applied = await client.apply(defaultDenyPolicyFor('default'));
      expect(applied.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
      const { key, value } = legacyIsolationAnnotation();
      const namespace = await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', annotations: { [key]: value } } });
      expect(namespace.metadata.annotations).toEqual({ [key]: value });
    } finally {
      await server.close();
    }
  });
});
