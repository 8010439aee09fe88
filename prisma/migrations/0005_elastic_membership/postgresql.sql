-- AlterTable
ALTER TABLE "job" ADD COLUMN     "joiningWorkerCount" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "job_worker" ADD COLUMN     "activeFromRound" INTEGER,
ADD COLUMN     "joinedRound" INTEGER,
ADD COLUMN     "joining" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "removedRound" INTEGER;

-- AlterTable
ALTER TABLE "round" ADD COLUMN     "activeMask" BIGINT,
ADD COLUMN     "departedCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "departedMask" BIGINT,
ADD COLUMN     "joinedCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "joinedMask" BIGINT;
