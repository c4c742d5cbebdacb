/**
 * A stand-in WebHDFS cluster for tests, built to the WebHDFS REST API document (hadoop-hdfs WebHDFS.md) since no
 * Hadoop runs here: a namenode listener answering the metadata operations and redirecting OPEN, CREATE and APPEND
 * with 307 to a separate datanode listener that moves the bytes, as a real cluster does. The tree lives in memory
 * with owners and permissions. Error answers are the document's RemoteException JSON with its status mapping
 * (IllegalArgumentException 400, SecurityException 401, IOException and subclasses 403, FileNotFoundException 404).
 * Auth is `user.name` (security off) or `delegation` tokens (security on, no SPNEGO). Faults can be injected
 * (connection reset, 503, RetriableException, a read cut mid-body) to exercise a client's retries.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the stand-in authenticates, per the document's "Authentication" section. */
export type WebHdfsAuth =
  /** Security off: the user is `user.name`; without it the default web user, or 401 when `anonymous` is false. */
  | { security: 'off'; anonymous?: boolean }
  /** Security on: only `delegation` tokens (token → user); no token means SPNEGO, which answers 401. */
  | { security: 'on'; tokens: Record<string, string> };

/** Options of the stand-in cluster. */
export interface WebHdfsServerOptions {
  auth?: WebHdfsAuth;
  /** The HDFS superuser (owner of `/`), exempt from permission checks; default `hdfs`. */
  superuser?: string;
  /** Mode of `/`; default `755` as a fresh HDFS has it. */
  rootPermission?: string;
  /** HA state of the namenode (default active); a standby answers every operation with StandbyException. */
  haState?: 'active' | 'standby';
  /** dfs.webhdfs.rest-csrf.enabled: PUT, POST and DELETE without an X-XSRF-HEADER header are refused with 400. */
  restCsrf?: boolean;
  /** Host the namenode puts in datanode redirects (default 127.0.0.1); a name that does not resolve tests address maps. */
  datanodeAdvertisedHost?: string;
}

/** A fault served instead of (or in the middle of) a matching request's answer. */
export type WebHdfsFault =
  /** The socket is destroyed before any answer: the client sees ECONNRESET / "other side closed". */
  | 'reset'
  /** 503 with an HTML body, as Jetty or a proxy answers while the namenode starts. */
  | 'unavailable'
  /** 403 RetriableException JSON, as a namenode still in startup safe mode answers. */
  | 'retriable'
  /** OPEN on the datanode: the headers and half the requested bytes are sent, then the socket is destroyed. */
  | 'cut-body';

/** Which requests a fault hits, and how many times. */
export interface FaultRule {
  listener: 'namenode' | 'datanode';
  /** The `op` it applies to; any op when absent. */
  op?: string;
  fault: WebHdfsFault;
  /** How many matching requests get the fault (then it is used up). */
  times: number;
}

/** One request the stand-in received, for tests to check what the client sent. */
export interface LoggedRequest {
  listener: 'namenode' | 'datanode';
  method: string;
  path: string;
  op: string;
  query: Record<string, string>;
  /** The answer's status, or 'fault' when a fault was served. */
  status: number | 'fault';
}

interface Inode {
  type: 'FILE' | 'DIRECTORY';
  owner: string;
  group: string;
  permission: string;
  modificationTime: number;
  accessTime: number;
  fileId: number;
  children?: Map<string, Inode>;
  data?: Buffer;
}

/** A running stand-in cluster. */
export interface WebHdfsTestServer {
  /** `127.0.0.1:<port>` of the namenode, as written in webhdfs:// URIs. */
  readonly authority: string;
  readonly namenodePort: number;
  readonly datanodePort: number;
  /** Every request received so far, in order. */
  readonly requests: LoggedRequest[];
  /** Makes the namenode active or standby (an HA failover). */
  setHaState(state: 'active' | 'standby'): void;
  /** Arms a fault rule (rules are matched in the order armed). */
  inject(rule: FaultRule): void;
  /** Rules not used up yet. */
  pendingFaults(): FaultRule[];
  /** Makes a directory (and parents) owned by `owner` with `permission`, as `hdfs dfs -mkdir -p` + chown would. */
  seedDirectory(path: string, owner: string, permission?: string): void;
  /** Puts a file (parents made as the superuser) owned by `owner`. */
  seedFile(path: string, data: Buffer | string, owner: string, permission?: string): void;
  /** The bytes of a file, or undefined. */
  fileData(path: string): Buffer | undefined;
  /** Owner and mode of a path, or undefined. */
  ownerOf(path: string): { owner: string; permission: string } | undefined;
  /** Paths of every file and directory below `path` (sorted), for comparing trees. */
  walk(path?: string): string[];
  /** Closes both listeners and their connections. */
  close(): Promise<void>;
}

class HdfsException extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    readonly javaClassName: string,
    message: string,
  ) {
    super(message);
  }
}

// The document's mapping from exception to status (Error Responses → HTTP Response Codes).
const illegalArgument = (m: string) => new HdfsException(400, 'IllegalArgumentException', 'java.lang.IllegalArgumentException', m);
const unsupported = (m: string) => new HdfsException(400, 'UnsupportedOperationException', 'java.lang.UnsupportedOperationException', m);
const securityException = (m: string) => new HdfsException(401, 'SecurityException', 'java.lang.SecurityException', m);
const accessControl = (m: string) => new HdfsException(403, 'AccessControlException', 'org.apache.hadoop.security.AccessControlException', m);
const fileNotFound = (m: string) => new HdfsException(404, 'FileNotFoundException', 'java.io.FileNotFoundException', m);
const alreadyExists = (m: string) => new HdfsException(403, 'FileAlreadyExistsException', 'org.apache.hadoop.fs.FileAlreadyExistsException', m);
const parentNotDirectory = (m: string) => new HdfsException(403, 'ParentNotDirectoryException', 'org.apache.hadoop.fs.ParentNotDirectoryException', m);
const notEmpty = (m: string) => new HdfsException(403, 'PathIsNotEmptyDirectoryException', 'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException', m);
const ioException = (m: string) => new HdfsException(403, 'IOException', 'java.io.IOException', m);
const invalidToken = (m: string) => new HdfsException(403, 'InvalidToken', 'org.apache.hadoop.security.token.SecretManager$InvalidToken', m);

/** Operations each HTTP method carries (the document's "Operations" list, the part served here). */
const NAMENODE_OPS: Record<string, readonly string[]> = {
  GET: ['OPEN', 'GETFILESTATUS', 'LISTSTATUS', 'GETCONTENTSUMMARY', 'GETHOMEDIRECTORY'],
  PUT: ['CREATE', 'MKDIRS', 'RENAME'],
  POST: ['APPEND'],
  DELETE: ['DELETE'],
};

/** Starts the namenode and datanode listeners on free ports of 127.0.0.1. */
export async function startWebHdfsServer(options: WebHdfsServerOptions = {}): Promise<WebHdfsTestServer> {
  const auth: WebHdfsAuth = options.auth ?? { security: 'off' };
  const superuser = options.superuser ?? 'hdfs';
  let nextFileId = 16385;
  const now = () => Date.now();
  const root: Inode = { type: 'DIRECTORY', owner: superuser, group: 'supergroup', permission: options.rootPermission ?? '755', modificationTime: now(), accessTime: 0, fileId: nextFileId++, children: new Map() };
  const requests: LoggedRequest[] = [];
  const faults: FaultRule[] = [];
  let haState = options.haState ?? 'active';

  // ---- the tree ----

  const segments = (p: string): string[] => p.split('/').filter((s) => s !== '');
  const lookup = (p: string): Inode | undefined => {
    let cur: Inode | undefined = root;
    for (const s of segments(p)) {
      if (cur?.type !== 'DIRECTORY') return undefined;
      cur = cur.children!.get(s);
    }
    return cur;
  };
  const parentOf = (p: string): string => {
    const s = segments(p);
    return '/' + s.slice(0, -1).join('/');
  };
  const nameOf = (p: string): string => segments(p).at(-1) ?? '';
  const newDir = (owner: string, permission: string): Inode => ({ type: 'DIRECTORY', owner, group: 'supergroup', permission, modificationTime: now(), accessTime: 0, fileId: nextFileId++, children: new Map() });

  /** The deepest existing ancestor of `p` (or `p` itself), and whether a file is in the way. */
  const nearestExisting = (p: string): { node: Inode; path: string; blockedByFile: boolean } => {
    let cur = root;
    let at = '';
    for (const s of segments(p)) {
      if (cur.type !== 'DIRECTORY') return { node: cur, path: at || '/', blockedByFile: true };
      const next = cur.children!.get(s);
      if (!next) break;
      cur = next;
      at += '/' + s;
    }
    return { node: cur, path: at || '/', blockedByFile: false };
  };

  /** Makes the missing directories of `p` (mkdir -p); the caller has checked permissions. */
  const makeDirs = (p: string, owner: string, permission: string): Inode => {
    let cur = root;
    let at = '';
    for (const s of segments(p)) {
      at += '/' + s;
      let next = cur.children!.get(s);
      if (!next) {
        next = newDir(owner, permission);
        cur.children!.set(s, next);
        cur.modificationTime = now();
      } else if (next.type !== 'DIRECTORY') {
        throw parentNotDirectory(`Parent path is not a directory: ${at}`);
      }
      cur = next;
    }
    return cur;
  };

  // ---- permissions (owner/other bits; every user is in "supergroup" here, so group bits count for all) ----

  const mode = (n: Inode): string => `${n.type === 'DIRECTORY' ? 'd' : '-'}${[...n.permission.padStart(3, '0')].map((d) => { const v = Number(d); return `${v & 4 ? 'r' : '-'}${v & 2 ? 'w' : '-'}${v & 1 ? 'x' : '-'}`; }).join('')}`;
  const check = (user: string, node: Inode, nodePath: string, access: 'READ' | 'WRITE' | 'EXECUTE' | 'READ_EXECUTE' | 'WRITE_EXECUTE'): void => {
    if (user === superuser) return;
    const digits = node.permission.padStart(3, '0');
    const bits = Number(node.owner === user ? digits[0] : digits[2]);
    const need = { READ: 4, WRITE: 2, EXECUTE: 1, READ_EXECUTE: 5, WRITE_EXECUTE: 3 }[access];
    if ((bits & need) !== need) {
      throw accessControl(`Permission denied: user=${user}, access=${access}, inode="${nodePath}":${node.owner}:${node.group}:${mode(node)}`);
    }
  };

  // ---- status objects (FileStatus Properties of the document) ----

  const fileStatus = (n: Inode, pathSuffix: string) => ({
    accessTime: n.accessTime,
    blockSize: n.type === 'FILE' ? 134217728 : 0,
    childrenNum: n.type === 'DIRECTORY' ? n.children!.size : 0,
    fileId: n.fileId,
    group: n.group,
    length: n.type === 'FILE' ? n.data!.length : 0,
    modificationTime: n.modificationTime,
    owner: n.owner,
    pathSuffix,
    permission: n.permission,
    replication: n.type === 'FILE' ? 1 : 0,
    storagePolicy: 0,
    type: n.type,
  });

  const summarise = (n: Inode): { directoryCount: number; fileCount: number; length: number } => {
    if (n.type === 'FILE') return { directoryCount: 0, fileCount: 1, length: n.data!.length };
    const out = { directoryCount: 1, fileCount: 0, length: 0 };
    for (const c of n.children!.values()) {
      const s = summarise(c);
      out.directoryCount += s.directoryCount;
      out.fileCount += s.fileCount;
      out.length += s.length;
    }
    return out;
  };

  // ---- parameters ----

  const longParam = (q: URLSearchParams, name: string, min: number): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '' || v === 'null') return undefined;
    if (!/^-?\d+$/.test(v)) throw illegalArgument(`Invalid value for webhdfs parameter "${name}": For input string: "${v}"`);
    const n = Number(v);
    if (n < min) throw illegalArgument(`Invalid value for webhdfs parameter "${name}": Invalid value: "${v}" does not satisfy the minimum ${min}`);
    return n;
  };
  const boolParam = (q: URLSearchParams, name: string): boolean => {
    const v = q.get(name);
    if (v === null || v === '') return false;
    if (v !== 'true' && v !== 'false') throw illegalArgument(`Invalid value for webhdfs parameter "${name}": Failed to parse "${v}" to Boolean.`);
    return v === 'true';
  };
  const permissionParam = (q: URLSearchParams, fallback: string): string => {
    const v = q.get('permission');
    if (v === null || v === '') return fallback;
    if (!/^[0-1]?[0-7]?[0-7]?[0-7]$/.test(v)) throw illegalArgument(`Invalid value for webhdfs parameter "permission": Invalid value: "${v}" does not belong to the domain ^[0-1]?[0-7]?[0-7]?[0-7]$`);
    // The sticky bit (1xxx) is accepted and not modelled.
    return v.padStart(3, '0').slice(-3);
  };

  /** The authenticated user, per the document's Authentication section. */
  const authenticate = (q: URLSearchParams): string => {
    if (auth.security === 'on') {
      const token = q.get('delegation');
      if (token === null || token === '') throw Object.assign(securityException('Authentication required'), { spnego: true });
      const user = auth.tokens[token];
      if (user === undefined) throw invalidToken(`token (HDFS_DELEGATION_TOKEN token ${token.slice(0, 8)}…) can't be found in cache`);
      return user;
    }
    const user = q.get('user.name');
    if (user === null || user === '') {
      if (auth.anonymous === false) throw Object.assign(securityException('Authentication required'), { spnego: false });
      return 'dr.who';
    }
    return user;
  };

  // ---- answers ----

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
    return status;
  };
  const empty = (res: http.ServerResponse, status: number, headers: Record<string, string> = {}): number => {
    res.writeHead(status, { 'content-length': 0, ...headers });
    res.end();
    return status;
  };
  const failure = (res: http.ServerResponse, e: HdfsException): number => {
    const spnego = (e as { spnego?: boolean }).spnego;
    if (spnego !== undefined) {
      // The AuthenticationFilter answers before WebHDFS does: HTML, and a Negotiate challenge when Kerberos is on.
      const html = `<html><head><title>Error 401 Authentication required</title></head><body><h2>HTTP ERROR 401</h2><p>Authentication required</p></body></html>`;
      res.writeHead(401, { 'content-type': 'text/html;charset=iso-8859-1', 'content-length': Buffer.byteLength(html), ...(spnego ? { 'www-authenticate': 'Negotiate' } : {}) });
      res.end(html);
      return 401;
    }
    return json(res, e.status, { RemoteException: { exception: e.exception, javaClassName: e.javaClassName, message: e.message } });
  };

  const takeFault = (listener: 'namenode' | 'datanode', op: string): WebHdfsFault | undefined => {
    const rule = faults.find((f) => f.listener === listener && (f.op === undefined || f.op === op) && f.times > 0);
    if (!rule) return undefined;
    rule.times--;
    return rule.fault;
  };
  const serveFault = (req: http.IncomingMessage, res: http.ServerResponse, fault: Exclude<WebHdfsFault, 'cut-body'>): void => {
    if (fault === 'reset') {
      req.socket.destroy();
    } else if (fault === 'unavailable') {
      const html = '<html><body><h2>HTTP ERROR 503</h2><p>Service Unavailable</p></body></html>';
      res.writeHead(503, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
      res.end(html);
    } else {
      json(res, 403, { RemoteException: { exception: 'RetriableException', javaClassName: 'org.apache.hadoop.ipc.RetriableException', message: 'NameNode still not started' } });
    }
  };

  /** RestCsrfPreventionFilter: methods other than GET, OPTIONS, HEAD and TRACE must carry the custom header. */
  const csrfRefused = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (!options.restCsrf || ['GET', 'OPTIONS', 'HEAD', 'TRACE'].includes(req.method ?? '') || req.headers['x-xsrf-header'] !== undefined) return false;
    const text = 'Missing Required Header for CSRF Vulnerability Protection';
    res.writeHead(400, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    req.resume();
    return true;
  };

  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
      req.on('aborted', () => reject(new Error('client aborted the upload')));
    });

  /** Splits `/webhdfs/v1/<path>?…` into the HDFS path and query, or fails as the document's servers do. */
  const parseUrl = (req: http.IncomingMessage): { hdfsPath: string; q: URLSearchParams } => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/webhdfs/v1')) throw fileNotFound(`${url.pathname} is not a WebHDFS path (it must start /webhdfs/v1)`);
    const raw = url.pathname.slice('/webhdfs/v1'.length) || '/';
    const hdfsPath = '/' + segments(decodeURIComponent(raw)).join('/');
    return { hdfsPath, q: url.searchParams };
  };

  let datanodePort = 0;
  let namenodePort = 0;

  /** The datanode URL of a redirect: the op's own parameters, the user's auth and the namenode RPC address. */
  const redirectUrl = (hdfsPath: string, q: URLSearchParams, user: string): string => {
    const next = new URLSearchParams();
    for (const [k, v] of q) if (k !== 'user.name' && k !== 'delegation' && k !== 'noredirect') next.set(k, v);
    if (auth.security === 'on') next.set('delegation', q.get('delegation')!);
    else next.set('user.name', user);
    next.set('namenoderpcaddress', `127.0.0.1:${namenodePort + 1}`);
    const encoded = segments(hdfsPath).map(encodeURIComponent).join('/');
    return `http://${options.datanodeAdvertisedHost ?? '127.0.0.1'}:${datanodePort}/webhdfs/v1/${encoded}?${next.toString()}`;
  };
  const redirect = (res: http.ServerResponse, q: URLSearchParams, location: string): number =>
    boolParam(q, 'noredirect') ? json(res, 200, { Location: location }) : empty(res, 307, { location });

  // ---- the namenode ----

  const namenodeOp = (req: http.IncomingMessage, res: http.ServerResponse, op: string, hdfsPath: string, q: URLSearchParams): number => {
    const method = req.method ?? 'GET';
    if (!NAMENODE_OPS[method]?.includes(op)) {
      if (Object.values(NAMENODE_OPS).some((ops) => ops.includes(op))) throw illegalArgument(`Invalid operation ${op} for HTTP ${method}`);
      throw illegalArgument(`Invalid value for webhdfs parameter "op": No enum constant org.apache.hadoop.hdfs.web.resources.${method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : method === 'POST' ? 'Post' : 'Delete'}OpParam.Op.${op}`);
    }
    const user = authenticate(q);
    if (haState === 'standby') {
      const category = method === 'GET' ? 'READ' : 'WRITE';
      throw new HdfsException(403, 'StandbyException', 'org.apache.hadoop.ipc.StandbyException', `Operation category ${category} is not supported in state standby. Visit https://s.apache.org/sbnn-error`);
    }
    const node = lookup(hdfsPath);
    switch (op) {
      case 'GETFILESTATUS': {
        if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
        return json(res, 200, { FileStatus: fileStatus(node, '') });
      }
      case 'LISTSTATUS': {
        if (!node) throw fileNotFound(`File ${hdfsPath} does not exist.`);
        if (node.type === 'FILE') return json(res, 200, { FileStatuses: { FileStatus: [fileStatus(node, '')] } });
        check(user, node, hdfsPath, 'READ_EXECUTE');
        const list = [...node.children!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => fileStatus(c, name));
        return json(res, 200, { FileStatuses: { FileStatus: list } });
      }
      case 'GETCONTENTSUMMARY': {
        if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
        const s = summarise(node);
        return json(res, 200, { ContentSummary: { ...s, quota: -1, spaceConsumed: s.length, spaceQuota: -1, typeQuota: {} } });
      }
      case 'GETHOMEDIRECTORY':
        return json(res, 200, { Path: `/user/${user}` });
      case 'MKDIRS': {
        const permission = permissionParam(q, '755');
        if (node?.type === 'DIRECTORY') return json(res, 200, { boolean: true });
        if (node) throw alreadyExists(`Path is not a directory: ${hdfsPath}`);
        const near = nearestExisting(hdfsPath);
        if (near.blockedByFile) throw parentNotDirectory(`Parent path is not a directory: ${near.path}`);
        check(user, near.node, near.path, 'WRITE');
        makeDirs(hdfsPath, user, permission);
        return json(res, 200, { boolean: true });
      }
      case 'DELETE': {
        const recursive = boolParam(q, 'recursive');
        if (!node || hdfsPath === '/') return json(res, 200, { boolean: false });
        const parent = lookup(parentOf(hdfsPath))!;
        check(user, parent, parentOf(hdfsPath), 'WRITE');
        if (node.type === 'DIRECTORY' && node.children!.size > 0 && !recursive) throw notEmpty(`\`${hdfsPath} is non empty': Directory is not empty`);
        parent.children!.delete(nameOf(hdfsPath));
        parent.modificationTime = now();
        return json(res, 200, { boolean: true });
      }
      case 'RENAME': {
        const destination = q.get('destination');
        if (destination === null || destination === '') throw illegalArgument('Required param destination for op: RENAME is null or empty');
        if (!destination.startsWith('/')) throw illegalArgument(`Invalid value for webhdfs parameter "destination": Invalid value: "${destination}" does not belong to the domain ^/.*`);
        const dst = '/' + segments(destination).join('/');
        // FSDirRenameOp (the old rename without options): every refusal is {"boolean": false}, not an exception.
        if (!node || hdfsPath === '/') return json(res, 200, { boolean: false });
        if (dst === hdfsPath) return json(res, 200, { boolean: node.type === 'FILE' });
        if (dst.startsWith(hdfsPath + '/')) return json(res, 200, { boolean: false });
        let target = dst;
        const existing = lookup(dst);
        if (existing?.type === 'DIRECTORY') target = `${dst === '/' ? '' : dst}/${nameOf(hdfsPath)}`;
        else if (existing) return json(res, 200, { boolean: false });
        if (lookup(target)) return json(res, 200, { boolean: false });
        const dstParent = lookup(parentOf(target));
        if (dstParent?.type !== 'DIRECTORY') return json(res, 200, { boolean: false });
        const srcParent = lookup(parentOf(hdfsPath))!;
        check(user, srcParent, parentOf(hdfsPath), 'WRITE');
        check(user, dstParent, parentOf(target), 'WRITE');
        srcParent.children!.delete(nameOf(hdfsPath));
        dstParent.children!.set(nameOf(target), node);
        srcParent.modificationTime = dstParent.modificationTime = now();
        return json(res, 200, { boolean: true });
      }
      case 'OPEN': {
        longParam(q, 'offset', 0);
        longParam(q, 'length', 0);
        if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
        if (node.type === 'DIRECTORY') throw fileNotFound(`Path is not a file: ${hdfsPath}`);
        check(user, node, hdfsPath, 'READ');
        return redirect(res, q, redirectUrl(hdfsPath, q, user));
      }
      case 'APPEND': {
        if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
        if (node.type === 'DIRECTORY') throw fileNotFound(`Path is not a file: ${hdfsPath}`);
        return redirect(res, q, redirectUrl(hdfsPath, q, user));
      }
      case 'CREATE': {
        // Step 1 only picks a datanode: overwrite and permissions are judged when the datanode creates the file.
        boolParam(q, 'overwrite');
        permissionParam(q, '644');
        longParam(q, 'blocksize', 1);
        longParam(q, 'replication', 1);
        return redirect(res, q, redirectUrl(hdfsPath, q, user));
      }
    }
    throw unsupported(`${op} is not supported`);
  };

  const namenode = http.createServer((req, res) => {
    let op = '';
    let logged: LoggedRequest | undefined;
    try {
      const { hdfsPath, q } = parseUrl(req);
      op = (q.get('op') ?? '').toUpperCase();
      logged = { listener: 'namenode', method: req.method ?? '', path: hdfsPath, op, query: Object.fromEntries(q), status: 'fault' };
      requests.push(logged);
      const fault = takeFault('namenode', op);
      if (fault && fault !== 'cut-body') return serveFault(req, res, fault);
      if (csrfRefused(req, res)) return void (logged.status = 400);
      if (op === '') throw illegalArgument('Invalid value for webhdfs parameter "op": op is null or empty');
      // The namenode answers at once; a body sent to it (a one-step client) is read and ignored.
      req.resume();
      logged.status = namenodeOp(req, res, op, hdfsPath, q);
    } catch (e) {
      const status = failure(res, e instanceof HdfsException ? e : new HdfsException(500, 'RuntimeException', 'java.lang.RuntimeException', String(e)));
      if (logged) logged.status = status;
    }
  });

  // ---- the datanode ----

  const datanodeOp = async (req: http.IncomingMessage, res: http.ServerResponse, op: string, hdfsPath: string, q: URLSearchParams, logged: LoggedRequest): Promise<number> => {
    if (!q.get('namenoderpcaddress')) throw illegalArgument('namenoderpcaddress is not specified.');
    const user = authenticate(q);
    if (op === 'OPEN' && req.method === 'GET') {
      const node = lookup(hdfsPath);
      if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
      if (node.type === 'DIRECTORY') throw fileNotFound(`Path is not a file: ${hdfsPath}`);
      check(user, node, hdfsPath, 'READ');
      const offset = longParam(q, 'offset', 0) ?? 0;
      const length = longParam(q, 'length', 0);
      const data = node.data!;
      if (offset > data.length) throw ioException(`Offset=${offset} out of the range [0, ${data.length}]; OPEN, path=${hdfsPath}`);
      const end = length === undefined ? data.length : Math.min(data.length, offset + length);
      const bytes = data.subarray(offset, end);
      node.accessTime = now();
      if (takeFault('datanode', 'OPEN:cut')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => setTimeout(() => req.socket.destroy(), 20));
        logged.status = 'fault';
        return 200;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
      return 200;
    }
    if (op === 'CREATE' && req.method === 'PUT') {
      const overwrite = boolParam(q, 'overwrite');
      const permission = permissionParam(q, '644');
      const existing = lookup(hdfsPath);
      if (existing?.type === 'DIRECTORY') throw alreadyExists(`${hdfsPath} already exists as a directory`);
      if (existing && !overwrite) throw alreadyExists(`${hdfsPath} for client 127.0.0.1 already exists`);
      const near = nearestExisting(parentOf(hdfsPath));
      if (near.blockedByFile) throw parentNotDirectory(`Parent path is not a directory: ${near.path}`);
      if (existing) check(user, existing, hdfsPath, 'WRITE');
      check(user, near.node, near.path, 'WRITE');
      const body = await readBody(req);
      // Parents are made as WebHDFS CREATE does (createParent), owned by the writer.
      const parent = makeDirs(parentOf(hdfsPath), user, '755');
      parent.children!.set(nameOf(hdfsPath), { type: 'FILE', owner: existing?.owner ?? user, group: 'supergroup', permission: existing?.permission ?? permission, modificationTime: now(), accessTime: now(), fileId: nextFileId++, data: body });
      parent.modificationTime = now();
      return empty(res, 201, { location: `webhdfs://127.0.0.1:${namenodePort}${hdfsPath}` });
    }
    if (op === 'APPEND' && req.method === 'POST') {
      const node = lookup(hdfsPath);
      if (!node) throw fileNotFound(`File does not exist: ${hdfsPath}`);
      if (node.type === 'DIRECTORY') throw fileNotFound(`Path is not a file: ${hdfsPath}`);
      check(user, node, hdfsPath, 'WRITE');
      const body = await readBody(req);
      node.data = Buffer.concat([node.data!, body]);
      node.modificationTime = now();
      return empty(res, 200);
    }
    throw illegalArgument(`Invalid operation ${req.method} ${op} on a datanode`);
  };

  const datanode = http.createServer((req, res) => {
    let logged: LoggedRequest | undefined;
    void (async () => {
      try {
        const { hdfsPath, q } = parseUrl(req);
        const op = (q.get('op') ?? '').toUpperCase();
        logged = { listener: 'datanode', method: req.method ?? '', path: hdfsPath, op, query: Object.fromEntries(q), status: 'fault' };
        requests.push(logged);
        const fault = takeFault('datanode', op);
        if (fault === 'cut-body') {
          // Re-armed for the OPEN answer itself, which knows the byte count.
          faults.unshift({ listener: 'datanode', op: 'OPEN:cut', fault: 'cut-body', times: 1 });
        } else if (fault) {
          return serveFault(req, res, fault);
        }
        if (csrfRefused(req, res)) return void (logged.status = 400);
        logged.status = await datanodeOp(req, res, op, hdfsPath, q, logged);
      } catch (e) {
        if (res.headersSent) return;
        const status = failure(res, e instanceof HdfsException ? e : new HdfsException(500, 'RuntimeException', 'java.lang.RuntimeException', String(e)));
        if (logged) logged.status = status;
        req.resume();
      }
    })();
  });

  const listen = (server: http.Server): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  namenodePort = await listen(namenode);
  datanodePort = await listen(datanode);

  const walk = (p: string): string[] => {
    const node = lookup(p);
    if (!node) return [];
    const out: string[] = [];
    const go = (n: Inode, at: string) => {
      for (const [name, c] of [...n.children!.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const cp = `${at === '/' ? '' : at}/${name}`;
        out.push(c.type === 'DIRECTORY' ? `${cp}/` : cp);
        if (c.type === 'DIRECTORY') go(c, cp);
      }
    };
    if (node.type === 'DIRECTORY') go(node, '/' + segments(p).join('/'));
    return out;
  };

  return {
    authority: `127.0.0.1:${namenodePort}`,
    namenodePort,
    datanodePort,
    requests,
    setHaState: (state) => void (haState = state),
    inject: (rule) => void faults.push({ ...rule }),
    pendingFaults: () => faults.filter((f) => f.times > 0 && f.op !== 'OPEN:cut'),
    seedDirectory: (p, owner, permission = '755') => {
      makeDirs(parentOf(p), superuser, '755');
      const dir = makeDirs(p, owner, permission);
      dir.owner = owner;
      dir.permission = permission;
    },
    seedFile: (p, data, owner, permission = '644') => {
      const parent = makeDirs(parentOf(p), superuser, '755');
      parent.children!.set(nameOf(p), { type: 'FILE', owner, group: 'supergroup', permission, modificationTime: now(), accessTime: 0, fileId: nextFileId++, data: Buffer.from(data) });
    },
    fileData: (p) => {
      const n = lookup(p);
      return n?.type === 'FILE' ? n.data : undefined;
    },
    ownerOf: (p) => {
      const n = lookup(p);
      return n ? { owner: n.owner, permission: n.permission } : undefined;
    },
    walk: (p = '/') => walk(p),
    close: async () => {
      for (const s of [namenode, datanode]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
