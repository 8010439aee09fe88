/** The GraphQL schema (SDL). `schema.graphql` at the repository root is printed from it (npm run api:schema). */
const page = (name: string) => `
"""A page of ${name} items: cursors are opaque; totalCount counts every item matching the filter."""
type ${name}Page {
  items: [${name}!]!
  pageInfo: PageInfo!
  totalCount: Int!
}`;

const pageArgs = `first: Int, after: String, last: Int, before: String`;

export const typeDefs = /* GraphQL */ `
"""An unsigned integer of any size (uint256 amounts, ids, block numbers) as a decimal string."""
scalar BigInt
"""A 20-byte address, EIP-55 checksummed on output; any case accepted on input."""
scalar Address
"""A 32-byte hash, 0x-prefixed lower-case hex."""
scalar Bytes32
"""Bytes of any length (at most 1 KiB), 0x-prefixed hex."""
scalar Bytes

enum JobStatus { Open Running Completed Cancelled Failed }
enum RoundStatus { Active Finalized Expired Aborted }
enum ChallengeStatus { Open Upheld Rejected Expired }
enum PenaltyReason { Absent Dissent Excluded Fraud NoVote }
"""Credit kinds (TrainingMarket.CreditKind) and Withdrawal."""
enum PayoutKind { Reward Fee Refund SlashProceeds ChallengeBondReturn ChallengeBounty ChallengeBondForfeit Withdrawal }
enum OrderDirection { asc desc }
enum JobOrderBy { id createdAt }
enum ProviderOrderBy { address registeredAt activeJobs jobsJoined }
enum ChallengeOrderBy { id openedAt }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  job(id: BigInt!): Job
  """Jobs, filtered and ordered; page with first/after (forward) or last/before (backward), at most 100 per page."""
  jobs(where: JobFilter, orderBy: JobOrderBy = id, orderDirection: OrderDirection = asc, ${pageArgs}): JobPage!
  provider(address: Address!): Provider
  providers(where: ProviderFilter, orderBy: ProviderOrderBy = address, orderDirection: OrderDirection = asc, ${pageArgs}): ProviderPage!
  round(jobId: BigInt!, round: Int!): Round
  """Pull-payment account totals of an address."""
  account(address: Address!): Account
  """Credits and withdrawals of an address, newest first unless orderDirection: asc."""
  payouts(account: Address!, kind_in: [PayoutKind!], orderDirection: OrderDirection = desc, ${pageArgs}): PayoutPage!
  """Penalties of a provider, newest first unless orderDirection: asc."""
  slashes(provider: Address!, orderDirection: OrderDirection = desc, ${pageArgs}): SlashPage!
  challenges(where: ChallengeFilter, orderBy: ChallengeOrderBy = id, orderDirection: OrderDirection = asc, ${pageArgs}): ChallengePage!
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
}

input JobFilter {
  id: BigInt
  id_in: [BigInt!]
  id_not: BigInt
  id_gt: BigInt
  id_lt: BigInt
  id_gte: BigInt
  id_lte: BigInt
  status: JobStatus
  status_in: [JobStatus!]
  status_not: JobStatus
  poster: Address
  poster_in: [Address!]
  poster_not: Address
  arbiter: Address
  """Jobs in which this address joined as a worker."""
  worker: Address
  worker_in: [Address!]
  token: Address
  token_in: [Address!]
  token_not: Address
  """Creation time, unix seconds."""
  createdAt_gt: BigInt
  createdAt_lt: BigInt
  createdAt_gte: BigInt
  createdAt_lte: BigInt
}

input ProviderFilter {
  address_in: [Address!]
  address_not: Address
  """Providers that are active workers in at least this many open or running jobs."""
  activeJobs_gte: Int
  activeJobs_gt: Int
  activeJobs_lt: Int
  registeredAt_gt: BigInt
  registeredAt_lt: BigInt
  registeredAt_gte: BigInt
  registeredAt_lte: BigInt
}

input ChallengeFilter {
  jobId: BigInt
  worker: Address
  challenger: Address
  status: ChallengeStatus
  status_in: [ChallengeStatus!]
  status_not: ChallengeStatus
}

type Job {
  id: BigInt!
  poster: Address!
  arbiter: Address!
  token: Address!
  status: JobStatus!
  specHash: Bytes32!
  initialModelHash: Bytes32!
  """The current global model (the final one once Completed)."""
  modelHash: Bytes32!
  rewardPerRound: BigInt!
  workerBond: BigInt!
  challengeBond: BigInt!
  rounds: Int!
  maxWorkers: Int!
  minWorkers: Int!
  quorumBps: Int!
  penaltyBps: Int!
  joinWindow: Int!
  commitWindow: Int!
  voteWindow: Int!
  challengeWindow: Int!
  feePerReward: BigInt!
  escrowInitial: BigInt!
  """Escrow still locked (0 once the job ended)."""
  escrow: BigInt!
  totalPaid: BigInt!
  refunded: BigInt!
  slashed: BigInt!
  workerCount: Int!
  activeWorkerCount: Int!
  currentRound: Int
  roundsFinalized: Int!
  createdAt: BigInt!
  joinDeadline: BigInt!
  startedAt: BigInt
  endedAt: BigInt
  createdBlock: BigInt!
  txHash: Bytes32!
  workers: [JobWorker!]!
  """Rounds in order (at most 100 per call)."""
  roundList(first: Int = 100, skip: Int = 0): [Round!]!
  """Per round: mean and per-worker train loss, and the off-chain eval loss when reported."""
  lossCurve: [LossPoint!]!
  challenges: [Challenge!]!
}

type JobWorker {
  job: Job!
  worker: Address!
  provider: Provider
  index: Int!
  bond: BigInt!
  active: Boolean!
  removedReason: PenaltyReason
  removedAt: BigInt
  bondReleased: Boolean!
  earned: BigInt!
  slashed: BigInt!
  commits: Int!
  openChallenges: Int!
  joinedAt: BigInt!
}

type Round {
  jobId: BigInt!
  job: Job!
  round: Int!
  status: RoundStatus!
  startModelHash: Bytes32!
  resultModelHash: Bytes32
  commitDeadline: BigInt!
  voteDeadline: BigInt
  committedMask: BigInt!
  votedMask: BigInt!
  includedMask: BigInt
  rewardedMask: BigInt
  totalPaid: BigInt
  commitCount: Int!
  voteCount: Int!
  meanTrainLoss: Float
  """Off-chain evaluation loss of the round's result model, when reported."""
  evalLoss: Float
  """Who reported evalLoss ("poster")."""
  evalLossSource: String
  startedAt: BigInt!
  closedAt: BigInt
  commitments: [Commitment!]!
  votes: [Vote!]!
}

type Commitment {
  jobId: BigInt!
  round: Int!
  worker: Address!
  updateHash: Bytes32!
  """On-chain fixed point: loss × 1e6."""
  trainLossRaw: BigInt!
  trainLoss: Float!
  block: BigInt!
  txHash: Bytes32!
  timestamp: BigInt!
}

type Vote {
  jobId: BigInt!
  round: Int!
  worker: Address!
  modelHash: Bytes32!
  includedMask: BigInt!
  """Whether this vote matched the finalized result."""
  agreed: Boolean
  block: BigInt!
  timestamp: BigInt!
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

type Provider {
  address: Address!
  attestationSigner: Address!
  attestationReportHash: Bytes32!
  metadataURI: String!
  stake: BigInt!
  bonded: BigInt!
  unbonding: BigInt!
  unbondingReadyAt: BigInt
  slashedTotal: BigInt!
  jobsJoined: Int!
  activeJobs: Int!
  registeredAt: BigInt!
  """The provider's places in jobs, newest first (at most 100)."""
  jobs(first: Int = 20): [JobWorker!]!
  account: Account
}

type Account {
  address: Address!
  credited: BigInt!
  withdrawn: BigInt!
  """Credited and not yet withdrawn."""
  balance: BigInt!
}

type Payout {
  account: Address!
  jobId: BigInt
  kind: PayoutKind!
  amount: BigInt!
  block: BigInt!
  txHash: Bytes32!
  timestamp: BigInt!
}

type Slash {
  provider: Address!
  jobId: BigInt!
  round: Int!
  reason: PenaltyReason!
  amount: BigInt!
  block: BigInt!
  txHash: Bytes32!
  timestamp: BigInt!
}

type Challenge {
  id: BigInt!
  jobId: BigInt!
  job: Job!
  round: Int!
  worker: Address!
  challenger: Address!
  bond: BigInt!
  status: ChallengeStatus!
  slashed: BigInt
  bounty: BigInt
  bondPaidOut: BigInt
  openedAt: BigInt!
  resolvedAt: BigInt
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

${page("Job")}
${page("Provider")}
${page("Payout")}
${page("Slash")}
${page("Challenge")}
`;
