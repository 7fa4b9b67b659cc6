import { ClientInputError } from '../../../provider/targets/api-errors';
import { collectionPath, describeRef, objectPath, ObjectRef } from '../../../provider/targets/kube/api-kinds';

describe('objectPath', () => {
  it.each<[ObjectRef, string]>([
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default', name: 'test-network-policy' }, '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/test-network-policy'],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', name: 'default.deny' }, '/apis/projectcalico.org/v3/globalnetworkpolicies/default.deny'],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', namespace: 'ignored', name: 'g' }, '/apis/projectcalico.org/v3/globalnetworkpolicies/g'],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', namespace: 'prod', name: 'allow-web' }, '/apis/projectcalico.org/v3/namespaces/prod/networkpolicies/allow-web'],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'Profile', name: 'web' }, '/apis/projectcalico.org/v3/profiles/web'],
    [{ apiVersion: 'v1', kind: 'Namespace', name: 'myproject' }, '/api/v1/namespaces/myproject'],
  ])('%o → %s', (ref, path) => {
    expect(objectPath(ref)).toBe(path);
  });

  it.each<[ObjectRef, RegExp]>([
    [{ apiVersion: 'extensions/v1beta1', kind: 'NetworkPolicy', namespace: 'default', name: 'x' }, /unsupported kind "extensions\/v1beta1 NetworkPolicy"/],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: 'x' }, /NetworkPolicy is namespaced; give metadata\.namespace/],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default', name: 'x/../../y' }, /name "x\/\.\.\/\.\.\/y" is not a valid Kubernetes name/],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default', name: 'a?b=c' }, /not a valid Kubernetes name/],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'Default', name: 'x' }, /namespace "Default" is not a valid namespace name/],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'Profile', name: '' }, /name "" is not a valid Kubernetes name/],
  ])('rejects %o', (ref, message) => {
    expect(() => objectPath(ref)).toThrow(ClientInputError);
    expect(() => objectPath(ref)).toThrow(message);
  });
});

describe('collectionPath and describeRef', () => {
  it.each([
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default' }, '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies'],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }, '/apis/networking.k8s.io/v1/networkpolicies'],
    [{ apiVersion: 'v1', kind: 'Namespace' }, '/api/v1/namespaces'],
  ])('%o → %s', (ref, path) => {
    expect(collectionPath(ref)).toBe(path);
  });

  it.each([
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default', name: 'p' }, 'networking.k8s.io/v1 NetworkPolicy default/p'],
    [{ apiVersion: 'projectcalico.org/v3', kind: 'Profile', namespace: 'x', name: 'web' }, 'projectcalico.org/v3 Profile web'],
    [{ apiVersion: 'v1', kind: 'Namespace', name: 'prod' }, 'v1 Namespace prod'],
  ])('names %o as %s', (ref, text) => {
    expect(describeRef(ref)).toBe(text);
  });
});
