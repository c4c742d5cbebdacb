// Where the Dataproc client connects: the region's endpoint with application default credentials, or, when
// COURIER_DATAPROC_EMULATOR_HOST=host:port is set (tests, rehearsals), a local insecure stand-in, as
// PUBSUB_EMULATOR_HOST does for Pub/Sub clients.
import { grpc, type ClientOptions } from 'google-gax';
import { UsageError } from './exit-codes.ts';

export const DATAPROC_EMULATOR_ENV = 'COURIER_DATAPROC_EMULATOR_HOST';

/** `{ clientOptions }` for the emulator named in the environment, else nothing. */
export function dataprocClientOptions(env: NodeJS.ProcessEnv = process.env): { clientOptions?: ClientOptions } {
  const host = env[DATAPROC_EMULATOR_ENV];
  if (host === undefined || host === '') return {};
  const m = /^([^:]+):(\d+)$/.exec(host);
  if (!m) throw new UsageError(`${DATAPROC_EMULATOR_ENV}=${host}: expected host:port, e.g. 127.0.0.1:8123`);
  // With the universe domain given, the client looks for no credentials (an emulator needs none).
  return { clientOptions: { apiEndpoint: m[1]!, port: Number(m[2]), sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' } };
}
