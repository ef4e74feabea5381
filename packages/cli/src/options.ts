/** Parsers of command-line option values: a bad value is one clear line naming the flag. */
import { parseSaltOption } from '@mrm/core';
import { InvalidArgumentError } from 'commander';

/** A positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
  }
  return n;
}

/** A whole number of milliseconds, 0 included (0 turns the thing off). */
export function wholeMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`'${value}' is not a whole number of milliseconds.`);
  }
  return n;
}

/** A count of versions to keep: a whole number, or `all` (0: keep every version). */
export function versionsToKeep(value: string): number {
  if (value.trim() === 'all') return 0;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`'${value}' is not a number of versions (a whole number, or 'all').`);
  }
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(...choices: T[]): (value: string) => T {
  return (value) => {
    if (!(choices as string[]).includes(value)) {
      throw new InvalidArgumentError(`'${value}' is not one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}

/** A positive number (fractions allowed). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`'${value}' is not a positive number.`);
  }
  return n;
}

/** `--salt`: `auto`, `off` or a factor (checked with the coordinator's own parser). */
export function saltMode(value: string): string {
  try {
    parseSaltOption(value);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message.replace(/^--salt must be/, 'must be')}.`);
  }
  return value;
}

/** A TCP port: 0 (any free port) to 65535. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65_535) {
    throw new InvalidArgumentError(`'${value}' is not a port (0–65535; 0 picks a free one).`);
  }
  return n;
}

/** `mrm up --nats-nodes`: 1, 3 or 5 (a JetStream cluster needs a majority alive: an odd count). */
export function natsNodes(value: string): number {
  if (!['1', '3', '5'].includes(value.trim())) {
    throw new InvalidArgumentError(`'${value}' is not 1, 3 or 5 (a NATS cluster needs an odd number of nodes).`);
  }
  return Number(value);
}
