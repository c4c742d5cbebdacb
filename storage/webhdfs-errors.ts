/**
 * WebHDFS failures as StorageErrors: Hadoop's `RemoteException` JSON (exception, javaClassName, message) is
 * turned into what happened to which path and what to do, and connection failures are told apart from answers
 * so the client knows what it may retry.
 */
import { StorageError } from './storage-error.ts';

/** The `RemoteException` object of a WebHDFS error body (WebHDFS REST API, "RemoteException JSON Schema"). */
export interface RemoteException {
  exception: string;
  javaClassName?: string;
  message: string;
}

/** Reads a RemoteException out of an error body, or undefined when the body is not one (HTML from a proxy, empty). */
export function parseRemoteException(body: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(body) as { RemoteException?: Partial<RemoteException> };
    const r = parsed.RemoteException;
    if (r && typeof r.exception === 'string') return { exception: r.exception, message: String(r.message ?? ''), ...(r.javaClassName ? { javaClassName: r.javaClassName } : {}) };
  } catch {
    // Not JSON: the caller reports the status and a snippet of the body.
  }
  return undefined;
}

/** What to do about each exception the namenode and datanodes send (by the short name Hadoop puts in `exception`). */
const HINTS: Record<string, string> = {
  FileNotFoundException: 'the path does not exist on HDFS; check storage.root and the dataset path (hdfs dfs -ls)',
  FileAlreadyExistsException: 'the path already exists; remove it or write under another name',
  ParentNotDirectoryException: 'a parent of this path is a file, not a directory; remove or rename that file',
  PathIsNotEmptyDirectoryException: 'the directory is not empty; delete it recursively',
  AccessControlException: 'HDFS refused the user; check the owner and mode of the path (hdfs dfs -ls) and storage.webhdfs.user',
  SecurityException: 'HDFS could not authenticate the request; set storage.webhdfs.user (simple auth) or storage.webhdfs.delegationToken (secure cluster)',
  InvalidToken: 'the delegation token is expired, cancelled or for another cluster; fetch a new one (the urlString of GETDELEGATIONTOKEN) and point storage.webhdfs.delegationToken at it',
  StandbyException: 'this namenode is the standby of an HA pair; point storage.root at the active namenode, or name the pair in storage.webhdfs.nameservices and use the nameservice in storage.root',
  SafeModeException: 'the namenode is in safe mode; wait for it to leave (hdfs dfsadmin -safemode get)',
  RetriableException: 'the namenode asked to retry later (starting up or in safe mode); retried, then gave up: try again later',
  NSQuotaExceededException: 'the directory is over its name quota; raise it (hdfs dfsadmin -setQuota) or delete old data',
  DSQuotaExceededException: 'the directory is over its space quota; raise it (hdfs dfsadmin -setSpaceQuota) or delete old data',
  AlreadyBeingCreatedException: 'another client holds the lease on this file; make sure only one run writes it, or wait for the lease to expire',
  LeaseExpiredException: 'the write lease was lost (the file was deleted or renamed while written); re-run the write',
  IllegalArgumentException: 'the namenode rejected a parameter; this is a Courier bug if the path is valid: report it with this message',
  UnsupportedOperationException: 'the server does not implement this operation; use a namenode that serves the WebHDFS REST API',
};

/** Exceptions that mean "try again later", not "this request is wrong". */
export const RETRIABLE_EXCEPTIONS = new Set(['RetriableException', 'SafeModeException']);

/** An error answer (status >= 400) of a WebHDFS call as a StorageError naming the URI, what failed and what to do. */
export function webHdfsAnswerError(uri: string, doing: string, status: number, body: string): StorageError {
  const remote = parseRemoteException(body);
  if (remote) {
    const hint = HINTS[remote.exception] ?? statusHint(status);
    const err = new StorageError(uri, `${doing} failed: HTTP ${status} ${remote.exception}: ${remote.message}`, hint);
    return Object.assign(err, { remote, status });
  }
  const snippet = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  const err = new StorageError(uri, `${doing} failed: HTTP ${status}${snippet ? ` (${snippet})` : ''}`, statusHint(status));
  return Object.assign(err, { status });
}

function statusHint(status: number): string | undefined {
  if (status === 401) return 'the cluster wants Kerberos (SPNEGO), which Courier does not speak; use a delegation token (storage.webhdfs.delegationToken)';
  if (status === 403) return 'HDFS refused the request; check storage.webhdfs.user or the delegation token, and the path permissions';
  if (status === 404) return 'no such path, or no WebHDFS at this address; check storage.root (dfs.webhdfs.enabled on the namenode)';
  if (status === 503) return 'the namenode or a proxy in front of it was unavailable on every attempt (starting up, failing over); try again later, or raise storage.webhdfs.retries';
  if (status >= 500) return 'the namenode or datanode failed; look at its log, then re-run';
  return undefined;
}

/** Error codes of a request that never got an answer: the server was down, unreachable or cut the connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The error code when `e` is a connection failure (possibly wrapped), else undefined. */
export function connectionErrorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    // AggregateError (happy-eyeballs tried several addresses): look at the first.
    const errors = (cur as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) return connectionErrorCode(errors[0]);
  }
  return undefined;
}

/** A connection failure that outlived its retries, naming the host tried and what to check. */
export function webHdfsConnectionError(uri: string, doing: string, host: string, code: string, attempts: number, cause: unknown): StorageError {
  return new StorageError(
    uri,
    `${doing} failed: ${code} talking to ${host} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
    `check that the namenode (and its datanodes) are up and reachable from this machine; datanode addresses come from the namenode's redirects, see storage.webhdfs.datanodeAddresses`,
    { cause },
  );
}
