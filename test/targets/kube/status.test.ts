import { messageWithCauses, statusCauses } from '../../../provider/targets/kube/status';

describe('messageWithCauses', () => {
  it.each([
    { name: 'causes already in the message are not repeated', message: 'x is invalid: spec.a: Invalid value: 1', causes: [{ field: 'spec.a', message: 'Invalid value: 1' }], expected: 'x is invalid: spec.a: Invalid value: 1' },
    { name: 'a webhook denial without field paths in its message gets them appended', message: 'admission webhook "policy.example" denied the request', causes: [{ field: 'spec.ingress[0]', message: 'port 22 is not allowed' }, { field: 'spec.egress', message: 'must be empty' }], expected: 'admission webhook "policy.example" denied the request (spec.ingress[0]: port 22 is not allowed; spec.egress: must be empty)' },
    { name: 'a cause without field is appended by message', message: 'denied', causes: [{ message: 'quota exceeded' }], expected: 'denied (quota exceeded)' },
    { name: 'no causes', message: 'gone', causes: [], expected: 'gone' },
  ])('$name', ({ message, causes, expected }) => {
    expect(messageWithCauses(message, causes)).toBe(expected);
  });
});

describe('statusCauses', () => {
  it.each([
    [{ details: { causes: [{ reason: 'FieldValueInvalid', message: 'm', field: 'f' }, 'junk', { field: 3 }] } }, [{ reason: 'FieldValueInvalid', message: 'm', field: 'f' }, { reason: undefined, message: undefined, field: undefined }]],
    [{ details: {} }, []],
    [{}, []],
  ])('%o', (status, expected) => {
    expect(statusCauses(status)).toEqual(expected);
  });
});
