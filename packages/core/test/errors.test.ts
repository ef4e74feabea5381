import {
  decode,
  ErrorCode,
  encode,
  errorMessage,
  fromWireError,
  isMrmError,
  MrmError,
  toWireError,
  UnrecoverableError,
  type WireError,
} from '@mrm/core';
import { describe, expect, it } from 'vitest';

describe('ErrorCode', () => {
  it('keeps its stable codes (never renamed or renumbered)', () => {
    expect(Object.values(ErrorCode).sort()).toEqual(
      [
        'E_ABORTED',
        'E_BAD_KEY',
        'E_BAD_OPTION',
        'E_BAD_VALUE',
        'E_FENCED',
        'E_INPUT_MALFORMED',
        'E_INPUT_MISSING',
        'E_INTERNAL',
        'E_JOB_FAILED',
        'E_JOB_INVALID',
        'E_JOB_LOAD',
        'E_NO_SUCH_VERSION',
        'E_NOT_FOUND',
        'E_PROTOCOL',
        'E_STATE',
        'E_TIMEOUT',
        'E_TRANSPORT',
        'E_USER_CODE',
        'E_WORKER_LOST',
      ].sort(),
    );
  });
});

describe('MrmError', () => {
  it('carries a code, a literal name, details and a cause', () => {
    const cause = new Error('disk full');
    const e = new MrmError(ErrorCode.State, 'cannot write', { cause, details: { partition: 3 } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('MrmError');
    expect(e.code).toBe('E_STATE');
    expect(e.message).toBe('cannot write');
    expect(e.details).toEqual({ partition: 3 });
    expect(e.cause).toBe(cause);
    expect(new MrmError(ErrorCode.Internal, 'x').details).toEqual({});
  });
});

describe('isMrmError', () => {
  it('recognises MrmErrors and their shape from another module copy, nothing else', () => {
    expect(isMrmError(new MrmError(ErrorCode.Timeout, 't'))).toBe(true);
    expect(isMrmError({ name: 'MrmError', code: 'E_TIMEOUT', message: 't' })).toBe(true);
    expect(isMrmError(new Error('x'))).toBe(false);
    expect(isMrmError({ name: 'MrmError' })).toBe(false);
    expect(isMrmError(null)).toBe(false);
    expect(isMrmError('MrmError')).toBe(false);
  });
});

describe('toWireError / fromWireError', () => {
  /** A wire error after the trip a task-failed message makes. */
  const overTheWire = (e: unknown): WireError => decode<WireError>(encode(toWireError(e)));

  it('round-trips an MrmError: code, message, details and stack', () => {
    const original = new MrmError(ErrorCode.UserCode, 'map threw at line 3', {
      details: { source: 'a.log', line: 3 },
      cause: new Error('boom'),
    });
    const back = fromWireError(overTheWire(original));
    expect(back).toBeInstanceOf(MrmError);
    expect(back.code).toBe(original.code);
    expect(back.message).toBe(original.message);
    expect(back.details).toEqual({ source: 'a.log', line: 3 });
    expect(back.stack).toBe(original.stack);
  });

  it('turns other errors into E_INTERNAL keeping name, message and stack', () => {
    const original = new TypeError('x is not a function');
    const wire = overTheWire(original);
    expect(wire).toMatchObject({
      code: 'E_INTERNAL',
      name: 'TypeError',
      message: 'x is not a function',
      unrecoverable: false,
    });
    expect(wire.stack).toBe(original.stack);
    const back = fromWireError(wire);
    expect(back.code).toBe('E_INTERNAL');
    expect(back.message).toBe('x is not a function');
  });

  it('marks an UnrecoverableError so the cluster does not retry', () => {
    expect(overTheWire(new UnrecoverableError('bad input for good')).unrecoverable).toBe(true);
  });

  it('turns thrown non-errors into a message', () => {
    expect(overTheWire('plain string')).toMatchObject({ code: 'E_INTERNAL', message: 'plain string', name: 'Error' });
    expect(overTheWire(42).message).toBe('42');
    expect(overTheWire(undefined).message).toBe('undefined');
  });

  it('does not share details with the original error', () => {
    const details = { a: 1 };
    const wire = toWireError(new MrmError(ErrorCode.State, 's', { details }));
    expect(wire.details).toEqual(details);
    expect(wire.details).not.toBe(details);
  });
});

describe('errorMessage', () => {
  it('is the message of an error and the text of anything else', () => {
    expect(errorMessage(new Error('m'))).toBe('m');
    expect(errorMessage('s')).toBe('s');
    expect(errorMessage(3)).toBe('3');
  });
});
