/**
 * @mrm/transport-nats — the Transport port on NATS: core subjects for messages, JetStream KV for
 * key/value state, a JetStream stream for small blobs and an object store for large ones. This package owns every subject name
 * (docs/protocol-transport.md).
 *
 * ```ts
 * import { NatsTransport } from '@mrm/transport-nats';
 * const transport = await NatsTransport.connect({ servers: 'nats://127.0.0.1:4222', name: 'coordinator' });
 * transport.publish({ kind: 'broadcast' }, encodeMessage(message));
 * await transport.close();
 * ```
 * @packageDocumentation
 */

export { NatsStreamLog } from './nats-stream-log.js';
export type { StateListener } from './nats-transport.js';
export { NatsTransport } from './nats-transport.js';
export type { NatsSecurityOptions, NatsTransportOptions, ResolvedNatsTransportOptions } from './options.js';
export { DEFAULT_NATS_PREFIX, defaultReplicas, resolveNatsTransportOptions } from './options.js';
export { SMALL_BLOB_MAX_BYTES, smallBlobStreamName, smallBlobSubject } from './small-blobs.js';
export {
  blobBucketName,
  channelSubject,
  decodeKvKey,
  encodeKvKey,
  inputStreamName,
  kvBucketName,
} from './subjects.js';
