/**
 * The API's fast path (api/fast-path.ts) on its own: which request bodies and documents it takes,
 * when a document is compiled, how many documents it keeps, and how BigInt literals and variable
 * defaults are moved into variables. Answers are compared with graphql-yoga's over real HTTP in
 * test/api/api.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parse, print, type OperationDefinitionNode } from "graphql";
import { fastRequest, hoistLiterals, QueryPlans } from "../../api/fast-path.ts";
import { limitRules } from "../../api/limits.ts";
import { buildSchema } from "../../api/server.ts";

const schema = buildSchema();

describe("API fast path", () => {
  it("takes one JSON object with a string query, and nothing else beside variables and operationName", () => {
    assert.deepEqual(fastRequest(JSON.stringify({ query: "{ jobs { totalCount } }" })), { query: "{ jobs { totalCount } }", variables: undefined, operationName: undefined });
    assert.deepEqual(fastRequest(JSON.stringify({ query: "q", variables: { a: 1 }, operationName: "Q" })), { query: "q", variables: { a: 1 }, operationName: "Q" });
    assert.deepEqual(fastRequest(JSON.stringify({ query: "q", variables: null, operationName: null })), { query: "q", variables: undefined, operationName: undefined });
    for (const body of [
      "not json",
      JSON.stringify([{ query: "q" }]), // a batch
      JSON.stringify({ query: "q", extensions: { persistedQuery: {} } }),
      JSON.stringify({ query: 1 }),
      JSON.stringify({ variables: {} }),
      JSON.stringify({ query: "q", variables: [1] }),
      JSON.stringify({ query: "q", operationName: 2 }),
      "null",
    ]) {
      assert.equal(fastRequest(body), undefined, body);
    }
  });

  it("leaves mutations, subscriptions and documents that do not parse, validate or pick one operation to graphql-yoga", () => {
    const plans = new QueryPlans(schema, limitRules());
    const yoga = [
      [`mutation { reportEvalLoss(jobId: "1", round: 0, evalLoss: 1, signature: "0x") { round } }`],
      [`subscription { jobChanged { id } }`],
      [`{ jobs { totalCount `],
      [`{ jobs { nope } }`],
      [`{ ${Array.from({ length: 21 }, (_, i) => `a${i}: _meta { block }`).join(" ")} }`], // over the alias limit
      [`query A { _meta { block } } query B { _meta { block } }`],
      [`query A { _meta { block } }`, "B"],
    ];
    for (const [q, op] of yoga) assert.equal(plans.get(q, op), undefined, q);
    assert.ok(plans.get(`query A { _meta { block } } query B { _meta { block } }`, "B"));
  });

  it("runs a document's first request through graphql-js and compiles it when it comes again; keeps the most recently used documents", () => {
    const plans = new QueryPlans(schema, limitRules(), 2);
    const [a, b, c] = ["{ jobs { totalCount } }", "{ providers { totalCount } }", "{ rounds { totalCount } }"];
    const first = plans.get(a, undefined);
    assert.ok(first);
    assert.equal(plans.compiled, 0);
    const second = plans.get(a, undefined);
    assert.equal(plans.compiled, 1);
    assert.notEqual(second, first);
    assert.equal(plans.get(a, undefined), second, "the compiled query is reused");
    plans.get(b, undefined);
    plans.get(a, undefined); // a is now the most recently used
    plans.get(c, undefined); // b makes room
    plans.get(a, undefined);
    assert.equal(plans.compiled, 1, "a stayed compiled");
    plans.get(b, undefined); // b is new again: interpreted, not compiled
    assert.equal(plans.compiled, 1);
    plans.get(b, undefined);
    assert.equal(plans.compiled, 2);
  });

  it("moves BigInt literals (also in lists, nested filters and fragments) into variables, and variable defaults out of the document", () => {
    const doc = parse(`query Q($from: BigInt = "2", $n: Int = 3) { jobs(first: $n, where: { id_in: ["1", 3], OR: [{ createdAt_gt: "0" }, { id_gte: $from }] }) { items { ...J } } job(id: 7) { id } }
      fragment J on Job { workers(where: { jobId: "1", index: 2 }) { totalCount } }`);
    const op = doc.definitions[0] as OperationDefinitionNode;
    const { document, values, defaults } = hoistLiterals(schema, doc, op);
    assert.deepEqual(values, { __lit0: "1", __lit1: "3", __lit2: "0", __lit3: "7", __lit4: "1" });
    assert.deepEqual(defaults, { from: "2", n: 3 });
    const printed = print(document);
    assert.match(printed, /query Q\(\$from: BigInt, \$n: Int, \$__lit0: BigInt!, \$__lit1: BigInt!, \$__lit2: BigInt, \$__lit3: BigInt!, \$__lit4: BigInt\)/);
    assert.match(printed, /id_in: \[\$__lit0, \$__lit1\]/);
    assert.match(printed, /job\(id: \$__lit3\)/);
    assert.match(printed, /workers\(where: \{jobId: \$__lit4, index: 2\}\)/, "Int literals stay");
    // a document without BigInt literals or defaults is left as it is
    const plain = parse(`{ jobs { totalCount } }`);
    assert.equal(hoistLiterals(schema, plain, plain.definitions[0] as OperationDefinitionNode).document, plain);
  });
});
