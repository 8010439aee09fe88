-- DropIndex
DROP INDEX "challenge_worker_id_idx";

-- DropIndex
DROP INDEX "challenge_challenger_id_idx";

-- DropIndex
DROP INDEX "challenge_jobId_idx";

-- AlterTable
ALTER TABLE "commitment" ADD COLUMN "traceRoot" TEXT;

-- DropTable
PRAGMA foreign_keys=off;
DROP TABLE "challenge";
PRAGMA foreign_keys=on;

-- CreateTable
CREATE TABLE "dispute" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "worker" TEXT,
    "challenger" TEXT NOT NULL,
    "bond" TEXT NOT NULL,
    "settlement" BOOLEAN NOT NULL,
    "updateHash" TEXT,
    "traceRoot" TEXT,
    "lo" INTEGER,
    "hi" INTEGER,
    "mid" INTEGER,
    "loLeaf" TEXT,
    "hiLeaf" TEXT,
    "midLeaf" TEXT,
    "moveCount" INTEGER NOT NULL,
    "deadline" BIGINT,
    "pauseBase" BIGINT NOT NULL,
    "panelCount" INTEGER NOT NULL,
    "votes" INTEGER NOT NULL,
    "verdict" TEXT,
    "paidMask" BIGINT,
    "wrongMask" BIGINT,
    "openedBlock" BIGINT NOT NULL,
    "openedAt" BIGINT NOT NULL,
    "txHash" TEXT NOT NULL,
    "resolvedBlock" BIGINT,
    "resolvedAt" BIGINT,
    "updatedBlock" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "dispute_move" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "disputeId" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "leaf" TEXT,
    "agree" BOOLEAN,
    "agreedIndex" INTEGER,
    "agreedLeaf" TEXT,
    "deadline" BIGINT,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "dispute_panel" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "disputeId" BIGINT NOT NULL,
    "number" INTEGER NOT NULL,
    "size" INTEGER NOT NULL,
    "votes" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "deadline" BIGINT NOT NULL,
    "drawnBlock" BIGINT NOT NULL,
    "drawnAt" BIGINT NOT NULL,
    "txHash" TEXT NOT NULL,
    "closedBlock" BIGINT,
    "updatedBlock" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "panel_member" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "disputeId" BIGINT NOT NULL,
    "panelId" TEXT NOT NULL,
    "panelNumber" INTEGER NOT NULL,
    "referee" TEXT NOT NULL,
    "vote" TEXT,
    "stepCorrect" BOOLEAN,
    "votedBlock" BIGINT,
    "votedAt" BIGINT,
    "slashed" TEXT,
    "updatedBlock" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "referee" (
    "address" TEXT NOT NULL PRIMARY KEY,
    "registered" BOOLEAN NOT NULL,
    "stake" TEXT NOT NULL,
    "slashed" TEXT NOT NULL,
    "slashCount" INTEGER NOT NULL,
    "openPanels" INTEGER NOT NULL,
    "panelsDrawn" INTEGER NOT NULL,
    "votesCast" INTEGER NOT NULL,
    "registeredBlock" BIGINT NOT NULL,
    "registeredAt" BIGINT NOT NULL,
    "leftAt" BIGINT,
    "updatedBlock" BIGINT NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_job" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "poster" TEXT NOT NULL,
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
    "reserved" TEXT NOT NULL DEFAULT '0',
    "openDisputes" INTEGER NOT NULL DEFAULT 0,
    "cancelAt" BIGINT,
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
    "name" TEXT,
    "sample" TEXT,
    "samplePrompt" TEXT,
    "sampleModelHash" TEXT
);
INSERT INTO "new_job" ("activeWorkerCount", "challengeBond", "challengeWindow", "commitWindow", "createdAt", "createdBlock", "currentRound", "endedAt", "escrow", "escrowInitial", "feePerReward", "id", "initialModelHash", "joinDeadline", "joinWindow", "maxWorkers", "minWorkers", "modelHash", "name", "penaltyBps", "poster", "quorumBps", "refunded", "rewardPerRound", "rounds", "roundsFinalized", "sample", "sampleModelHash", "samplePrompt", "slashed", "specHash", "startedAt", "status", "token", "totalPaid", "txHash", "updatedBlock", "voteWindow", "workerBond", "workerCount") SELECT "activeWorkerCount", "challengeBond", "challengeWindow", "commitWindow", "createdAt", "createdBlock", "currentRound", "endedAt", "escrow", "escrowInitial", "feePerReward", "id", "initialModelHash", "joinDeadline", "joinWindow", "maxWorkers", "minWorkers", "modelHash", "name", "penaltyBps", "poster", "quorumBps", "refunded", "rewardPerRound", "rounds", "roundsFinalized", "sample", "sampleModelHash", "samplePrompt", "slashed", "specHash", "startedAt", "status", "token", "totalPaid", "txHash", "updatedBlock", "voteWindow", "workerBond", "workerCount" FROM "job";
DROP TABLE "job";
ALTER TABLE "new_job" RENAME TO "job";
CREATE INDEX "job_status_id_idx" ON "job"("status", "id");
CREATE INDEX "job_poster_id_idx" ON "job"("poster", "id");
CREATE INDEX "job_token_id_idx" ON "job"("token", "id");
CREATE INDEX "job_createdAt_id_idx" ON "job"("createdAt", "id");
CREATE INDEX "job_updatedBlock_idx" ON "job"("updatedBlock");
CREATE TABLE "new_job_worker" (
    "id" TEXT NOT NULL PRIMARY KEY,
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
    "clawedBack" TEXT NOT NULL DEFAULT '0',
    "commits" INTEGER NOT NULL,
    "openDisputes" INTEGER NOT NULL DEFAULT 0,
    "joinedBlock" BIGINT NOT NULL,
    "joinedAt" BIGINT NOT NULL,
    "updatedBlock" BIGINT NOT NULL
);
INSERT INTO "new_job_worker" ("active", "bond", "bondReleased", "bondReleasedAmount", "commits", "earned", "id", "index", "jobId", "joinedAt", "joinedBlock", "removedAt", "removedReason", "slashed", "updatedBlock", "worker") SELECT "active", "bond", "bondReleased", "bondReleasedAmount", "commits", "earned", "id", "index", "jobId", "joinedAt", "joinedBlock", "removedAt", "removedReason", "slashed", "updatedBlock", "worker" FROM "job_worker";
DROP TABLE "job_worker";
ALTER TABLE "new_job_worker" RENAME TO "job_worker";
CREATE INDEX "job_worker_worker_jobId_idx" ON "job_worker"("worker", "jobId");
CREATE UNIQUE INDEX "job_worker_jobId_index_key" ON "job_worker"("jobId", "index");
CREATE TABLE "new_round" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" BIGINT NOT NULL,
    "round" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "startModelHash" TEXT NOT NULL,
    "resultModelHash" TEXT,
    "commitDeadline" BIGINT NOT NULL,
    "voteDeadline" BIGINT,
    "pauseBase" BIGINT NOT NULL DEFAULT 0,
    "committedMask" BIGINT NOT NULL,
    "votedMask" BIGINT NOT NULL,
    "includedMask" BIGINT,
    "rewardedMask" BIGINT,
    "totalPaid" TEXT,
    "commitCount" INTEGER NOT NULL,
    "voteCount" INTEGER NOT NULL,
    "trainLossSum" TEXT NOT NULL,
    "evalLoss" REAL,
    "evalLossSource" TEXT,
    "reserved" TEXT,
    "reserveRefunded" TEXT,
    "verdict" TEXT,
    "verdictModelHash" TEXT,
    "verdictIncludedMask" BIGINT,
    "verdictPaidMask" BIGINT,
    "verdictWrongMask" BIGINT,
    "verdictBlock" BIGINT,
    "verdictAt" BIGINT,
    "clawedBack" TEXT NOT NULL DEFAULT '0',
    "startedBlock" BIGINT NOT NULL,
    "startedAt" BIGINT NOT NULL,
    "closedBlock" BIGINT,
    "closedAt" BIGINT,
    "updatedBlock" BIGINT NOT NULL
);
INSERT INTO "new_round" ("closedAt", "closedBlock", "commitCount", "commitDeadline", "committedMask", "evalLoss", "evalLossSource", "id", "includedMask", "jobId", "resultModelHash", "rewardedMask", "round", "startModelHash", "startedAt", "startedBlock", "status", "totalPaid", "trainLossSum", "updatedBlock", "voteCount", "voteDeadline", "votedMask") SELECT "closedAt", "closedBlock", "commitCount", "commitDeadline", "committedMask", "evalLoss", "evalLossSource", "id", "includedMask", "jobId", "resultModelHash", "rewardedMask", "round", "startModelHash", "startedAt", "startedBlock", "status", "totalPaid", "trainLossSum", "updatedBlock", "voteCount", "voteDeadline", "votedMask" FROM "round";
DROP TABLE "round";
ALTER TABLE "new_round" RENAME TO "round";
CREATE INDEX "round_status_closedBlock_idx" ON "round"("status", "closedBlock");
CREATE INDEX "round_updatedBlock_idx" ON "round"("updatedBlock");
CREATE UNIQUE INDEX "round_jobId_round_key" ON "round"("jobId", "round");
CREATE TABLE "new_account" (
    "address" TEXT NOT NULL PRIMARY KEY,
    "credited" TEXT NOT NULL,
    "withdrawn" TEXT NOT NULL,
    "balance" TEXT NOT NULL,
    "gameCredited" TEXT NOT NULL DEFAULT '0',
    "gameWithdrawn" TEXT NOT NULL DEFAULT '0',
    "gameBalance" TEXT NOT NULL DEFAULT '0',
    "updatedBlock" BIGINT NOT NULL
);
INSERT INTO "new_account" ("address", "balance", "credited", "updatedBlock", "withdrawn") SELECT "address", "balance", "credited", "updatedBlock", "withdrawn" FROM "account";
DROP TABLE "account";
ALTER TABLE "new_account" RENAME TO "account";
CREATE TABLE "new_network" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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
    "disputeGame" TEXT,
    "pausedTotal" BIGINT NOT NULL DEFAULT 0,
    "pausedSince" BIGINT,
    "maxPenaltyBps" INTEGER,
    "minCommitWindow" INTEGER,
    "minVoteWindow" INTEGER,
    "minChallengeWindow" INTEGER,
    "minBondToReward" BIGINT,
    "maxBondToReward" BIGINT,
    "disputesOpened" INTEGER NOT NULL DEFAULT 0,
    "disputesOpen" INTEGER NOT NULL DEFAULT 0,
    "referees" INTEGER NOT NULL DEFAULT 0,
    "minStake" TEXT,
    "unbondingDelay" BIGINT,
    "updatedBlock" BIGINT NOT NULL
);
INSERT INTO "new_network" ("challengeBountyBps", "escrowed", "eventsIndexed", "feesPaid", "id", "jobsCreated", "minStake", "protocolFeeBps", "refunded", "registeredProviders", "rewardsPaid", "slashed", "treasury", "unbondingDelay", "updatedBlock", "withdrawn") SELECT "challengeBountyBps", "escrowed", "eventsIndexed", "feesPaid", "id", "jobsCreated", "minStake", "protocolFeeBps", "refunded", "registeredProviders", "rewardsPaid", "slashed", "treasury", "unbondingDelay", "updatedBlock", "withdrawn" FROM "network";
DROP TABLE "network";
ALTER TABLE "new_network" RENAME TO "network";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "dispute_jobId_round_idx" ON "dispute"("jobId", "round");

-- CreateIndex
CREATE INDEX "dispute_worker_id_idx" ON "dispute"("worker", "id");

-- CreateIndex
CREATE INDEX "dispute_challenger_id_idx" ON "dispute"("challenger", "id");

-- CreateIndex
CREATE INDEX "dispute_phase_id_idx" ON "dispute"("phase", "id");

-- CreateIndex
CREATE INDEX "dispute_updatedBlock_idx" ON "dispute"("updatedBlock");

-- CreateIndex
CREATE INDEX "dispute_move_disputeId_block_logIndex_idx" ON "dispute_move"("disputeId", "block", "logIndex");

-- CreateIndex
CREATE INDEX "dispute_move_block_idx" ON "dispute_move"("block");

-- CreateIndex
CREATE INDEX "dispute_panel_disputeId_number_idx" ON "dispute_panel"("disputeId", "number");

-- CreateIndex
CREATE INDEX "panel_member_disputeId_idx" ON "panel_member"("disputeId");

-- CreateIndex
CREATE INDEX "panel_member_panelId_idx" ON "panel_member"("panelId");

-- CreateIndex
CREATE INDEX "panel_member_referee_disputeId_idx" ON "panel_member"("referee", "disputeId");

-- CreateIndex
CREATE INDEX "referee_registered_idx" ON "referee"("registered");
