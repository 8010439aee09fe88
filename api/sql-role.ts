/**
 * `npm run api:sql-role -- <role> [password]`: creates (or updates) a read-only PostgreSQL role for
 * the API's SQL over HTTP (SELECT on the indexer's tables in DATABASE_URL's schema, nothing else,
 * read-only transactions by default). Then start the API with
 * SQL_DATABASE_URL=postgresql://<role>:<password>@host:5432/db?schema=<schema>.
 */
import { createReadOnlyRole } from "./sql-http.ts";

const [role, password] = process.argv.slice(2);
const url = process.env.DATABASE_URL;
if (!role || !url || !/^postgres/.test(url)) {
  console.error("usage: DATABASE_URL=postgresql://admin@host:5432/db[?schema=s] npm run api:sql-role -- <role> [password]");
  process.exit(2);
}
try {
  await createReadOnlyRole(url, role, password);
  console.log(`role ${role} can read the indexer's tables and nothing else`);
} catch (err) {
  console.error(`api:sql-role: ${(err as Error).message}`);
  process.exit(1);
}
