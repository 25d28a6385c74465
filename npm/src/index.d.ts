// Types of the npm package `carport` (the same API from every entry: browser, node, workerd).

/** A file's bytes: anything carport reads in slices. */
export type Content =
  | Blob
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | string
  | ReadableStream<Uint8Array>
  | Iterable<Uint8Array>
  | AsyncIterable<Uint8Array>

/** One entry of a folder tree given as an (async) iterable. No `content` means a folder. */
export interface Entry {
  /** `/`-separated, relative to the root folder. */
  path: string
  content?: Content | null
  /** `'directory'` for a folder (also implied when `content` is missing), `'symlink'` with `target`. */
  type?: 'file' | 'directory' | 'symlink'
  target?: string
  /** Unix permission bits, written when `preserveMode`. */
  mode?: number
  /** Modification time (ms since the epoch, a Date, or `{ secs, nsecs }`), written when `preserveMtime`. */
  mtime?: number | Date | { secs: number, nsecs?: number }
}

export type PackInput =
  | Blob
  | File
  | FileList
  | File[]
  | Blob[]
  | Uint8Array
  | ArrayBuffer
  | string
  | ReadableStream<Uint8Array>
  | Iterable<Entry>
  | AsyncIterable<Entry>

export type Profile = 'unixfs-v1-2025' | 'unixfs-v0-2015' | 'ipfs-car'

export interface Progress {
  bytesRead: number
  /** Known for Blobs, Files, FileLists and byte arrays. */
  bytesTotal?: number
  /** Distinct blocks written so far. */
  blocks: number
}

export interface PackOptions {
  /** Default `'unixfs-v1-2025'` (IPIP-499). `'ipfs-car'` gives ipfs-car 3.x's CIDs. */
  profile?: Profile
  /** `size-N`, `rabin`, `rabin-AVG`, `rabin-MIN-AVG-MAX` or `buzhash`. */
  chunker?: string
  layout?: 'balanced' | 'trickle'
  maxLinks?: number
  rawLeaves?: boolean
  cidVersion?: 0 | 1
  hash?: 'sha2-256' | 'blake3'
  /** Inline blocks of at most this many bytes in their CID (identity hash). */
  inlineLimit?: number
  /** 1 (default) or 2 (each shard a CARv2 with a MultihashIndexSorted index). */
  carVersion?: 1 | 2
  /** Largest shard in bytes; default 100_000_000 (100 MB). */
  shardSize?: number
  /** Also compute each shard's Filecoin piece CID (costs about as much again as packing). */
  piece?: boolean
  /** Put a single file in a folder that names it (folders: keep the picked folder's name). */
  wrap?: boolean
  /** Name of a single file when wrapped (default: File.name, else 'blob'). */
  name?: string
  /** Include names starting with a dot. */
  hidden?: boolean
  preserveMode?: boolean
  /** Record File.lastModified / entry mtime. */
  preserveMtime?: boolean
  onProgress?: (progress: Progress) => void
  signal?: AbortSignal
  /**
   * Browsers: where the work runs. Default: a new Web Worker (carport/worker) per job on the
   * main thread, this thread inside a worker. `false`: this thread. A URL or string: that worker
   * script. A function: returns the Worker to use.
   */
  worker?: false | URL | string | (() => Worker)
  /**
   * Hashing workers beside the packing thread (Web Workers in browsers, worker_threads in Node)
   * for `piece: true`: each shard's piece CID is cut into subtrees hashed in parallel (the CAR CID
   * stays in the packing thread). Default `navigator.hardwareConcurrency` (Node:
   * `os.availableParallelism()`); `1`: no pool. Inputs under 16 MiB never start one. CIDs and
   * bytes are the same whatever the size.
   */
  workers?: number
  /** The pool worker's script (default carport's `pool-worker.js` / `pool-worker-node.js` beside the module). */
  poolWorker?: URL | string
}

export interface PieceInfo {
  /** v2 piece CID (FRC-0069). */
  cid: string
  /** Legacy v1 piece CID (baga…); pair it with paddedSize. */
  cidV1: string
  paddedSize: number
  payloadSize: number
}

/** One CAR shard: a valid CAR of at most `shardSize` bytes. */
export interface Shard {
  index: number
  blob: Blob
  /** Bytes of the CAR. */
  size: number
  /** CID of the CAR's bytes: CIDv1, codec car (0x0202), sha2-256. */
  cid: string
  /** [] for every shard but the last; [root] for the last. */
  roots: string[]
  blocks: number
  last: boolean
  piece?: PieceInfo
}

export interface PackSummary {
  root: string
  blocks: number
  bytesRead: number
  shards: number
  /** Bytes of the Wasm memory where the job ran, at its start and end (the end is the peak). */
  wasmHeap: { start: number, end: number }
}

export interface PackJob {
  /** The root CID, once every shard is made. */
  root: Promise<string>
  /**
   * The shards in order, as they are made. Reading it sets the pace: packing stays at most two
   * shards ahead of the reader. (With no reader at all, every shard is kept until read.)
   * Cancelling it aborts the job.
   */
  shards: ReadableStream<Shard>
  /** Resolves at the end with the summary. */
  done: Promise<PackSummary>
  /** Reads every shard: the root and the shards in order. */
  collect (): Promise<{ root: string, shards: Shard[], blocks: number, bytesRead: number, wasmHeap: { start: number, end: number } }>
}

/** A CAR, or several CARs (shards of one DAG, in order): bytes, Blobs, streams or Shards. */
export type CarInput =
  | Uint8Array
  | ArrayBuffer
  | Blob
  | ReadableStream<Uint8Array>
  | Array<Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | Shard>

export interface CarOptions {
  /** Must be among the declared roots (verifyCar); the tree to list (ls/unpack; default the first declared root). */
  root?: string
  /**
   * ls/unpack: fail with `TooManyEntries` past this many entries (default 10,000,000, as the
   * CLI's `--max-entries`): a few kilobytes of hostile DAG can name a billion entries.
   */
  maxEntries?: number
  signal?: AbortSignal
  worker?: PackOptions['worker']
}

export interface VerifyReport {
  version: number
  roots: string[]
  blocks: number
  /** Bytes of block data. */
  dataBytes: number
}

export interface ListEntry {
  /** '' for the root. */
  path: string
  cid: string
  type: 'file' | 'directory' | 'symlink'
  size?: number
  target?: string
  mode?: number
}

export interface UnpackEntry extends ListEntry {
  /** A file's bytes. */
  content?: Blob
}

/** Every error carport throws (besides AbortError): `code` names core's typed error. */
export class CarportError extends Error {
  name: 'CarportError'
  /**
   * 'HashMismatch' | 'MissingBlock' | 'TruncatedBlock' | 'Truncated' | 'CarHeader' | 'CarVersion' |
   * 'SectionTooLarge' | 'BadCid' | 'CarIndex' | 'UnsupportedHash' | 'Decode' | 'NoRoots' |
   * 'WrongRoot' | 'NotUnixfs' | 'NotAFile' | 'TooManyEntries' | 'BadName' | 'DuplicateName' | 'RepeatedShard' (ls/unpack: a folder
   * whose names are unsafe; `cid` is the folder's) | 'BlockSizes' | 'FileLength' (unpack: a file whose
   * leaves disagree with the sizes its node records; `cid` is the node's) | 'Settings' | 'ShardSize' | 'BlockTooLarge' | 'Import' | 'Worker' |
   * 'NotReadable' (a File that changed or went away after it was picked, or a Blob the browser no longer holds) | …
   */
  code: string
  /** The block at fault. */
  cid?: string
  /** Byte offset in the CAR (of the block's section). */
  offset?: number
  /** Which CAR of an array. */
  shard?: number
}

export function pack (input: PackInput, options?: PackOptions): PackJob
export function verifyCar (input: CarInput, options?: CarOptions): Promise<VerifyReport>
export function ls (input: CarInput, options?: CarOptions): Promise<ListEntry[]>
export function unpack (input: CarInput, options?: CarOptions): Promise<UnpackEntry[]>
export function pieceCid (input: Blob | Uint8Array | ReadableStream<Uint8Array>, options?: { signal?: AbortSignal }): Promise<PieceInfo>
export function carCid (car: Blob | Uint8Array): Promise<string>
/** An archive record, as the edge worker's `GET /archive/{root}` answers. */
export interface ArchiveRecord {
  root: string
  /** The shard that declares the root arrived and the DAG was found complete. */
  complete: boolean
  /** The least advanced shard's stage. */
  stage: ArchiveStage
  shards: Array<{
    car: string
    size: number
    /** v2 piece CID of the shard. */
    piece: string
    stage: ArchiveStage
    /** v2 piece CID of the aggregate (deal) the piece is in. */
    aggregate?: string
    /** FRC-0058 inclusion proof: dag-cbor in unpadded base64url. */
    inclusionProof?: string
    deal?: { proposal: string, dealId?: string, provider?: string }
    times: { stored: number, aggregated?: number, offered?: number, complete?: number, updated: number }
    note?: string
  }>
}

export type ArchiveStage = 'stored' | 'aggregated' | 'offered' | 'accepted' | 'processing' | 'sealing' | 'complete'

export interface ArchiveCheck {
  piece: string
  aggregate: string
  stage: ArchiveStage
  deal?: { proposal: string, dealId?: string, provider?: string }
}

/**
 * Checks that the record's inclusion proof places `pieceCid` (which you computed yourself, e.g.
 * `shard.piece.cid` from `pack`) in the record's aggregate. Throws a CarportError with code
 * 'NoSuchPiece' | 'NotAggregated' | 'BadProof' | 'NotIncluded' | 'BadCid' | 'ArchiveRecord'.
 */
export function verifyArchive (record: ArchiveRecord, options: { pieceCid: string }): Promise<ArchiveCheck>
export function verifyArchive (record: ArchiveRecord, options: { pieceCid: string[] }): Promise<ArchiveCheck[]>
/** Multihash digest with carport's Wasm hashes (benchmarks). */
export function digest (alg: 'sha2-256' | 'blake3', bytes: Uint8Array): Promise<Uint8Array>
/** Bytes of this thread's Wasm memory. */
export function heapSize (): Promise<number>

/** A new IPNS name: an Ed25519 key made with WebCrypto where the runtime has it, else in Wasm. */
export const createName: Ipns['createName']
/** The name's key, for the user to keep (whoever holds it can publish under the name). */
export const exportName: Ipns['exportName']
/** A name back from what `exportName` gave. */
export const importName: Ipns['importName']
/** Signs a record pointing the name at `cid` and PUTs it to `options.endpoint`'s `/routing/v1/ipns/`. */
export const publish: Ipns['publish']
/** The name's record from `options.endpoint`, validated for the name now; null when there is none. */
export const resolve: Ipns['resolve']
/** Optional: where the .wasm is (browsers: URL, Response, bytes or WebAssembly.Module; Node: bytes). */
export function init (source?: unknown): Promise<void>

/** An IPNS name and its Ed25519 key (made by `createName`, or back from `importName`). */
export interface IpnsName {
  /** The name, `k51…` (base36 libp2p-key CID): `https://{name}.ipns.{gateway}/`. */
  readonly name: string
  readonly keyType: 'Ed25519'
  /** Where the key was made: WebCrypto's Ed25519, Wasm (no WebCrypto Ed25519 here), or imported. */
  readonly madeBy: 'webcrypto' | 'wasm' | 'import'
  /** A copy of the 32-byte private seed: whoever has it can publish under the name. */
  seed (): Uint8Array
}

/** `exportName`'s form of a key: JSON-safe, and as secret as the key. */
export interface ExportedIpnsName {
  type: 'carport-ipns-ed25519'
  name: string
  /** The seed, base64url. */
  seed: string
}

export interface IpnsOptions {
  /** The Delegated Routing V1 endpoint, e.g. the carport worker's origin. */
  endpoint: string | URL
  signal?: AbortSignal
}

export interface PublishOptions extends IpnsOptions {
  /** How long resolvers may cache the record, in ms (default 5 minutes). */
  ttl?: number
  /** How long the record is valid from now, in ms (default 48 hours). */
  validity?: number
  /** The record's sequence (default: one more than the endpoint's current record, 0 if none). */
  sequence?: number
}

/** A record resolved and validated (signature, name, expiry) at the time of the call. */
export interface ResolvedName {
  name: string
  /** The content path the name points at, e.g. `/ipfs/bafy…`. */
  value: string
  /** The CID of an `/ipfs/` value, else null. */
  cid: string | null
  sequence: number
  /** The end of the record's validity, RFC 3339. */
  validity: string
  validityMs: number
  ttlMs: number
  /** The record's bytes (`application/vnd.ipfs.ipns-record`). */
  record: Uint8Array
}

/**
 * IPNS over a Delegated Routing V1 endpoint (`src/ipns.js`). Publishing and resolving throw a
 * CarportError whose code is the endpoint's or core's (`IpnsBadSignature`, `IpnsExpired`,
 * `IpnsWrongName`, `IpnsSequenceRollback`, `IpnsTooLarge`, `RateLimited`, …).
 */
export interface Ipns {
  createName (): Promise<IpnsName>
  exportName (name: IpnsName): ExportedIpnsName
  importName (exported: ExportedIpnsName): Promise<IpnsName>
  publish (name: IpnsName, cid: string, options: PublishOptions): Promise<{ name: string, value: string, sequence: number, record: Uint8Array }>
  /** The validated record, or null when the endpoint has none. */
  resolve (name: string | IpnsName, options: IpnsOptions): Promise<ResolvedName | null>
}
