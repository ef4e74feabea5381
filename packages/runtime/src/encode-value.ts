/** Encoding for the in-memory store: core's codec, with the LMDB store's error. */
import { ErrorCode, encode, errorMessage, MrmError } from '@mrm/core';

/** Encodes with core's codec; `E_BAD_VALUE` naming `where` when the value cannot be encoded. */
export function encodeValue(value: unknown, where: string): Uint8Array {
  try {
    return encode(value);
  } catch (e) {
    throw new MrmError(ErrorCode.BadValue, `the value of ${where} cannot be encoded: ${errorMessage(e)}`, { cause: e });
  }
}
