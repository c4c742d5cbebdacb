// A deliverer in a process of its own, for the kill -9 test: `node --import tsx deliver-child.ts '<json>'`.
import * as fs from 'node:fs';
import pino from 'pino';
import { deliverBatches, SecretValue, type FilePartner } from '../../../deliverer/file/index.ts';

interface ChildArgs {
  root: string;
  partner: string;
  remoteDir: string;
  host: string;
  port: number;
  user: string;
  keyPath: string;
  hostKeySha256: string;
  maxBytesPerSecond: number;
}

const args = JSON.parse(process.argv[2]!) as ChildArgs;
const partner: FilePartner = {
  id: 42,
  name: args.partner,
  target: {
    kind: 'sftp',
    sftp: { host: args.host, port: args.port, user: args.user, privateKey: new SecretValue(fs.readFileSync(args.keyPath, 'utf8')), hostKeySha256: args.hostKeySha256 },
  },
  remoteDir: args.remoteDir,
  header: [],
  maxConnections: 1,
};
const report = await deliverBatches({ storageRoot: args.root, partners: [partner], logger: pino({ level: 'warn' }), maxBytesPerSecond: args.maxBytesPerSecond });
process.stdout.write(JSON.stringify(report) + '\n');
