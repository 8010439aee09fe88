export { loadCorpus, corpusDataDir, CORPUS_PACKAGE, type Corpus, type CorpusDocument } from "./corpus.ts";
export { makeShards, type ShardOptions, type ShardedCorpus } from "./shards.ts";
export { sampleBatch, batchAt, evalOffsets, randomOffsets, type Batch, type BatchKey } from "./batches.ts";
export { encode, decode, normalizeText, VOCAB_SIZE, NEWLINE_ID, UNKNOWN_ID } from "./vocab.ts";
