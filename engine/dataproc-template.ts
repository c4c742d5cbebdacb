/**
 * The Dataproc request of one submission: an inline workflow template (google.cloud.dataproc.v1
 * InstantiateInlineWorkflowTemplateRequest) with one Spark SQL job per job step, `prerequisiteStepIds`
 * from the stage DAG, and placement on a selected cluster or on a managed one that installs Node.
 * Plain data in the proto's JSON field names, so `--dry-run` prints exactly what is sent.
 */
import { createHash } from 'node:crypto';

/** A managed (per-run) cluster. */
export interface DataprocManagedCluster {
  readonly imageVersion: string;
  readonly zone?: string;
  readonly masterMachineType: string;
  readonly workerMachineType: string;
  readonly workers: number;
  readonly serviceAccount?: string;
  readonly subnetworkUri?: string;
}

/** Where and how a submission runs. */
export interface DataprocPlacement {
  readonly projectId: string;
  readonly region: string;
  readonly clusterName: string;
  readonly clusterLabels?: Readonly<Record<string, string>>;
  readonly managedCluster?: DataprocManagedCluster;
  readonly nodeVersion: string;
  readonly sparkProperties?: Readonly<Record<string, string>>;
}

/** One Spark SQL job of the template. */
export interface DataprocStepJob {
  readonly stepId: string;
  readonly prerequisiteStepIds: readonly string[];
  readonly queryFileUri: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the template is built from. */
export interface DataprocSubmission {
  readonly workflow: string;
  readonly period: string;
  readonly runId: string;
  readonly jobs: readonly DataprocStepJob[];
  /** The staged init action (managed clusters run it on every node). */
  readonly initActionUri: string;
}

/** Seconds an init action may take (Node's download and unpack take well under a minute). */
const INIT_ACTION_TIMEOUT_SECONDS = 600;

/** A label value: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(text: string): string {
  const v = text.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  return v.length <= 63 ? v : v.slice(0, 56) + '-' + createHash('sha256').update(v).digest('hex').slice(0, 6);
}

/** A template step id: letters, digits, `_` and `-`, 3 to 50 characters, not starting or ending with `_` or `-`. */
export function stepIdOf(parts: readonly string[]): string {
  let id = parts.join('-').replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[-_]+|[-_]+$/g, '');
  if (id.length > 50) id = id.slice(0, 43).replace(/[-_]+$/, '') + '-' + createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 6);
  return id.padEnd(3, 'x');
}

/** The InstantiateInlineWorkflowTemplateRequest of a submission. */
export function dataprocTemplateRequest(placement: DataprocPlacement, submission: DataprocSubmission): Record<string, unknown> {
  const labels = {
    'courier-workflow': labelValue(submission.workflow),
    'courier-period': labelValue(submission.period),
    'courier-run': labelValue(submission.runId),
  };
  const properties = {
    // Hadoop's empty _SUCCESS would look like a damaged Courier marker (the scripts SET it too).
    'spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs': 'false',
    ...placement.sparkProperties,
  };
  const m = placement.managedCluster;
  const placementField = m
    ? {
        managedCluster: {
          clusterName: placement.clusterName,
          labels,
          config: {
            gceClusterConfig: {
              ...(m.zone !== undefined ? { zoneUri: m.zone } : {}),
              ...(m.serviceAccount !== undefined ? { serviceAccount: m.serviceAccount } : {}),
              ...(m.subnetworkUri !== undefined ? { subnetworkUri: m.subnetworkUri } : {}),
              metadata: { 'courier-node-version': placement.nodeVersion },
            },
            masterConfig: { numInstances: 1, machineTypeUri: m.masterMachineType },
            workerConfig: { numInstances: m.workers, machineTypeUri: m.workerMachineType },
            softwareConfig: { imageVersion: m.imageVersion },
            initializationActions: [{ executableFile: submission.initActionUri, executionTimeout: { seconds: INIT_ACTION_TIMEOUT_SECONDS } }],
          },
        },
      }
    : {
        // Every Dataproc cluster carries its name as this label, so the selector picks exactly the named one.
        clusterSelector: { clusterLabels: { 'goog-dataproc-cluster-name': placement.clusterName, ...placement.clusterLabels } },
      };
  return {
    parent: `projects/${placement.projectId}/regions/${placement.region}`,
    // Dataproc drops a second request with the same id, so a retried RPC cannot start the run twice.
    requestId: stepIdOf(['courier', submission.runId]).slice(0, 40),
    template: {
      id: stepIdOf(['courier', submission.workflow]),
      labels,
      placement: placementField,
      jobs: submission.jobs.map((j) => ({
        stepId: j.stepId,
        labels: j.labels,
        ...(j.prerequisiteStepIds.length ? { prerequisiteStepIds: [...j.prerequisiteStepIds] } : {}),
        sparkSqlJob: { queryFileUri: j.queryFileUri, properties },
      })),
    },
  };
}
