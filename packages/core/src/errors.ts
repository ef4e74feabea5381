/**
 * Errors with stable codes. Every error a user can cause is an {@link MrmError} whose message is
 * one clear line saying what and where; `cause` keeps the underlying error for `--verbose`.
 */

/** Stable error codes. Part of the public contract: never renumber or rename. */
export const ErrorCode = {
  /** The job file could not be loaded (syntax error, missing file, bad export). */
  JobLoad: 'E_JOB_LOAD',
  /** The job spec is invalid (no reduce, bad name, wrong types). */
  JobInvalid: 'E_JOB_INVALID',
  /** User code (map, combine, reduce, merge, finalize) threw. */
  UserCode: 'E_USER_CODE',
  /** An input path is missing or unreadable. */
  InputMissing: 'E_INPUT_MISSING',
  /** An input record could not be parsed (e.g. bad JSON in a jsonl file). */
  InputMalformed: 'E_INPUT_MALFORMED',
  /** A key emitted by map is not a string, finite number, or array of those. */
  BadKey: 'E_BAD_KEY',
  /** A value emitted by map cannot be encoded. */
  BadValue: 'E_BAD_VALUE',
  /** A command-line flag or option has a bad value. */
  BadOption: 'E_BAD_OPTION',
  /** Stored state is missing, of another job shape, or cannot be opened. */
  State: 'E_STATE',
  /** A requested version does not exist. */
  NoSuchVersion: 'E_NO_SUCH_VERSION',
  /** A requested key is not in a job's result (`mrm query --key`). */
  NotFound: 'E_NOT_FOUND',
  /** The transport (NATS) is unreachable or failed. */
  Transport: 'E_TRANSPORT',
  /** A wait timed out. */
  Timeout: 'E_TIMEOUT',
  /** The job or operation was cancelled / aborted. */
  Aborted: 'E_ABORTED',
  /** A protocol message was malformed or of an unknown version. */
  Protocol: 'E_PROTOCOL',
  /** The job failed on a worker. */
  JobFailed: 'E_JOB_FAILED',
  /** A merge worker of a run was lost; its partitions move to the live merge workers. */
  WorkerLost: 'E_WORKER_LOST',
  /** A write under a lease that is no longer current (the partition moved): refused. */
  Fenced: 'E_FENCED',
  /** Anything else: a bug in MRM. */
  Internal: 'E_INTERNAL',
} as const;
/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options for {@link MrmError}. */
export interface MrmErrorOptions extends ErrorOptions {
  /** Structured context (job, batch, source, line…) for logs and the wire. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error class of MRM: a stable `code`, a one-line message, an optional `cause`. */
export class MrmError extends Error {
  override readonly name = 'MrmError' as const;
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, options?: MrmErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = options?.details ?? {};
  }
}

/**
 * Thrown by user code to say "this failure is permanent, do not retry the task" (bullmq's
 * `UnrecoverableError`); on the wire it sets `WireError.unrecoverable`. The coordinator runs a
 * failed map task again only when the transport cut it off (`E_TRANSPORT`) and it is not marked
 * unrecoverable; any other failure fails the run.
 */
export class UnrecoverableError extends Error {
  override readonly name = 'UnrecoverableError' as const;
}

/**
 * True when `e` is a failure of MRM's own infrastructure that a later attempt may well not meet:
 * the transport failed after its own bounded retries (`E_TRANSPORT`), or a request to a worker
 * timed out (`E_TIMEOUT`). A user's error (an `UnrecoverableError` too), a lost compare-and-set
 * (`E_FENCED`), a lost worker or a bad option is not.
 */
export function isTransientFailure(e: unknown): boolean {
  return isMrmError(e) && (e.code === ErrorCode.Transport || e.code === ErrorCode.Timeout);
}

/** True when `e` is an {@link MrmError}, also across module copies (checks the shape, not the class). */
export function isMrmError(e: unknown): e is MrmError {
  return (
    e instanceof MrmError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'MrmError' &&
      typeof (e as { code?: unknown }).code === 'string')
  );
}

/** A thrown value in a form that survives MessagePack and structured clone. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly name: string;
  readonly stack?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly unrecoverable?: boolean;
}

/** Turns any thrown value into a serialisable {@link WireError}. */
export function toWireError(e: unknown): WireError {
  if (isMrmError(e)) {
    return { code: e.code, message: e.message, name: e.name, stack: e.stack, details: { ...e.details } };
  }
  if (e instanceof Error) {
    return {
      code: ErrorCode.Internal,
      message: e.message,
      name: e.name,
      stack: e.stack,
      unrecoverable: e.name === 'UnrecoverableError',
    };
  }
  return { code: ErrorCode.Internal, message: String(e), name: 'Error' };
}

/** Turns a {@link WireError} back into an {@link MrmError} (the stack is kept for `--verbose`). */
export function fromWireError(w: WireError): MrmError {
  const err = new MrmError(w.code, w.message, { details: w.details ?? {} });
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}

/** Message of any thrown value, for one-line reports. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
