/** Parsers of command-line option values: a bad value is one clear line naming the flag. */
import { InvalidArgumentError } from 'commander';

/** A positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
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
