import type { Channel } from '@mrm/core';
import { ErrorCode } from '@mrm/core';
import {
  blobBucketName,
  channelSubject,
  decodeKvKey,
  encodeKvKey,
  kvBucketName,
  resolveNatsTransportOptions,
} from '@mrm/transport-nats';
import { describe, expect, it } from 'vitest';

describe('channelSubject', () => {
  it.each<[Channel, string]>([
    [{ kind: 'coordinator' }, 'mrm.coord'],
    [{ kind: 'heartbeats' }, 'mrm.heartbeats'],
    [{ kind: 'api' }, 'mrm.api'],
    [{ kind: 'broadcast' }, 'mrm.broadcast'],
    [{ kind: 'worker', workerId: 'w-1' }, 'mrm.worker.w-1'],
    [{ kind: 'frames', workerId: 'w-1' }, 'mrm.frames.w-1'],
    [{ kind: 'credits', workerId: 'map_2' }, 'mrm.credits.map_2'],
    [{ kind: 'query', workerId: 'host/7' }, 'mrm.query.host/7'],
    [{ kind: 'liveness', workerId: 'merge-1' }, 'mrm.liveness.merge-1'],
    [{ kind: 'events', jobId: 'job.42' }, 'mrm.events.job=2E42'],
  ])('maps %o to %s', (channel, subject) => {
    expect(channelSubject('mrm', channel)).toBe(subject);
  });

  it('escapes separators, wildcards, whitespace and non-ASCII into one safe token', () => {
    const subject = channelSubject('mrm', { kind: 'frames', workerId: 'a.b *>é=' });
    expect(subject).toBe('mrm.frames.a=2Eb=20=2A=3E=C3=A9=3D');
    expect(subject.split('.')).toHaveLength(3);
  });

  it('gives distinct ids distinct subjects', () => {
    const ids = ['a', 'a.b', 'a=2Eb', 'a_2Eb', 'a b', 'a*', 'a>', 'A', 'é', 'e', '=', '=3D'];
    const subjects = new Set(ids.map((workerId) => channelSubject('mrm', { kind: 'worker', workerId })));
    expect(subjects.size).toBe(ids.length);
  });

  it('rejects an empty id with E_TRANSPORT', () => {
    expect(() => channelSubject('mrm', { kind: 'worker', workerId: '' })).toThrow(
      expect.objectContaining({ code: ErrorCode.Transport }),
    );
  });
});

describe('kv keys and bucket names', () => {
  it('round-trips any key through a valid NATS kv key', () => {
    for (const key of ['lease.1', 'job/2 x', 'é', 'a*b', '.dot.', '=2e', '日本', 'plain-key_1']) {
      const encoded = encodeKvKey(key);
      expect(encoded).toMatch(/^[-/=\w]+$/);
      expect(decodeKvKey(encoded)).toBe(key);
    }
  });

  it('builds valid, distinct bucket names', () => {
    const names = ['leases', 'jobs', 'a_b', 'a-b', 'a.b', 'a b'].map((n) => kvBucketName('mrm', n));
    for (const name of names) expect(name).toMatch(/^[-\w]+$/);
    expect(new Set(names).size).toBe(names.length);
    expect(kvBucketName('mrm', 'leases')).toBe('mrm_leases');
    expect(blobBucketName('mrm')).toBe('mrm-blobs');
  });
});

describe('resolveNatsTransportOptions', () => {
  it('fills in defaults and splits the server list', () => {
    expect(resolveNatsTransportOptions({ servers: 'nats://a:4222, nats://b:4222' })).toMatchObject({
      servers: ['nats://a:4222', 'nats://b:4222'],
      prefix: 'mrm',
      connectTimeoutMs: 5000,
      reconnect: true,
      reconnectWaitMs: 1000,
    });
  });

  it('rejects a bad prefix or timeout with E_BAD_OPTION', () => {
    for (const options of [
      { servers: 'nats://a:4222', prefix: 'a.b' },
      { servers: 'nats://a:4222', prefix: '' },
      { servers: 'nats://a:4222', connectTimeoutMs: 0 },
      { servers: '' },
    ]) {
      expect(() => resolveNatsTransportOptions(options)).toThrow(
        expect.objectContaining({ code: ErrorCode.BadOption }),
      );
    }
  });
});
