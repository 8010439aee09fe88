/**
 * The API schema follows the data model: a model or a column added to prisma/schema.prisma appears
 * in the GraphQL schema (type, queries, filters, orders, relations both ways) with no API edit.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildSchema as buildSdl, isEnumType, isInputObjectType, isObjectType } from "graphql";
import { buildModel, schemaPath } from "../../api/model.ts";
import { entitySdl } from "../../api/schema-gen.ts";
import { computed } from "../../api/typeDefs.ts";

const base = readFileSync(schemaPath, "utf8");
const added = `${base.replace('  challengeWindow  Int\n', '  challengeWindow  Int\n  /// Seconds a referee has to answer.\n  refereeWindow    Int\n')}
/// An appeal over one inner step of a worker's update (bisection, then referees).
model Appeal {
  id          BigInt  @id
  jobId       BigInt
  round       Int
  worker      String
  challenger  String
  /// Open | Bisecting | Refereed | Resolved
  status      String
  bond        String
  stepHash    String?
  openedAt    BigInt

  @@index([jobId])
  @@map("appeal")
}
`;

function schemaOf(text: string) {
  const model = buildModel(text);
  const sdl = `scalar BigInt\nscalar Address\nscalar Bytes32\nenum OrderDirection { asc desc }\ntype PageInfo { hasNextPage: Boolean! }\ntype Query { _x: Int }\ntype LossPoint { x: Int }\n${entitySdl(model, computed)}`;
  return buildSdl(sdl);
}

describe("schema generated from prisma/schema.prisma", () => {
  it("a new model and a new column get queries, filters, orders and relations both ways", () => {
    const before = schemaOf(base);
    assert.equal(before.getType("Appeal"), undefined);
    const s = schemaOf(added);
    const q = s.getQueryType()!.getFields();
    assert.ok(q.appeal && q.appeals, "single-item and list queries");
    assert.deepEqual(q.appeal.args.map((a) => a.name), ["id"]);
    const t = s.getType("Appeal");
    assert.ok(isObjectType(t));
    const f = t.getFields();
    assert.equal(String(f.bond.type), "BigInt!", "an amount column is a BigInt decimal string");
    assert.equal(String(f.challenger.type), "Address!");
    assert.equal(String(f.stepHash.type), "Bytes32");
    assert.equal(String(f.status.type), "AppealStatus!");
    assert.equal(String(f.job.type), "Job!");
    assert.equal(String(f.jobRound.type), "Round!");
    assert.equal(String(f.provider.type), "Provider", "worker → Provider");
    assert.equal(String(f.challengerProvider.type), "Provider");
    const e = s.getType("AppealStatus");
    assert.ok(isEnumType(e));
    assert.deepEqual(e.getValues().map((v) => v.name), ["Open", "Bisecting", "Refereed", "Resolved"]);
    const filter = s.getType("AppealFilter");
    assert.ok(isInputObjectType(filter));
    const ff = filter.getFields();
    for (const k of ["AND", "OR", "bond_gt", "bond_lte", "status_in", "challenger_starts_with", "stepHash", "openedAt_gte", "job", "jobRound"]) assert.ok(ff[k], `filter ${k}`);
    const order = s.getType("AppealOrderBy");
    assert.ok(isEnumType(order) && order.getValue("bond") && order.getValue("openedAt"));
    // the far side: paginated, filterable lists
    const job = (s.getType("Job") as typeof t).getFields();
    assert.equal(String(job.appeals.type), "AppealPage!");
    assert.deepEqual(job.appeals.args.map((a) => a.name), ["where", "orderBy", "orderDirection", "first", "after", "last", "before"]);
    assert.ok((s.getType("Round") as typeof t).getFields().appeals);
    const prov = (s.getType("Provider") as typeof t).getFields();
    assert.ok(prov.appeals && prov.appealsAsChallenger);
    assert.ok((s.getType("JobFilter") as never as { getFields(): Record<string, unknown> }).getFields().appeals_some);
    // the new column of an existing model
    assert.equal(String(job.refereeWindow.type), "Int!");
    assert.ok((s.getType("JobFilter") as never as { getFields(): Record<string, unknown> }).getFields().refereeWindow_gt);
    assert.ok((s.getType("JobOrderBy") as never as { getValue(n: string): unknown }).getValue("refereeWindow"));
  });

  it("every entity of the current schema has its queries, page, filter and order", () => {
    const s = schemaOf(base);
    const q = s.getQueryType()!.getFields();
    for (const [one, many, type] of [["provider", "providers", "Provider"], ["stakeChange", "stakeChanges", "StakeChange"], ["job", "jobs", "Job"], ["jobWorker", "jobWorkers", "JobWorker"], ["round", "rounds", "Round"], ["commitment", "commitments", "Commitment"], ["vote", "votes", "Vote"], ["payout", "payouts", "Payout"], ["account", "accounts", "Account"], ["slash", "slashes", "Slash"], ["dispute", "disputes", "Dispute"], ["disputeMove", "disputeMoves", "DisputeMove"], ["disputePanel", "disputePanels", "DisputePanel"], ["panelMember", "panelMembers", "PanelMember"], ["referee", "referees", "Referee"]]) {
      assert.ok(q[one] && q[many], `${one}/${many}`);
      for (const t of [`${type}Page`, `${type}Filter`, `${type}OrderBy`]) assert.ok(s.getType(t), t);
    }
    assert.deepEqual(q.round.args.map((a) => a.name), ["id", "jobId", "round"], "by id or by the compound unique key");
    for (const internal of ["network", "syncCheckpoint", "block", "reorgJournal"]) assert.equal(q[internal], undefined);
  });
});
