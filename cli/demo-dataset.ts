/**
 * The demo corpus (State of the Union addresses, char-level) as a content-addressed dataset: packed
 * deterministically (same manifest hash on every machine) and uploaded by `./run start`.
 */
import type { Hex } from "viem";
import type { BlobStore } from "../blobstore/types.ts";
import { loadCorpus } from "../worker/diloco/data/index.ts";
import { packDataset } from "../worker/diloco/data/dataset.ts";
import { charTokenizer } from "../worker/diloco/data/tokenizer.ts";

export const DEMO_SHARD_TOKENS = 65536;

export async function uploadDemoDataset(blobs: BlobStore): Promise<{ hash: Hex; shardsPerRound: number; shards: number }> {
  const corpus = loadCorpus();
  const packed = packDataset({ name: "sotu-char", tokenizer: charTokenizer(), documents: corpus.documents.map((d) => d.tokens), shardTokens: DEMO_SHARD_TOKENS, evalEvery: 10 });
  for (const [hash, bytes] of packed.blobs) if (!(await blobs.has(hash))) await blobs.put(bytes);
  return { hash: packed.manifestHash, shardsPerRound: 2, shards: packed.manifest.train.length };
}
