-- AlterTable
ALTER TABLE "job" ADD COLUMN "name" TEXT;
ALTER TABLE "job" ADD COLUMN "sample" TEXT;
ALTER TABLE "job" ADD COLUMN "sampleModelHash" TEXT;
ALTER TABLE "job" ADD COLUMN "samplePrompt" TEXT;
