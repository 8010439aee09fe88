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
    "joiningWorkerCount" INTEGER NOT NULL DEFAULT 0,
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
INSERT INTO "new_job" ("activeWorkerCount", "cancelAt", "challengeBond", "challengeWindow", "commitWindow", "createdAt", "createdBlock", "currentRound", "endedAt", "escrow", "escrowInitial", "feePerReward", "id", "initialModelHash", "joinDeadline", "joinWindow", "maxWorkers", "minWorkers", "modelHash", "name", "openDisputes", "penaltyBps", "poster", "quorumBps", "refunded", "reserved", "rewardPerRound", "rounds", "roundsFinalized", "sample", "sampleModelHash", "samplePrompt", "slashed", "specHash", "startedAt", "status", "token", "totalPaid", "txHash", "updatedBlock", "voteWindow", "workerBond", "workerCount") SELECT "activeWorkerCount", "cancelAt", "challengeBond", "challengeWindow", "commitWindow", "createdAt", "createdBlock", "currentRound", "endedAt", "escrow", "escrowInitial", "feePerReward", "id", "initialModelHash", "joinDeadline", "joinWindow", "maxWorkers", "minWorkers", "modelHash", "name", "openDisputes", "penaltyBps", "poster", "quorumBps", "refunded", "reserved", "rewardPerRound", "rounds", "roundsFinalized", "sample", "sampleModelHash", "samplePrompt", "slashed", "specHash", "startedAt", "status", "token", "totalPaid", "txHash", "updatedBlock", "voteWindow", "workerBond", "workerCount" FROM "job";
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
    "joining" BOOLEAN NOT NULL DEFAULT false,
    "joinedRound" INTEGER,
    "activeFromRound" INTEGER,
    "removedReason" TEXT,
    "removedAt" BIGINT,
    "removedRound" INTEGER,
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
INSERT INTO "new_job_worker" ("active", "bond", "bondReleased", "bondReleasedAmount", "clawedBack", "commits", "earned", "id", "index", "jobId", "joinedAt", "joinedBlock", "openDisputes", "removedAt", "removedReason", "slashed", "updatedBlock", "worker") SELECT "active", "bond", "bondReleased", "bondReleasedAmount", "clawedBack", "commits", "earned", "id", "index", "jobId", "joinedAt", "joinedBlock", "openDisputes", "removedAt", "removedReason", "slashed", "updatedBlock", "worker" FROM "job_worker";
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
    "activeMask" BIGINT,
    "joinedMask" BIGINT,
    "departedMask" BIGINT,
    "joinedCount" INTEGER NOT NULL DEFAULT 0,
    "departedCount" INTEGER NOT NULL DEFAULT 0,
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
INSERT INTO "new_round" ("clawedBack", "closedAt", "closedBlock", "commitCount", "commitDeadline", "committedMask", "evalLoss", "evalLossSource", "id", "includedMask", "jobId", "pauseBase", "reserveRefunded", "reserved", "resultModelHash", "rewardedMask", "round", "startModelHash", "startedAt", "startedBlock", "status", "totalPaid", "trainLossSum", "updatedBlock", "verdict", "verdictAt", "verdictBlock", "verdictIncludedMask", "verdictModelHash", "verdictPaidMask", "verdictWrongMask", "voteCount", "voteDeadline", "votedMask") SELECT "clawedBack", "closedAt", "closedBlock", "commitCount", "commitDeadline", "committedMask", "evalLoss", "evalLossSource", "id", "includedMask", "jobId", "pauseBase", "reserveRefunded", "reserved", "resultModelHash", "rewardedMask", "round", "startModelHash", "startedAt", "startedBlock", "status", "totalPaid", "trainLossSum", "updatedBlock", "verdict", "verdictAt", "verdictBlock", "verdictIncludedMask", "verdictModelHash", "verdictPaidMask", "verdictWrongMask", "voteCount", "voteDeadline", "votedMask" FROM "round";
DROP TABLE "round";
ALTER TABLE "new_round" RENAME TO "round";
CREATE INDEX "round_status_closedBlock_idx" ON "round"("status", "closedBlock");
CREATE INDEX "round_updatedBlock_idx" ON "round"("updatedBlock");
CREATE UNIQUE INDEX "round_jobId_round_key" ON "round"("jobId", "round");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
