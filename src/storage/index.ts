// Picks the object store from the configuration.
import type { Config } from '../config.js';
import { CallFiles } from './call-files.js';
import { LocalObjectStore } from './local-store.js';
import { S3ObjectStore } from './s3-store.js';

export function createCallFiles(config: Config): CallFiles {
  const s = config.storage;
  const store = s
    ? new S3ObjectStore({
      bucket: s.bucket,
      prefix: s.prefix,
      client: {
        region: s.region, forcePathStyle: s.forcePathStyle,
        ...(s.endpoint ? { endpoint: s.endpoint } : {}),
        // A copy: the config is frozen and the SDK annotates the credentials object it is given.
        ...(s.credentials ? { credentials: { ...s.credentials } } : {}),
      },
    })
    : new LocalObjectStore(config.recordingsDir);
  return new CallFiles(store, config.recordingsDir, config.instanceId);
}
