/**
 * Every NATS name MRM uses, built here and nowhere else: the subject of each {@link Channel}, the
 * key/value and object store bucket names, and the encoding that makes any id or key safe in them.
 * docs/protocol-transport.md lists them.
 *
 * Ids and keys are opaque strings to the rest of MRM (worker ids, job ids, lease keys), but NATS
 * gives '.', '*', '>' and whitespace a meaning, and kv keys allow only `[-/=.\w]`. So every id and
 * key is escaped: letters, digits, '_', '-' and '/' stay, every other UTF-8 byte becomes `=XX`
 * (hex). The encoding is injective, so distinct ids never share a subject, and readable for
 * the common case (`w-1`, `job_42`).
 */
import type { Channel } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';

const KEEP = /^[A-Za-z0-9_/-]$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The subject a channel's messages travel on, e.g. `mrm.frames.w-1`. */
export function channelSubject(prefix: string, channel: Channel): string {
  switch (channel.kind) {
    case 'coordinator':
      return `${prefix}.coord`;
    case 'heartbeats':
      return `${prefix}.heartbeats`;
    case 'api':
      return `${prefix}.api`;
    case 'broadcast':
      return `${prefix}.broadcast`;
    case 'events':
      return `${prefix}.events.${encodeToken('job id', channel.jobId)}`;
    case 'worker':
    case 'frames':
    case 'credits':
    case 'query':
    case 'stats':
    case 'liveness':
      return `${prefix}.${channel.kind}.${encodeToken('worker id', channel.workerId)}`;
  }
}

/** A channel as error messages show it: `frames 'w-1'`, `coordinator`. */
export function describeChannel(channel: Channel): string {
  switch (channel.kind) {
    case 'coordinator':
    case 'heartbeats':
    case 'api':
    case 'broadcast':
      return channel.kind;
    case 'events':
      return `events '${channel.jobId}'`;
    default:
      return `${channel.kind} '${channel.workerId}'`;
  }
}

/** The KV bucket behind the port's bucket `name` (stream `KV_<this>`), e.g. `mrm_leases`. */
export function kvBucketName(prefix: string, name: string): string {
  // Bucket names allow only [-\w]: '_' is the escape here, so it is escaped too.
  const encoded = [...encoder.encode(nonEmpty('bucket name', name))]
    .map((byte) => (/^[A-Za-z0-9-]$/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `_${hex(byte)}`))
    .join('');
  return `${prefix}_${encoded}`;
}

/** The object store bucket holding every blob (stream `OBJ_<this>`), e.g. `mrm-blobs`. */
export function blobBucketName(prefix: string): string {
  // Its stream is OBJ_<name> and a kv bucket's KV_<name>: the two never collide.
  return `${prefix}-blobs`;
}

/** The kv key of the port's `key` (the object store encodes blob names itself: base64url). */
export function encodeKvKey(key: string): string {
  return encodeToken('kv key', key);
}

/** The port's key back from a kv key. */
export function decodeKvKey(encoded: string): string {
  return encoded.replace(/(=[0-9A-F]{2})+/g, (run) =>
    decoder.decode(Uint8Array.from(run.slice(1).split('='), (h) => Number.parseInt(h, 16))),
  );
}

/** Escapes `value` into one subject token (see the module comment). */
function encodeToken(what: string, value: string): string {
  let out = '';
  for (const char of nonEmpty(what, value)) {
    if (KEEP.test(char)) out += char;
    else for (const byte of encoder.encode(char)) out += `=${hex(byte)}`;
  }
  return out;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function nonEmpty(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MrmError(ErrorCode.Transport, `${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The JetStream stream that holds a streaming job's input published on `subject`: one stream per
 * subject, `MRM_IN_` and the subject with its dots as `_`, plus a short hash so that `a.b` and
 * `a_b` stay apart.
 */
export function inputStreamName(subject: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) h = Math.imul(h ^ subject.charCodeAt(i), 0x01000193) >>> 0;
  return `MRM_IN_${subject.replaceAll('.', '_')}_${h.toString(36)}`;
}
