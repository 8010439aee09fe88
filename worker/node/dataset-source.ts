/**
 * A job's data on a worker: the dataset manifest fetched by hash and validated, and per round only
 * the shards assigned to this worker (worker/diloco/data/dataset.ts `assignShards`), each verified by
 * hash (the blob store checks keccak-256) and against the manifest, and cached on disk.
 */
import path from "node:path";
import type { Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { assignShards, concatTokens, decodeManifest, decodeShard, DatasetError, type DatasetManifest, type ShardRef, type TokenArray } from "../diloco/data/dataset.ts";
import { keccak256 } from "viem";
import { readBytes, writeBytes } from "../state/json-state.ts";

export class DatasetSource {
  readonly manifest: DatasetManifest;
  readonly hash: Hex;
  readonly #blobs: BlobStore;
  readonly #cacheDir: string | undefined;

  private constructor(hash: Hex, manifest: DatasetManifest, blobs: BlobStore, cacheDir?: string) {
    this.hash = hash;
    this.manifest = manifest;
    this.#blobs = blobs;
    this.#cacheDir = cacheDir;
  }

  static async open(hash: Hex, blobs: BlobStore, cacheDir?: string): Promise<DatasetSource> {
    let bytes: Uint8Array;
    try {
      bytes = await blobs.get(hash);
    } catch (err) {
      throw new DatasetError(`dataset ${hash}: manifest unavailable (${(err as Error).message}); upload it with \`market dataset upload\``);
    }
    return new DatasetSource(hash, decodeManifest(bytes), blobs, cacheDir);
  }

  async #shard(ref: ShardRef): Promise<TokenArray> {
    const file = this.#cacheDir ? path.join(this.#cacheDir, `${ref.hash}.bin`) : undefined;
    let bytes = file ? await readBytes(file) : null;
    if (bytes && keccak256(bytes) !== ref.hash) bytes = null; // a damaged cache entry is refetched
    if (!bytes) {
      try {
        bytes = await this.#blobs.get(ref.hash);
      } catch (err) {
        throw new DatasetError(`dataset ${this.hash}: shard ${ref.hash} unavailable (${(err as Error).message})`);
      }
      if (file) await writeBytes(file, bytes);
    }
    return decodeShard(bytes, { dtype: this.manifest.dtype, tokens: ref.tokens, vocabSize: this.manifest.tokenizer.vocabSize });
  }

  /** The token stream worker `workerIndex` trains on in `round`. */
  async roundTokens(opts: { seed: bigint | number; round: number; workerIndex: number; shardsPerRound: number }): Promise<TokenArray> {
    const idx = assignShards(this.manifest.train.length, opts);
    return concatTokens(await Promise.all(idx.map((i) => this.#shard(this.manifest.train[i]))));
  }

  /** Every held-out evaluation token. */
  async evalTokens(): Promise<TokenArray> {
    return concatTokens(await Promise.all(this.manifest.eval.map((r) => this.#shard(r))));
  }
}
