/**
 * Errors of the HTTP API targets (Kubernetes and Rancher), and the small readers of untyped JSON
 * answers they share.
 *
 * Two kinds, as everywhere in the project: `ClientInputError` when what the user gave us cannot be
 * used (a kubeconfig without the context asked for, a CA file that cannot be read, an id that is not
 * an id), and `ApiError` when the remote API refused or could not be reached. Messages say where, what
 * and what to do. They never carry token, password or key material: only names, paths and the
 * API's own words.
 */
import { boundedMessage } from '../model/echo';

/** One entry of a Kubernetes `Status.details.causes` list (or the Rancher `fieldName`). */
export interface StatusCause {
  /** Machine-readable reason, e.g. `FieldValueInvalid`, `FieldManagerConflict`. */
  reason?: string;
  /** Human-readable message, e.g. `Invalid value: "a b": a valid label must ...`. */
  message?: string;
  /** Path of the offending field, e.g. `spec.podSelector.matchLabels`. */
  field?: string;
}

/**
 * What the user gave the Kubernetes or Rancher client cannot be used. `where` names the input (file,
 * context, field). Named after the clients that throw it, to keep it apart from the model's
 * `InputError` (provider/model/errors.ts), which lists every issue by its property path.
 */
export class ClientInputError extends Error {
  override readonly name = 'ClientInputError';
  constructor(
    message: string,
    /** The input the error is about, e.g. `kubeconfig /home/u/.kube/config, user "alice"`. */
    readonly where?: string,
  ) {
    super(boundedMessage(where === undefined ? message : `${where}: ${message}`));
  }
}

/** Details an `ApiError` carries besides its message. */
export interface ApiErrorDetails {
  /** HTTP status, when the API answered. */
  status?: number;
  /** The API's machine-readable reason (`NotFound`, `Conflict`, `Invalid`, Rancher `code`). */
  reason?: string;
  /** Field-level causes the API gave. Empty when none. */
  causes?: StatusCause[];
  /** Network-level error code when the API did not answer (`ECONNREFUSED`, `ETIMEDOUT`, ...). */
  code?: string;
  /** How many requests were made before giving up. */
  attempts?: number;
}

/** The remote API refused the request or could not be reached. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status?: number;
  readonly reason?: string;
  readonly causes: StatusCause[];
  readonly code?: string;
  readonly attempts: number;
  constructor(message: string, details: ApiErrorDetails = {}) {
    super(message);
    this.status = details.status;
    this.reason = details.reason;
    this.causes = details.causes ?? [];
    this.code = details.code;
    this.attempts = details.attempts ?? 1;
  }
}


/**
 * The code of a network or TLS failure (`ECONNREFUSED`, `ERR_OSSL_...`), from an axios error or
 * a plain Node error; never the message, which could echo request details.
 */
export function failureCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code !== '') {
    return error.code;
  }
  return 'ERR_UNKNOWN';
}

/** Returns `value` if it is a string, otherwise undefined. */
export function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}
