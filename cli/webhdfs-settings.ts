// storage.webhdfs from the config, handed to the storage room once per courier run: the delegation token is read
// from its secret here, at the moment of use, and never printed.
import { ConfigError, resolveSecret, type CourierConfig } from '../config/index.ts';
import { configureWebHdfs, type WebHdfsOptions } from '../storage/index.ts';

const TOKEN_FIELD = 'storage.webhdfs.delegationToken';

/** The webhdfs:// settings of a loaded config (token read from its file or variable); a bad token is a ConfigError of `file`. */
export function webHdfsOptionsOf(config: CourierConfig, env: NodeJS.ProcessEnv, file: string): WebHdfsOptions {
  const w = config.storage.webhdfs;
  if (w === undefined) return {};
  let delegationToken: string | undefined;
  if (w.delegationToken !== undefined) {
    try {
      delegationToken = resolveSecret(w.delegationToken, env).trim();
    } catch (e) {
      throw new ConfigError(file, [{ file, field: TOKEN_FIELD, message: (e as Error).message }]);
    }
    // `hdfs fetchdt` writes a binary token file (magic "HDTS"); WebHDFS wants the token's URL-safe string.
    if (delegationToken.startsWith('HDTS') || !/^[A-Za-z0-9_-]+$/.test(delegationToken)) {
      throw new ConfigError(file, [
        {
          file,
          field: TOKEN_FIELD,
          message:
            'the secret is not a URL-safe token string (a binary `hdfs fetchdt` file?); ' +
            'store the "urlString" of GETDELEGATIONTOKEN instead (curl --negotiate -u : "http://<namenode>:9870/webhdfs/v1/?op=GETDELEGATIONTOKEN")',
        },
      ]);
    }
  }
  return {
    ...(w.user !== undefined ? { user: w.user } : {}),
    ...(delegationToken !== undefined ? { delegationToken } : {}),
    retries: w.retries,
    retryDelayMs: w.retryDelayMs,
    retryMaxDelayMs: w.retryMaxDelayMs,
    timeoutMs: w.timeoutMs,
    localCopyMb: w.localCopyMb,
    ...(w.datanodeAddresses !== undefined ? { datanodeAddresses: w.datanodeAddresses } : {}),
    ...(w.nameservices !== undefined ? { nameservices: w.nameservices } : {}),
  };
}

/** Configures webhdfs:// for this process and the workers and child processes it starts. */
export function configureWebHdfsFromConfig(config: CourierConfig, env: NodeJS.ProcessEnv, file: string): void {
  configureWebHdfs(webHdfsOptionsOf(config, env, file));
}
