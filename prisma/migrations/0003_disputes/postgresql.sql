-- AlterTable
ALTER TABLE "job" DROP COLUMN "arbiter",
ADD COLUMN     "cancelAt" BIGINT,
ADD COLUMN     "openDisputes" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "reserved" TEXT NOT NULL DEFAULT '0';

-- AlterTable
ALTER TABLE "job_worker" DROP COLUMN "openChallenges",
ADD COLUMN     "clawedBack" TEXT NOT NULL DEFAULT '0',
ADD COLUMN     "openDisputes" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "round" ADD COLUMN     "clawedBack" TEXT NOT NULL DEFAULT '0',
ADD COLUMN     "pauseBase" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "reserveRefunded" TEXT,
ADD COLUMN     "reserved" TEXT,
ADD COLUMN     "verdict" TEXT,
ADD COLUMN     "verdictAt" BIGINT,
ADD COLUMN     "verdictBlock" BIGINT,
ADD COLUMN     "verdictIncludedMask" BIGINT,
ADD COLUMN     "verdictModelHash" TEXT,
ADD COLUMN     "verdictPaidMask" BIGINT,
ADD COLUMN     "verdictWrongMask" BIGINT;

-- AlterTable
ALTER TABLE "commitment" ADD COLUMN     "traceRoot" TEXT;

-- AlterTable
ALTER TABLE "account" ADD COLUMN     "gameBalance" TEXT NOT NULL DEFAULT '0',
ADD COLUMN     "gameCredited" TEXT NOT NULL DEFAULT '0',
ADD COLUMN     "gameWithdrawn" TEXT NOT NULL DEFAULT '0';

-- AlterTable
ALTER TABLE "network" DROP COLUMN "arbitrationPeriod",
ADD COLUMN     "disputeGame" TEXT,
ADD COLUMN     "disputesOpen" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "disputesOpened" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "maxBondToReward" BIGINT,
ADD COLUMN     "maxPenaltyBps" INTEGER,
ADD COLUMN     "minBondToReward" BIGINT,
ADD COLUMN     "minChallengeWindow" INTEGER,
ADD COLUMN     "minCommitWindow" INTEGER,
ADD COLUMN     "minVoteWindow" INTEGER,
ADD COLUMN     "pausedSince" BIGINT,
ADD COLUMN     "pausedTotal" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "referees" INTEGER NOT NULL DEFAULT 0;

-- DropTable
DROP TABLE "challenge";

-- CreateTable
CREATE TABLE "dispute" (
    "id" BIGINT NOT NULL,
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
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "dispute_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dispute_move" (
    "id" TEXT NOT NULL,
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
    "timestamp" BIGINT NOT NULL,

    CONSTRAINT "dispute_move_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dispute_panel" (
    "id" TEXT NOT NULL,
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
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "dispute_panel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "panel_member" (
    "id" TEXT NOT NULL,
    "disputeId" BIGINT NOT NULL,
    "panelId" TEXT NOT NULL,
    "panelNumber" INTEGER NOT NULL,
    "referee" TEXT NOT NULL,
    "vote" TEXT,
    "stepCorrect" BOOLEAN,
    "votedBlock" BIGINT,
    "votedAt" BIGINT,
    "slashed" TEXT,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "panel_member_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "referee" (
    "address" TEXT NOT NULL,
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
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "referee_pkey" PRIMARY KEY ("address")
);

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
