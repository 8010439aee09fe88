/**
 * Whether the network can run a valid job spec, checked by the poster before any upload or gas
 * (`market job create`), with the same rules the worker applies when it decides to join
 * (worker/node/provider.ts rejectReason): a spec that parses but that no worker of this software
 * would take would otherwise lock escrow for nothing.
 */
import { CORPUS_PACKAGE } from "../diloco/data/index.ts";
import { paramCount } from "../diloco/model/layout.ts";
import { JobSpecError, type JobSpec } from "./job-spec.ts";

/** What this software's worker accepts by default (`worker run --max-params` can lower the size). */
export const WORKER_LIMITS = {
  /** Default --max-params of the worker; models above it are declined by every default worker. */
  maxParams: 50_000_000,
  /** Corpora the data loader ships. */
  corpora: [CORPUS_PACKAGE] as readonly string[],
};

/** Problems that would make every default worker decline the job (empty when it can run). */
export function runnableProblems(spec: JobSpec): JobSpecError[] {
  const problems: JobSpecError[] = [];
  if (!WORKER_LIMITS.corpora.includes(spec.data.corpus)) {
    problems.push(new JobSpecError("$.data.corpus", `is ${JSON.stringify(spec.data.corpus)}, a dataset this software does not know; known: ${WORKER_LIMITS.corpora.join(", ")}`));
  }
  const size = paramCount(spec.model);
  if (size > WORKER_LIMITS.maxParams) {
    problems.push(new JobSpecError("$.model", `has ${size.toLocaleString("en")} parameters; workers accept at most ${WORKER_LIMITS.maxParams.toLocaleString("en")} (shrink dModel, nLayers or vocabulary)`));
  }
  if (spec.training.overlap) problems.push(new JobSpecError("$.training.overlap", "is true; this worker version runs the synchronous schedule only (set it to false)"));
  return problems;
}

/** Throws the first problem as a JobSpecError (one line naming the field). */
export function checkSpecRunnable(spec: JobSpec): void {
  const [first] = runnableProblems(spec);
  if (first) throw first;
}
