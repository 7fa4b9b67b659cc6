/**
 * Reading a Kubernetes `Status` object, the body the API server answers a failed request with:
 * its field causes, and a message that names the fields the API's own message leaves out.
 */
import { StatusCause, stringField } from '../api-errors';
import { isRecord } from '../../model/common';

/** The causes of a Kubernetes `Status` object (`details.causes`), tolerant of missing parts. */
export function statusCauses(status: Record<string, unknown>): StatusCause[] {
  const details = status.details;
  if (!isRecord(details) || !Array.isArray(details.causes)) return [];
  return details.causes.filter(isRecord).map((cause) => ({
    reason: stringField(cause, 'reason'),
    message: stringField(cause, 'message'),
    field: stringField(cause, 'field'),
  }));
}

/**
 * `message` followed by the causes whose field it does not already name, as `field: message`.
 * The API server usually folds the causes into its message; a custom admission webhook often
 * does not, and the field path is what the user needs to find the mistake.
 */
export function messageWithCauses(message: string, causes: StatusCause[]): string {
  const extra = causes
    .filter((cause) => cause.field === undefined || cause.field === '' || !message.includes(cause.field))
    .map((cause) => [cause.field, cause.message].filter((part) => part !== undefined && part !== '').join(': '))
    .filter((text) => text !== '' && !message.includes(text));
  return extra.length === 0 ? message : `${message} (${extra.join('; ')})`;
}
