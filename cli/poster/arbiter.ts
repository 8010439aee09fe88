/**
 * The arbiter's decision on a challenge: replay the challenged round independently; uphold when the
 * replay differs from the commitment, reject when it reproduces it.
 */
import { trainingMarketAbi } from "../../shared/abis.ts";
import { ChallengeStatus } from "../../shared/types.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import type { TxSender } from "../../worker/chain/tx-sender.ts";
import type { MarketReader } from "../../worker/node/market-reader.ts";
import { replayWorker } from "../../worker/node/audit.ts";

export async function decideChallenge(d: { reader: MarketReader; sender: TxSender; blobs: BlobStore }, challengeId: bigint): Promise<{ upheld: boolean; committed: string; replayed: string }> {
  const c = await d.reader.challenge(challengeId);
  if (c.status === 0) throw new Error(`challenge ${challengeId} does not exist`);
  if (ChallengeStatus[c.status] !== "Open") throw new Error(`challenge ${challengeId} is already ${ChallengeStatus[c.status]}`);
  const replay = await replayWorker(d.reader, d.blobs, c.jobId, c.round, c.worker);
  const upheld = !replay.match;
  await d.sender.send({ address: d.reader.addresses.market, abi: trainingMarketAbi, functionName: "resolveChallenge", args: [challengeId, upheld] });
  return { upheld, committed: replay.committedHash, replayed: replay.replayedHash };
}
