/** Prints the GraphQL schema to schema.graphql (`npm run api:schema`); test/api/schema.test.ts keeps it in sync. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { buildSchema } from "./server.ts";

export const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "schema.graphql");

export function printedSchema(): string {
  return `# Generated from api/typeDefs.ts and prisma/schema.prisma (api/model.ts, api/schema-gen.ts) by \`npm run api:schema\`: do not edit.\n\n${printSchema(buildSchema())}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(schemaFile, printedSchema());
  console.log(`wrote ${schemaFile}`);
}
