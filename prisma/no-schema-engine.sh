#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded here (see docs/indexer.md).
# `prisma generate` only needs the path to exist. Migrations are plain SQL applied by
# indexer/db/migrate.ts; new ones are written with `npm run db:migration -- <name>`.
echo "this project does not use Prisma's native schema engine: run 'npm run db:migrate' or 'npm run db:migration -- <name>' (docs/indexer.md)" >&2
exit 1
