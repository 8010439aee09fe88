-- CreateTable
CREATE TABLE "provider" (
    "address" TEXT NOT NULL,
    "attestationSigner" TEXT NOT NULL,
    "attestationReportHash" TEXT NOT NULL,
    "metadataURI" TEXT NOT NULL,
    "stake" TEXT NOT NULL,
    "bonded" TEXT NOT NULL,
    "unbonding" TEXT NOT NULL,
    "unbondingReadyAt" BIGINT,
    "slashedTotal" TEXT NOT NULL,
    "jobsJoined" INTEGER NOT NULL,
    "activeJobs" INTEGER NOT NULL,
    "registeredBlock" BIGINT NOT NULL,
    "registeredAt" BIGINT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "provider_pkey" PRIMARY KEY ("address")
);

-- CreateTable
CREATE TABLE "stake_change" (
    "id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "stakeAfter" TEXT,
    "market" TEXT,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "stake_change_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job" (
    "id" BIGINT NOT NULL,
    "poster" TEXT NOT NULL,
    "arbiter" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "specHash" TEXT NOT NULL,
    "initialModelHash" TEXT NOT NULL,
    "modelHash" TEXT NOT NULL,
    "rewardPerRound" TEXT NOT NULL,
    "workerBond" TEXT NOT NULL,
    "challengeBond" TEXT NOT NULL,
    "rounds" INTEGER NOT NULL,
    "maxWorkers" INTEGER NOT NULL,
    "minWorkers" INTEGER NOT NULL,
    "quorumBps" INTEGER NOT NULL,
    "penaltyBps" INTEGER NOT NULL,
    "joinWindow" INTEGER NOT NULL,
    "commitWindow" INTEGER NOT NULL,
    "voteWindow" INTEGER NOT NULL,
    "challengeWindow" INTEGER NOT NULL,
    "feePerReward" TEXT NOT NULL,
    "escrowInitial" TEXT NOT NULL,
    "escrow" TEXT NOT NULL,
    "totalPaid" TEXT NOT NULL,
    "refunded" TEXT NOT NULL,
    "slashed" TEXT NOT NULL,
    "workerCount" INTEGER NOT NULL,
    "activeWorkerCount" INTEGER NOT NULL,
    "currentRound" INTEGER,
    "roundsFinalized" INTEGER NOT NULL,
    "createdAt" BIGINT NOT NULL,
    "joinDeadline" BIGINT NOT NULL,
    "startedAt" BIGINT,
    "endedAt" BIGINT,
    "createdBlock" BIGINT NOT NULL,
    "txHash" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_worker" (
    "id" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "worker" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "bond" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL,
    "removedReason" TEXT,
    "removedAt" BIGINT,
    "bondReleased" BOOLEAN NOT NULL,
    "bondReleasedAmount" TEXT,
    "earned" TEXT NOT NULL,
    "slashed" TEXT NOT NULL,
    "commits" INTEGER NOT NULL,
    "openChallenges" INTEGER NOT NULL,
    "joinedBlock" BIGINT NOT NULL,
    "joinedAt" BIGINT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "job_worker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "round" (
    "id" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "startModelHash" TEXT NOT NULL,
    "resultModelHash" TEXT,
    "commitDeadline" BIGINT NOT NULL,
    "voteDeadline" BIGINT,
    "committedMask" BIGINT NOT NULL,
    "votedMask" BIGINT NOT NULL,
    "includedMask" BIGINT,
    "rewardedMask" BIGINT,
    "totalPaid" TEXT,
    "commitCount" INTEGER NOT NULL,
    "voteCount" INTEGER NOT NULL,
    "trainLossSum" TEXT NOT NULL,
    "evalLoss" DOUBLE PRECISION,
    "evalLossSource" TEXT,
    "startedBlock" BIGINT NOT NULL,
    "startedAt" BIGINT NOT NULL,
    "closedBlock" BIGINT,
    "closedAt" BIGINT,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "round_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "commitment" (
    "id" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "updateHash" TEXT NOT NULL,
    "trainLoss" TEXT NOT NULL,
    "loss" DOUBLE PRECISION NOT NULL,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "commitment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vote" (
    "id" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "modelHash" TEXT NOT NULL,
    "includedMask" BIGINT NOT NULL,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "vote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payout" (
    "id" TEXT NOT NULL,
    "account" TEXT NOT NULL,
    "jobId" BIGINT,
    "kind" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "payout_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "address" TEXT NOT NULL,
    "credited" TEXT NOT NULL,
    "withdrawn" TEXT NOT NULL,
    "balance" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "account_pkey" PRIMARY KEY ("address")
);

-- CreateTable
CREATE TABLE "slash" (
    "id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "slash_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "challenge" (
    "id" BIGINT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "challenger" TEXT NOT NULL,
    "bond" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "slashed" TEXT,
    "bounty" TEXT,
    "bondPaidOut" TEXT,
    "openedBlock" BIGINT NOT NULL,
    "openedAt" BIGINT NOT NULL,
    "resolvedBlock" BIGINT,
    "resolvedAt" BIGINT,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "challenge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "network" (
    "id" INTEGER NOT NULL,
    "jobsCreated" INTEGER NOT NULL,
    "registeredProviders" INTEGER NOT NULL,
    "escrowed" TEXT NOT NULL,
    "rewardsPaid" TEXT NOT NULL,
    "feesPaid" TEXT NOT NULL,
    "refunded" TEXT NOT NULL,
    "slashed" TEXT NOT NULL,
    "withdrawn" TEXT NOT NULL,
    "eventsIndexed" BIGINT NOT NULL,
    "treasury" TEXT,
    "protocolFeeBps" INTEGER,
    "challengeBountyBps" INTEGER,
    "arbitrationPeriod" BIGINT,
    "minStake" TEXT,
    "unbondingDelay" BIGINT,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "network_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_checkpoint" (
    "chainId" INTEGER NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "blockHash" TEXT NOT NULL,
    "contracts" TEXT NOT NULL,
    "startBlock" BIGINT NOT NULL,
    "finalizedBlock" BIGINT NOT NULL,
    "syncedAt" BIGINT NOT NULL,

    CONSTRAINT "sync_checkpoint_pkey" PRIMARY KEY ("chainId")
);

-- CreateTable
CREATE TABLE "block" (
    "number" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "parentHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "block_pkey" PRIMARY KEY ("number")
);

-- CreateTable
CREATE TABLE "reorg_journal" (
    "id" SERIAL NOT NULL,
    "block" BIGINT NOT NULL,
    "tableName" TEXT NOT NULL,
    "pk" TEXT NOT NULL,
    "before" TEXT,

    CONSTRAINT "reorg_journal_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "provider_activeJobs_idx" ON "provider"("activeJobs");

-- CreateIndex
CREATE INDEX "provider_registeredAt_idx" ON "provider"("registeredAt");

-- CreateIndex
CREATE INDEX "provider_updatedBlock_idx" ON "provider"("updatedBlock");

-- CreateIndex
CREATE INDEX "stake_change_provider_block_logIndex_idx" ON "stake_change"("provider", "block", "logIndex");

-- CreateIndex
CREATE INDEX "job_status_id_idx" ON "job"("status", "id");

-- CreateIndex
CREATE INDEX "job_poster_id_idx" ON "job"("poster", "id");

-- CreateIndex
CREATE INDEX "job_token_id_idx" ON "job"("token", "id");

-- CreateIndex
CREATE INDEX "job_createdAt_id_idx" ON "job"("createdAt", "id");

-- CreateIndex
CREATE INDEX "job_updatedBlock_idx" ON "job"("updatedBlock");

-- CreateIndex
CREATE INDEX "job_worker_worker_jobId_idx" ON "job_worker"("worker", "jobId");

-- CreateIndex
CREATE UNIQUE INDEX "job_worker_jobId_index_key" ON "job_worker"("jobId", "index");

-- CreateIndex
CREATE INDEX "round_status_closedBlock_idx" ON "round"("status", "closedBlock");

-- CreateIndex
CREATE INDEX "round_updatedBlock_idx" ON "round"("updatedBlock");

-- CreateIndex
CREATE UNIQUE INDEX "round_jobId_round_key" ON "round"("jobId", "round");

-- CreateIndex
CREATE INDEX "commitment_jobId_round_worker_idx" ON "commitment"("jobId", "round", "worker");

-- CreateIndex
CREATE INDEX "commitment_worker_block_idx" ON "commitment"("worker", "block");

-- CreateIndex
CREATE INDEX "commitment_block_idx" ON "commitment"("block");

-- CreateIndex
CREATE INDEX "vote_jobId_round_worker_idx" ON "vote"("jobId", "round", "worker");

-- CreateIndex
CREATE INDEX "payout_account_block_logIndex_idx" ON "payout"("account", "block", "logIndex");

-- CreateIndex
CREATE INDEX "payout_jobId_idx" ON "payout"("jobId");

-- CreateIndex
CREATE INDEX "slash_provider_block_logIndex_idx" ON "slash"("provider", "block", "logIndex");

-- CreateIndex
CREATE INDEX "slash_jobId_idx" ON "slash"("jobId");

-- CreateIndex
CREATE INDEX "challenge_worker_id_idx" ON "challenge"("worker", "id");

-- CreateIndex
CREATE INDEX "challenge_challenger_id_idx" ON "challenge"("challenger", "id");

-- CreateIndex
CREATE INDEX "challenge_jobId_idx" ON "challenge"("jobId");

-- CreateIndex
CREATE INDEX "reorg_journal_block_idx" ON "reorg_journal"("block");
