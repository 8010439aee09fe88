/**
 * The API's one description of the data: the entities of `prisma/schema.prisma` (the indexer's
 * single source of truth), read at start-up, with GraphQL types and relations inferred by the
 * conventions below. Adding a model or a column to the Prisma schema adds its queries, filters,
 * orders and relations without touching the API (docs/indexer.md, "GraphQL API").
 *
 * Field types. Int, BigInt, Float and Boolean map to themselves. A String field is:
 * - an enum when its `///` doc comment starts with its values, `A | B | C` (the schema's convention);
 * - an `Address` when its name is an account role (poster, arbiter, token, worker, provider,
 *   challenger, referee, account, address, market, treasury, …Signer, …Address);
 * - a `Bytes32` when its name ends in `Hash`;
 * - an amount (`BigInt`, stored as an exact decimal string, compared and sorted numerically) when
 *   its name says so (amount, stake, bond, escrow, paid, reward, fee, balance, slashed, …);
 * - a `String` otherwise.
 * A doc comment `@graphql(Address|Bytes32|Amount|String|hidden)` overrides the inference.
 *
 * Relations. Declared Prisma relations are used as they are; beyond them:
 * - a `jobId` column links to `Job` (field `job`; on Job, a paginated list named after the model);
 * - `jobId` + `round` link to `Round` (field `jobRound`; on Round, a paginated list);
 * - an address column named worker / provider / challenger / referee links to `Provider`
 *   (field `provider` for worker, otherwise `<name>Provider`; on Provider, a paginated list);
 * - `account` links to `Account`; models keyed by `address` link one-to-one to each other.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type ScalarKind = "Int" | "BigInt" | "Float" | "Boolean" | "String" | "Address" | "Bytes32" | "Amount" | "Enum";

export interface Field {
  /** Prisma field name. */
  name: string;
  /** GraphQL field name (the Prisma name unless renamed below). */
  gql: string;
  column: string;
  prismaType: string;
  kind: ScalarKind;
  enumName?: string;
  enumValues?: string[];
  nullable: boolean;
  doc?: string;
}

export interface Relation {
  /** GraphQL field name on `from`. */
  name: string;
  from: Entity;
  to: Entity;
  /** Columns of `from` matched, in order, with columns of `to`. */
  fromFields: Field[];
  toFields: Field[];
  many: boolean;
  doc?: string;
}

export interface Entity {
  name: string;
  table: string;
  doc?: string;
  fields: Field[];
  byName: Map<string, Field>;
  byGql: Map<string, Field>;
  /** Primary key fields. */
  id: Field[];
  /** Compound unique keys (besides the id). */
  uniques: Field[][];
  relations: Relation[];
  /** Query field names. */
  single: string;
  plural: string;
}

/** Tables the indexer keeps for itself (served through `_meta` and `networkStats`, or not at all). */
const INTERNAL = new Set(["Network", "SyncCheckpoint", "Block", "ReorgJournal"]);

/** GraphQL names that differ from the Prisma names (kept for the API's existing clients). */
const RENAMES: Record<string, Record<string, string>> = {
  Commitment: { trainLoss: "trainLossRaw", loss: "trainLoss" },
};

/** Shared enum names for value sets used by several columns. */
const ENUM_NAMES: Record<string, string> = { "JobWorker.removedReason": "PenaltyReason", "Slash.reason": "PenaltyReason" };

const ADDRESS = /^(address|poster|arbiter|token|worker|provider|challenger|referee|account|market|treasury|owner|signer|recipient|sender|caller|.*Signer|.*Address)$/;
const AMOUNT = /(amount|earned|trainLoss|stake|bond|bonded|unbonding|escrow|escrowed|paid|paidout|reward|fee|fees|balance|credited|withdrawn|refunded|slashed|bounty|deposit|total|price|cost)/i;

/** Names of lists on the far side of a conventional relation, where the default reads badly. */
const BACK_NAMES: Record<string, string> = { "JobWorker.worker": "jobs" };

const PROVIDER_FIELDS: Record<string, string> = { worker: "provider", provider: "registeredProvider", challenger: "challengerProvider", referee: "refereeProvider" };

const lcFirst = (s: string) => s[0].toLowerCase() + s.slice(1);
export function plural(s: string): string {
  if (/(s|sh|ch|x|z)$/.test(s)) return `${s}es`;
  if (/[^aeiou]y$/.test(s)) return `${s.slice(0, -1)}ies`;
  return `${s}s`;
}

interface RawField {
  name: string;
  type: string;
  list: boolean;
  optional: boolean;
  attrs: string;
  doc?: string;
}

interface RawModel {
  name: string;
  doc?: string;
  fields: RawField[];
  blockAttrs: string[];
}

/** A small reader for the subset of the Prisma schema language the project uses (models, fields, doc comments, attributes). */
export function parsePrismaSchema(text: string): RawModel[] {
  const models: RawModel[] = [];
  let cur: RawModel | undefined;
  let doc: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("///")) {
      doc.push(line.slice(3).trim());
      continue;
    }
    if (line === "" || line.startsWith("//")) continue;
    const m = /^model\s+(\w+)\s*\{$/.exec(line);
    if (m) {
      cur = { name: m[1], doc: doc.join(" ") || undefined, fields: [], blockAttrs: [] };
      models.push(cur);
      doc = [];
      continue;
    }
    if (line === "}") {
      cur = undefined;
      doc = [];
      continue;
    }
    if (!cur) {
      doc = [];
      continue;
    }
    if (line.startsWith("@@")) cur.blockAttrs.push(line);
    else {
      const f = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (f) cur.fields.push({ name: f[1], type: f[2], list: !!f[3], optional: !!f[4], attrs: f[5].replace(/\s\/\/.*$/, ""), doc: doc.join(" ") || undefined });
    }
    doc = [];
  }
  return models;
}

function kindOf(model: string, f: RawField): Pick<Field, "kind" | "enumName" | "enumValues"> | "hidden" {
  const override = /@graphql\((\w+)\)/.exec(f.doc ?? "")?.[1];
  if (override === "hidden") return "hidden";
  if (f.type !== "String") {
    if (["Int", "BigInt", "Float", "Boolean"].includes(f.type)) return { kind: f.type as ScalarKind };
    return { kind: "String" }; // DateTime, Json, Decimal…: not used by the schema today
  }
  if (override) return { kind: override as ScalarKind };
  const values = /^([A-Z][A-Za-z0-9]*(?:\s*\|\s*[A-Z][A-Za-z0-9]*)+)/.exec(f.doc ?? "")?.[1];
  if (values) return { kind: "Enum", enumValues: values.split("|").map((s) => s.trim()), enumName: ENUM_NAMES[`${model}.${f.name}`] ?? `${model}${f.name[0].toUpperCase()}${f.name.slice(1)}` };
  if (ADDRESS.test(f.name)) return { kind: "Address" };
  if (/Hash$/.test(f.name)) return { kind: "Bytes32" };
  if (AMOUNT.test(f.name)) return { kind: "Amount" };
  return { kind: "String" };
}

function fieldList(spec: string, e: Entity): Field[] {
  return spec.split(",").map((s) => {
    const f = e.byName.get(s.trim());
    if (!f) throw new Error(`schema: ${e.name} has no field ${s.trim()}`);
    return f;
  });
}

export interface DataModel {
  entities: Entity[];
  byName: Map<string, Entity>;
  enums: Map<string, string[]>;
}

export function buildModel(text: string): DataModel {
  const raw = parsePrismaSchema(text);
  const entities: Entity[] = [];
  const enums = new Map<string, string[]>();
  const rawByName = new Map(raw.map((m) => [m.name, m]));
  for (const m of raw) {
    if (INTERNAL.has(m.name)) continue;
    const table = /@@map\("([^"]+)"\)/.exec(m.blockAttrs.join(" "))?.[1] ?? m.name;
    const fields: Field[] = [];
    for (const f of m.fields) {
      if (f.list || !/^[A-Z]/.test(f.type) || rawByName.has(f.type)) continue; // relation fields
      const k = kindOf(m.name, f);
      if (k === "hidden") continue;
      if (k.enumName) {
        const prev = enums.get(k.enumName);
        if (prev && prev.join() !== k.enumValues!.join()) k.enumName = `${m.name}${f.name[0].toUpperCase()}${f.name.slice(1)}`;
        enums.set(k.enumName, k.enumValues!);
      }
      fields.push({ name: f.name, gql: RENAMES[m.name]?.[f.name] ?? f.name, column: /@map\("([^"]+)"\)/.exec(f.attrs)?.[1] ?? f.name, prismaType: f.type, nullable: f.optional, doc: f.doc?.replace(/@graphql\(\w+\)/, "").trim() || undefined, ...k });
    }
    const e: Entity = {
      name: m.name,
      table,
      doc: m.doc,
      fields,
      byName: new Map(fields.map((f) => [f.name, f])),
      byGql: new Map(fields.map((f) => [f.gql, f])),
      id: [],
      uniques: [],
      relations: [],
      single: lcFirst(m.name),
      plural: plural(lcFirst(m.name)),
    };
    const idField = m.fields.find((f) => /@id\b/.test(f.attrs));
    const blockId = /@@id\(\[([^\]]+)\]\)/.exec(m.blockAttrs.join(" "))?.[1];
    e.id = idField ? [e.byName.get(idField.name)!] : blockId ? fieldList(blockId, e) : [];
    if (e.id.length === 0) throw new Error(`schema: model ${m.name} has no id`);
    for (const a of m.blockAttrs) {
      const u = /^@@unique\(\[([^\]]+)\]/.exec(a);
      if (u) e.uniques.push(fieldList(u[1], e));
    }
    entities.push(e);
  }
  const byName = new Map(entities.map((e) => [e.name, e]));
  const taken = (e: Entity, n: string) => e.byGql.has(n) || e.relations.some((r) => r.name === n);
  const link = (from: Entity, to: Entity, fromFields: Field[], toFields: Field[], name: string, backName: string, backMany: boolean) => {
    if (taken(from, name) || taken(to, backName)) {
      if (taken(from, name)) name = `${name}Ref`;
      if (taken(to, backName)) backName = `${lcFirst(from.name)}List`;
    }
    from.relations.push({ name, from, to, fromFields, toFields, many: false });
    to.relations.push({ name: backName, from: to, to: from, fromFields: toFields, toFields: fromFields, many: backMany });
  };
  // declared Prisma relations
  for (const m of raw) {
    const from = byName.get(m.name);
    if (!from) continue;
    for (const f of m.fields) {
      const rel = /@relation\(fields:\s*\[([^\]]+)\],\s*references:\s*\[([^\]]+)\]/.exec(f.attrs);
      const to = byName.get(f.type);
      if (!rel || !to) continue;
      const back = rawByName.get(to.name)!.fields.find((b) => b.type === m.name && b.list);
      link(from, to, fieldList(rel[1], from), fieldList(rel[2], to), f.name, back?.name ?? plural(lcFirst(m.name)), true);
    }
  }
  const declared = (from: Entity, cols: Field[], to: Entity) => from.relations.some((r) => r.to === to && r.fromFields.map((x) => x.name).join() === cols.map((x) => x.name).join());
  const job = byName.get("Job");
  const round = byName.get("Round");
  const provider = byName.get("Provider");
  const account = byName.get("Account");
  for (const e of entities) {
    const jobId = e.byName.get("jobId");
    const roundNo = e.byName.get("round");
    if (job && e !== job && jobId && !declared(e, [jobId], job)) link(e, job, [jobId], job.id, "job", plural(lcFirst(e.name)), true);
    if (round && e !== round && jobId && roundNo?.kind === "Int") link(e, round, [jobId, roundNo], [round.byName.get("jobId")!, round.byName.get("round")!], "jobRound", plural(lcFirst(e.name)), true);
    if (provider && e !== provider) {
      for (const [col, name] of Object.entries(PROVIDER_FIELDS)) {
        const f = e.byName.get(col);
        if (f?.kind !== "Address") continue;
        const base = plural(lcFirst(e.name));
        link(e, provider, [f], provider.id, name, BACK_NAMES[`${e.name}.${col}`] ?? (col === "worker" || col === "provider" ? base : `${base}As${col[0].toUpperCase()}${col.slice(1)}`), true);
      }
    }
    const acc = e.byName.get("account");
    if (account && e !== account && acc?.kind === "Address") link(e, account, [acc], account.id, "accountInfo", plural(lcFirst(e.name)), true);
  }
  // models keyed by an address: one-to-one with each other (Provider.account, Account.provider)
  const keyed = entities.filter((e) => e.id.length === 1 && e.id[0].name === "address");
  for (let i = 0; i < keyed.length; i++)
    for (let j = i + 1; j < keyed.length; j++) link(keyed[i], keyed[j], keyed[i].id, keyed[j].id, lcFirst(keyed[j].name), lcFirst(keyed[i].name), false);
  return { entities, byName, enums };
}

export const schemaPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "prisma", "schema.prisma");

let cached: DataModel | undefined;
export function dataModel(): DataModel {
  return (cached ??= buildModel(readFileSync(schemaPath, "utf8")));
}
