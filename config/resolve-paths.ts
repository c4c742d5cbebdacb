// Paths in a config are relative to the config file, not to wherever courier happens to run: resolve them once at
// load time so every room receives absolute paths and URIs.
import path from 'node:path';
import type { CourierConfig, HeaderValue } from './schema.ts';
import { type SecretRef, secretFilePath } from './secrets.ts';
import { resolveStorageRoot } from './storage-uri.ts';

/** A copy of `config` with the storage root as a URI and spill directory, listener log directory and secret files as absolute paths. */
export function resolveConfigPaths(config: CourierConfig, configDir: string): CourierConfig {
  const file = <T extends SecretRef | HeaderValue>(ref: T): T =>
    typeof ref === 'object' && 'file' in ref ? ({ file: secretFilePath(ref.file, configDir) } as T) : ref;
  const { spillDir } = config.engine.local;
  return {
    ...config,
    storage: {
      ...config.storage,
      root: resolveStorageRoot(config.storage.root, configDir),
      ...(config.storage.webhdfs?.delegationToken && { webhdfs: { ...config.storage.webhdfs, delegationToken: file(config.storage.webhdfs.delegationToken) } }),
    },
    engine: {
      ...config.engine,
      local: { ...config.engine.local, ...(spillDir === undefined ? {} : { spillDir: path.resolve(configDir, spillDir) }) },
    },
    ...(config.listener && { listener: { ...config.listener, logDir: path.resolve(configDir, config.listener.logDir) } }),
    partners: config.partners.map((partner) => ({
      ...partner,
      ...(partner.streaming && {
        streaming: {
          ...partner.streaming,
          headers: Object.fromEntries(Object.entries(partner.streaming.headers).map(([name, value]) => [name, file(value)])),
        },
      }),
      ...(partner.batch && {
        batch: {
          ...partner.batch,
          ...(partner.batch.target !== undefined && { target: resolveStorageRoot(partner.batch.target, configDir) }),
          sftp: {
            ...partner.batch.sftp,
            ...(partner.batch.sftp.privateKey && { privateKey: file(partner.batch.sftp.privateKey) }),
            ...(partner.batch.sftp.password && { password: file(partner.batch.sftp.password) }),
          },
        },
      }),
    })),
  };
}
