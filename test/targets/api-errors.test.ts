import { ApiError, ClientInputError } from '../../provider/targets/api-errors';

describe('error classes', () => {
  it('ClientInputError prefixes where', () => {
    const error = new ClientInputError('is missing', 'kubeconfig /k, cluster "c"');
    expect(error.message).toBe('kubeconfig /k, cluster "c": is missing');
    expect(error.name).toBe('ClientInputError');
  });
  it('ApiError keeps its details', () => {
    const error = new ApiError('boom', { status: 409, reason: 'Conflict', attempts: 2 });
    expect([error.name, error.status, error.reason, error.causes, error.attempts]).toEqual(['ApiError', 409, 'Conflict', [], 2]);
  });
});
