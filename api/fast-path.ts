/**
 * The fast path of `POST /graphql`: plain JSON queries that validate are executed by a query
 * compiled once per document (graphql-jit) and answered straight on the Node response, without
 * graphql-yoga's Fetch-API Request/Response layer and graphql-js's per-request interpretation of
 * the document. Under load those two dominated the API's CPU profile once the SQL was batched.
 * A document is parsed and validated once; its first request runs through graphql-js, and it is
 * compiled when it comes again (graphql-js also runs the rare document graphql-jit cannot compile).
 *
 * The fast path only ever answers successful queries. Everything else goes to graphql-yoga
 * unchanged, so every error keeps its code, masking and logging there:
 * - a body that is not one JSON object with a string `query` (batches, persisted queries,
 *   `extensions`), a GET, a multipart or SSE request, a mutation or subscription;
 * - a document that does not parse or validate (the standard rules and the API's depth, alias and
 *   cost limits): remembered per document, so yoga answers it from then on;
 * - a request whose execution produced any error: yoga runs it again and answers with its coded
 *   errors (queries have no side effects, so running one twice changes nothing).
 */
import {
  execute,
  getNamedType,
  isNonNullType,
  Kind,
  parse,
  specifiedRules,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLInputType,
  type GraphQLSchema,
  type ConstValueNode,
  type OperationDefinitionNode,
  type TypeNode,
  type ValidationRule,
  type VariableDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery } from "graphql-jit";

/** Scalars whose parsed values a compiled query cannot embed in its code (BigInt values are bigints). */
const HOISTED_SCALARS = new Set(["BigInt"]);

function typeNode(t: GraphQLInputType): TypeNode {
  if (isNonNullType(t)) return { kind: Kind.NON_NULL_TYPE, type: typeNode(t.ofType) as never };
  if ("ofType" in t) return { kind: Kind.LIST_TYPE, type: typeNode(t.ofType as GraphQLInputType) };
  return { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: t.name } };
}

/** A constant value's JSON form, as a variable would carry it (integers beyond 2^53 as their text). */
function jsonValue(v: ConstValueNode): unknown {
  switch (v.kind) {
    case Kind.INT:
      return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value;
    case Kind.FLOAT:
      return Number(v.value);
    case Kind.STRING:
    case Kind.ENUM:
      return v.value;
    case Kind.BOOLEAN:
      return v.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return v.values.map(jsonValue);
    case Kind.OBJECT:
      return Object.fromEntries(v.fields.map((f) => [f.name.value, jsonValue(f.value)]));
  }
}

/**
 * Moves the BigInt literals of a validated document into variables of the operation (`$__lit0`…),
 * whose values are the literals' text, and the variables' default values into `defaults`:
 * graphql-jit embeds literal arguments and defaults in the code it generates as JSON, which has no
 * bigint. Coercing the variable gives the value the literal would.
 */
export function hoistLiterals(
  schema: GraphQLSchema,
  document: DocumentNode,
  op: OperationDefinitionNode,
): { document: DocumentNode; values: Record<string, string>; defaults: Record<string, unknown> } {
  const values: Record<string, string> = {};
  const defaults: Record<string, unknown> = {};
  for (const v of op.variableDefinitions ?? []) if (v.defaultValue) defaults[v.variable.name.value] = jsonValue(v.defaultValue);
  const defs: VariableDefinitionNode[] = [];
  const info = new TypeInfo(schema);
  const hoist = {
    enter(node: { value: string }) {
      const t = info.getInputType();
      if (!t || !HOISTED_SCALARS.has(getNamedType(t).name)) return undefined;
      const name = `__lit${defs.length}`;
      values[name] = node.value;
      defs.push({ kind: Kind.VARIABLE_DEFINITION, variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } }, type: typeNode(t) });
      return { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } };
    },
  };
  // a variable's default value stays (it must be a constant)
  const rewritten = visit(document, visitWithTypeInfo(info, { StringValue: hoist, IntValue: hoist, VariableDefinition: () => false } as never)) as DocumentNode;
  if (defs.length === 0 && Object.keys(defaults).length === 0) return { document, values, defaults };
  const opIndex = document.definitions.indexOf(op);
  const newOp = rewritten.definitions[opIndex] as OperationDefinitionNode;
  const own = (newOp.variableDefinitions ?? []).map((v) => ({ ...v, defaultValue: undefined }));
  const definitions = rewritten.definitions.map((d, i) => (i === opIndex ? { ...newOp, variableDefinitions: [...own, ...defs] } : d));
  return { document: { ...rewritten, definitions }, values, defaults };
}

/** Runs a validated query document. */
export interface Runner {
  run(context: unknown, variables: Record<string, unknown> | undefined): Promise<ExecutionResult> | ExecutionResult;
}

/** The parts of a JSON request body the fast path executes. */
export interface FastRequest {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

/** A request body the fast path can take: one JSON object with `query` and nothing but `variables` and `operationName` beside it. */
export function fastRequest(body: string): FastRequest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "query" && k !== "variables" && k !== "operationName") return undefined;
  if (typeof o.query !== "string") return undefined;
  if (o.variables != null && (typeof o.variables !== "object" || Array.isArray(o.variables))) return undefined;
  if (o.operationName != null && typeof o.operationName !== "string") return undefined;
  return { query: o.query, variables: (o.variables ?? undefined) as Record<string, unknown> | undefined, operationName: (o.operationName ?? undefined) as string | undefined };
}

/** A validated query document: run by graphql-js on its first request, compiled from its second on. */
interface Entry {
  document: DocumentNode;
  op: OperationDefinitionNode;
  operationName: string | undefined;
  requests: number;
  runner?: Runner;
}

export class QueryPlans {
  readonly #schema: GraphQLSchema;
  readonly #rules: readonly ValidationRule[];
  readonly #max: number;
  readonly #plans = new Map<string, Entry | "yoga">();
  /** Documents compiled, and requests the fast path answered (tests and diagnostics). */
  compiled = 0;
  answered = 0;

  /** `rules`: validation rules beside graphql's standard ones (the API's limits). The `max` most recently used documents are kept. */
  constructor(schema: GraphQLSchema, rules: readonly ValidationRule[], max = 1000) {
    this.#schema = schema;
    this.#rules = [...specifiedRules, ...rules];
    this.#max = max;
  }

  /**
   * The runner of a document and operation, or undefined when graphql-yoga must answer it. A
   * document's first request runs through graphql-js; it is compiled when it comes again (a stream
   * of one-off documents costs no compilation).
   */
  get(query: string, operationName: string | undefined): Runner | undefined {
    const key = operationName === undefined ? query : `${operationName}\u0000${query}`;
    let plan = this.#plans.get(key);
    if (plan === undefined) {
      plan = this.#plan(query, operationName);
      // the least recently used document makes room (a Map iterates in insertion order)
      if (this.#plans.size >= this.#max) this.#plans.delete(this.#plans.keys().next().value!);
    } else this.#plans.delete(key);
    this.#plans.set(key, plan);
    if (plan === "yoga") return undefined;
    if (!plan.runner && plan.requests++ > 0) plan.runner = this.#compile(plan);
    return plan.runner ?? this.#interpreted(plan);
  }

  #plan(query: string, operationName: string | undefined): Entry | "yoga" {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch {
      return "yoga";
    }
    if (validate(this.#schema, document, this.#rules).length > 0) return "yoga";
    const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
    const op = operationName === undefined ? (ops.length === 1 ? ops[0] : undefined) : ops.find((o) => o.name?.value === operationName);
    if (!op || op.operation !== "query") return "yoga";
    return { document, op, operationName, requests: 0 };
  }

  #interpreted(e: Entry): Runner {
    const { document, operationName } = e;
    const schema = this.#schema;
    return { run: (contextValue, variableValues) => execute({ schema, document, operationName, contextValue, variableValues }) };
  }

  /** graphql-jit's compiled query; graphql-js where it cannot compile the document. */
  #compile(e: Entry): Runner {
    const schema = this.#schema;
    // the hoisted literals' names must not clash with the document's own variables
    if (e.op.variableDefinitions?.some((v) => v.variable.name.value.startsWith("__lit"))) return this.#interpreted(e);
    let compiled;
    let hoisted;
    try {
      hoisted = hoistLiterals(schema, e.document, e.op);
      compiled = compileQuery(schema, hoisted.document, e.operationName);
    } catch {
      return this.#interpreted(e);
    }
    if (!isCompiledQuery(compiled)) return this.#interpreted(e);
    this.compiled++;
    const { values, defaults } = hoisted;
    if (Object.keys(values).length === 0 && Object.keys(defaults).length === 0) return { run: (context, variables) => compiled.query(undefined, context, variables) };
    // a default applies when the variable is absent (an explicit null stays null)
    return { run: (context, variables) => compiled.query(undefined, context, { ...defaults, ...variables, ...values }) };
  }
}
