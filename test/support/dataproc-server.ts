/**
 * A local, insecure gRPC stand-in for the Dataproc services Courier uses, loaded from the client package's
 * own protos (node_modules/@google-cloud/dataproc/build/protos, with google-gax's for google.longrunning):
 *
 * - WorkflowTemplateService.InstantiateInlineWorkflowTemplate: checks the request against the proto, resolves
 *   the placement (a cluster selector must match a known cluster by its goog-dataproc-cluster-name label, as
 *   every Dataproc cluster carries; a managed cluster is "created"), then runs the template's jobs in
 *   `prerequisiteStepIds` order, each through `execute` (the test decides what a job does);
 * - google.longrunning.Operations GetOperation / CancelOperation: the operation's WorkflowMetadata (graph nodes
 *   BLOCKED → RUNNABLE → RUNNING → COMPLETED | FAILED, workflow state PENDING → RUNNING → DONE), packed as Any;
 *   a failed node fails the workflow (nodes not started stay BLOCKED), a cancel stops it with CANCELLED;
 * - JobController.GetJob: each started job with its driverOutputResourceUri and status.
 *
 * What it cannot be: a cluster. It runs no Spark; what a job "does" is the `execute` callback's business.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { grpc } from 'google-gax';
import protobuf from 'protobufjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules');
export const DATAPROC_PROTOS = path.join(ROOT, '@google-cloud/dataproc/build/protos');
export const GAX_PROTOS = path.join(ROOT, 'google-gax/build/protos');
const FILES = ['google/cloud/dataproc/v1/workflow_templates.proto', 'google/cloud/dataproc/v1/jobs.proto', 'google/longrunning/operations.proto'];

/** The package's protos as a protobufjs root (to check requests and pack metadata). */
export function loadDataprocRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    // protobufjs asks for imports by their proto path; they live in one of the two packages.
    for (const dir of [DATAPROC_PROTOS, GAX_PROTOS]) {
      const p = path.join(dir, target);
      if (fs.existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: false });
  root.resolveAll();
  return root;
}


/** A job of the template as the stand-in hands it to `execute`. */
export interface StandInJob {
  readonly stepId: string;
  readonly jobId: string;
  /** The OrderedJob as received (camelCase fields, e.g. sparkSqlJob.queryFileUri). */
  readonly job: Record<string, unknown>;
  readonly signal: AbortSignal;
}

/** What the test does with a job: resolve (the job succeeded) or throw (it failed with that message). */
export type StandInExecute = (job: StandInJob) => Promise<void>;

type NodeState = 'BLOCKED' | 'RUNNABLE' | 'RUNNING' | 'COMPLETED' | 'FAILED';

interface StandInNode {
  stepId: string;
  prerequisiteStepIds: string[];
  jobId: string;
  state: NodeState;
  error?: string;
}

interface StandInOperation {
  name: string;
  request: Record<string, unknown>;
  nodes: StandInNode[];
  state: 'PENDING' | 'RUNNING' | 'DONE';
  clusterName: string;
  done: boolean;
  error?: { code: number; message: string };
  abort: AbortController;
  getOperations: number;
  cancelled: boolean;
}

interface StandInJobRecord {
  projectId: string;
  region: string;
  jobId: string;
  stepId: string;
  state: 'RUNNING' | 'DONE' | 'ERROR' | 'CANCELLED';
  details?: string;
  driverOutputResourceUri: string;
}

/** Options of the stand-in. */
export interface DataprocServerOptions {
  /** Clusters a selector can match, by name. */
  readonly clusters?: readonly string[];
  readonly execute?: StandInExecute;
  /** Delay between node transitions, so polls see them (default 20 ms). */
  readonly stepDelayMs?: number;
  /** Answer this many GetOperation calls with UNAVAILABLE first (a flaky connection). */
  readonly unavailableGetOperations?: number;
}

/** A running stand-in: its port, what it received, and its operations. */
export interface DataprocServer {
  readonly port: number;
  readonly requests: Record<string, unknown>[];
  readonly operations: StandInOperation[];
  readonly jobs: StandInJobRecord[];
  readonly cancels: string[];
  readonly getJobs: string[];
  /** Resolves once every operation is done. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const CODE = { CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

/** Starts the stand-in on 127.0.0.1 (a free port). */
export async function startDataprocServer(options: DataprocServerOptions = {}): Promise<DataprocServer> {
  const root = loadDataprocRoot();
  const Request = root.lookupType('google.cloud.dataproc.v1.InstantiateInlineWorkflowTemplateRequest');
  const Metadata = root.lookupType('google.cloud.dataproc.v1.WorkflowMetadata');
  const definition = protoLoader.loadSync(FILES, { includeDirs: [DATAPROC_PROTOS, GAX_PROTOS], keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: {
      cloud: { dataproc: { v1: { WorkflowTemplateService: { service: grpc.ServiceDefinition }; JobController: { service: grpc.ServiceDefinition } } } };
      longrunning: { Operations: { service: grpc.ServiceDefinition } };
    };
  };
  const delay = options.stepDelayMs ?? 20;
  const clusters = new Set(options.clusters ?? []);
  const requests: Record<string, unknown>[] = [];
  const operations: StandInOperation[] = [];
  const jobs: StandInJobRecord[] = [];
  const cancels: string[] = [];
  const getJobs: string[] = [];
  const running = new Set<Promise<void>>();
  let unavailable = options.unavailableGetOperations ?? 0;
  let counter = 0;

  const fail = (code: number, message: string): grpc.ServiceError => Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() }) as grpc.ServiceError;

  const metadataOf = (op: StandInOperation) => ({
    type_url: 'type.googleapis.com/google.cloud.dataproc.v1.WorkflowMetadata',
    value: Buffer.from(
      Metadata.encode(
        Metadata.fromObject({
          template: ((op.request['template'] as Record<string, unknown> | undefined)?.['id'] as string | undefined) ?? '',
          clusterName: op.clusterName,
          state: op.state,
          graph: { nodes: op.nodes.map((n) => ({ stepId: n.stepId, prerequisiteStepIds: n.prerequisiteStepIds, jobId: n.jobId, state: n.state, ...(n.error ? { error: n.error } : {}) })) },
        }),
      ).finish(),
    ),
  });

  const operationOf = (op: StandInOperation) => ({
    name: op.name,
    metadata: metadataOf(op),
    done: op.done,
    ...(op.done ? (op.error ? { error: { code: op.error.code, message: op.error.message, details: [] } } : { response: { type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) } }) : {}),
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function runWorkflow(op: StandInOperation, projectId: string, region: string): Promise<void> {
    await sleep(delay);
    const template = op.request['template'] as Record<string, unknown>;
    const placement = (template['placement'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
    if (placement['clusterSelector']) {
      const labels = (placement['clusterSelector']['clusterLabels'] ?? {}) as Record<string, string>;
      const name = labels['goog-dataproc-cluster-name'];
      if (name === undefined || !clusters.has(name)) {
        op.state = 'DONE';
        op.error = { code: CODE.NOT_FOUND, message: `Cluster selector did not match any cluster: no cluster with labels ${JSON.stringify(labels)} in projects/${projectId}/regions/${region}` };
        op.done = true;
        return;
      }
      op.clusterName = name;
    } else {
      op.clusterName = `${String(placement['managedCluster']?.['clusterName'])}-standin`;
    }
    op.state = 'RUNNING';
    const started = new Map<string, Promise<void>>();
    let failed = false;
    const runNode = async (node: StandInNode): Promise<void> => {
      await Promise.all(node.prerequisiteStepIds.map((d) => started.get(d)));
      const deps = node.prerequisiteStepIds.map((d) => op.nodes.find((n) => n.stepId === d)!);
      if (failed || op.cancelled || deps.some((d) => d.state !== 'COMPLETED')) return;
      node.state = 'RUNNABLE';
      await sleep(delay);
      if (op.cancelled) return;
      node.state = 'RUNNING';
      const record: StandInJobRecord = { projectId, region, jobId: node.jobId, stepId: node.stepId, state: 'RUNNING', driverOutputResourceUri: `gs://dataproc-staging-standin/google-cloud-dataproc-metainfo/${op.clusterName}/jobs/${node.jobId}/driveroutput` };
      jobs.push(record);
      await sleep(delay);
      try {
        const job = ((template['jobs'] as Record<string, unknown>[]) ?? []).find((j) => j['stepId'] === node.stepId)!;
        await (options.execute ?? (async () => undefined))({ stepId: node.stepId, jobId: node.jobId, job, signal: op.abort.signal });
        if (op.cancelled) throw new Error('Job was cancelled');
        node.state = 'COMPLETED';
        record.state = 'DONE';
      } catch (e) {
        node.state = 'FAILED';
        node.error = op.cancelled ? 'Job was cancelled' : `Job failed with message [${(e as Error).message}]. Additional details can be found at:\n${record.driverOutputResourceUri}`;
        record.state = op.cancelled ? 'CANCELLED' : 'ERROR';
        record.details = (e as Error).message;
        failed = true;
      }
    };
    for (const node of op.nodes) started.set(node.stepId, runNode(node));
    await Promise.all(started.values());
    op.state = 'DONE';
    if (op.cancelled) op.error = { code: CODE.CANCELLED, message: 'Operation was cancelled' };
    else if (failed) op.error = { code: CODE.UNKNOWN, message: `Workflow failed. Failed jobs: ${op.nodes.filter((n) => n.state === 'FAILED').map((n) => n.stepId).join(', ')}` };
    op.done = true;
  }

  const server = new grpc.Server();
  server.addService(loaded.google.cloud.dataproc.v1.WorkflowTemplateService.service, {
    InstantiateInlineWorkflowTemplate: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const request = call.request;
      requests.push(request);
      const problem = Request.verify(Request.toObject(Request.fromObject(request)));
      const parent = String(request['parent'] ?? '');
      const m = /^projects\/([^/]+)\/regions\/([^/]+)$/.exec(parent);
      const template = request['template'] as Record<string, unknown> | undefined;
      const templateJobs = (template?.['jobs'] as Record<string, unknown>[] | undefined) ?? [];
      if (problem || !m || !template || templateJobs.length === 0) return callback(fail(CODE.INVALID_ARGUMENT, problem ?? (!m ? `parent ${parent} is not projects/*/regions/*` : 'the template has no jobs')));
      const ids = new Set(templateJobs.map((j) => String(j['stepId'])));
      for (const j of templateJobs) {
        for (const d of (j['prerequisiteStepIds'] as string[] | undefined) ?? []) {
          if (!ids.has(d)) return callback(fail(CODE.INVALID_ARGUMENT, `job ${String(j['stepId'])}: prerequisite step ${d} is not in the template`));
        }
      }
      const op: StandInOperation = {
        name: `projects/${m[1]}/regions/${m[2]}/operations/standin-${++counter}`,
        request,
        nodes: templateJobs.map((j) => ({ stepId: String(j['stepId']), prerequisiteStepIds: (j['prerequisiteStepIds'] as string[] | undefined) ?? [], jobId: `${String(j['stepId'])}-job${counter}`, state: 'BLOCKED' })),
        state: 'PENDING',
        clusterName: '',
        done: false,
        abort: new AbortController(),
        getOperations: 0,
        cancelled: false,
      };
      operations.push(op);
      const p = runWorkflow(op, m[1]!, m[2]!).finally(() => running.delete(p));
      running.add(p);
      callback(null, operationOf(op));
    },
  });
  server.addService(loaded.google.longrunning.Operations.service, {
    GetOperation: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (unavailable > 0) {
        unavailable--;
        return callback(fail(CODE.UNAVAILABLE, 'the stand-in drops this call (unavailableGetOperations)'));
      }
      const op = operations.find((o) => o.name === call.request.name);
      if (!op) return callback(fail(CODE.NOT_FOUND, `operation ${call.request.name} not found`));
      op.getOperations++;
      callback(null, operationOf(op));
    },
    CancelOperation: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      cancels.push(call.request.name);
      const op = operations.find((o) => o.name === call.request.name);
      if (!op) return callback(fail(CODE.NOT_FOUND, `operation ${call.request.name} not found`));
      if (!op.done) {
        op.cancelled = true;
        op.abort.abort();
      }
      callback(null, {});
    },
  });
  server.addService(loaded.google.cloud.dataproc.v1.JobController.service, {
    GetJob: (call: grpc.ServerUnaryCall<{ projectId: string; region: string; jobId: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      getJobs.push(call.request.jobId);
      const j = jobs.find((x) => x.jobId === call.request.jobId && x.projectId === call.request.projectId && x.region === call.request.region);
      if (!j) return callback(fail(CODE.NOT_FOUND, `job ${call.request.jobId} not found in projects/${call.request.projectId}/regions/${call.request.region}`));
      callback(null, {
        reference: { projectId: j.projectId, jobId: j.jobId },
        status: { state: j.state, ...(j.details ? { details: j.details } : {}) },
        driverOutputResourceUri: j.driverOutputResourceUri,
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    port,
    requests,
    operations,
    jobs,
    cancels,
    getJobs,
    settled: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
