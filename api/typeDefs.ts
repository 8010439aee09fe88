/**
 * The GraphQL schema (SDL): the hand-written part (scalars, computed types, network totals, the
 * mutation and subscriptions) plus the entity part generated from the data model
 * (api/schema-gen.ts over prisma/schema.prisma). `schema.graphql` at the repository root is
 * printed from it (npm run api:schema).
 */
import { dataModel } from "./model.ts";
import { entitySdl, type Computed } from "./schema-gen.ts";

/** Computed fields of generated types: their SDL and the columns their resolvers read. */
export const computed: Record<string, Record<string, Computed>> = {
  Job: {
    lossCurve: { sdl: `"""Per round: mean and per-worker train loss, and the off-chain eval loss when reported."""\n  lossCurve: [LossPoint!]!`, needs: ["id"] },
  },
  Round: {
    meanTrainLoss: { sdl: `"""Mean of the committed train losses (nats/token)."""\n  meanTrainLoss: Float`, needs: ["trainLossSum", "commitCount"] },
    joined: {
      sdl: `"""Workers activated as this round started (joinedMask): they joined the running job during the previous round. Empty for round 0. In index order."""\n  joined: [JobWorker!]!`,
      needs: ["jobId", "round"],
    },
    departed: {
      sdl: `"""Workers removed from the job during this round (departedMask), with their removedReason. In index order."""\n  departed: [JobWorker!]!`,
      needs: ["jobId", "round"],
    },
  },
  Vote: {
    agreed: { sdl: `"""Whether this vote matched the finalized result."""\n  agreed: Boolean`, needs: ["jobId", "round", "modelHash", "includedMask"] },
  },
};

const handWritten = /* GraphQL */ `
"""An unsigned integer of any size (uint256 amounts, ids, block numbers) as a decimal string."""
scalar BigInt
"""A 20-byte address, EIP-55 checksummed on output; any case accepted on input."""
scalar Address
"""A 32-byte hash, 0x-prefixed lower-case hex."""
scalar Bytes32
"""Bytes of any length (at most 1 KiB), 0x-prefixed hex."""
scalar Bytes

enum OrderDirection { asc desc }

type PageInfo {
  """Whether rows matching the filter follow this page."""
  hasNextPage: Boolean!
  """Whether rows matching the filter precede this page."""
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  networkStats: NetworkStats!
  """Where the indexer is."""
  _meta: Meta
}

type Mutation {
  """
  Reports the off-chain evaluation loss of a finalized round's global model (evalLossSource "poster").
  Only the job's poster: signature is an EIP-191 personal_sign over the canonical message of
  shared/eval-report.ts (chain id, market, job, round, the round's resultModelHash, evalLoss).
  Set once per round: the same value again is a no-op, another one is refused (EVAL_LOSS_ALREADY_REPORTED).
  """
  reportEvalLoss(jobId: BigInt!, round: Int!, evalLoss: Float!, signature: Bytes!): Round!
  """
  Publishes a job's spec (the exact JSON text whose keccak-256 is the job's on-chain specHash, as
  uploaded to the blob store) so that the API can show the job's name. Anyone may send it: the hash
  is the proof (SPEC_HASH_MISMATCH otherwise).
  """
  publishJobSpec(jobId: BigInt!, spec: String!): Job!
  """
  Reports a short text generated from a Completed job's final model, with the prompt it continues.
  Only the job's poster: signature is an EIP-191 personal_sign over the canonical message of
  shared/job-sample.ts (chain id, market, job, final modelHash, prompt, sample). Set once
  (SAMPLE_ALREADY_REPORTED for another text).
  """
  reportJobSample(jobId: BigInt!, modelHash: Bytes32!, prompt: String!, sample: String!, signature: Bytes!): Job!
}

type Subscription {
  """A job row changed (any job, or the one with this id)."""
  jobChanged(id: BigInt): Job!
  """A round was finalized (in any job, or in this one)."""
  roundFinalized(jobId: BigInt): Round!
  """A worker committed an update (in any job, or in this one)."""
  newCommitment(jobId: BigInt): Commitment!
  """An evaluation loss was reported for a round (in any job, or in this one)."""
  evalLossReported(jobId: BigInt): Round!
  """
  A live query: the selected query fields now, then again each time a new block (or an eval-loss
  report) changes their result. Example: subscription { live { jobs(where: { status: Running }) { items { id currentRound } } } }
  """
  live: Query!
}

type LossPoint {
  round: Int!
  status: RoundStatus!
  meanTrainLoss: Float
  evalLoss: Float
  evalLossSource: String
  workers: [WorkerLoss!]!
}

type WorkerLoss {
  worker: Address!
  trainLoss: Float!
}

type StatusCount {
  status: JobStatus!
  count: Int!
}

type NetworkStats {
  jobsTotal: Int!
  jobsByStatus: [StatusCount!]!
  """Escrow locked in open and running jobs."""
  tokensEscrowed: BigInt!
  """Rewards credited to workers plus protocol fees."""
  tokensPaid: BigInt!
  rewardsPaid: BigInt!
  feesPaid: BigInt!
  refunded: BigInt!
  """Stake slashed by the registry."""
  tokensSlashed: BigInt!
  withdrawn: BigInt!
  registeredProviders: Int!
  """Providers working in at least one open or running job."""
  activeProviders: Int!
  eventsIndexed: BigInt!
  protocolFeeBps: Int
  treasury: Address
}

type Meta {
  chainId: Int!
  block: BigInt!
  blockHash: Bytes32!
  """When the indexer last wrote a block (ISO 8601)."""
  syncedAt: String!
}
`;

export const typeDefs = `${handWritten}\n${entitySdl(dataModel(), computed)}\n`;
