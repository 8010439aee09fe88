import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { printedSchema, schemaFile } from "../../api/print-schema.ts";

describe("schema.graphql", () => {
  it("is in sync with api/typeDefs.ts (run `npm run api:schema` after changing the schema)", () => {
    assert.equal(readFileSync(schemaFile, "utf8"), printedSchema());
  });
});
