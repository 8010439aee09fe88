-- AlterTable
ALTER TABLE "dispute_move" ADD COLUMN     "publishedBy" TEXT;
