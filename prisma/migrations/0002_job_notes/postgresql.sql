-- AlterTable
ALTER TABLE "job" ADD COLUMN     "name" TEXT,
ADD COLUMN     "sample" TEXT,
ADD COLUMN     "sampleModelHash" TEXT,
ADD COLUMN     "samplePrompt" TEXT;
