/**
 * Whether the network can run a valid job spec, checked by the poster before any upload or gas
 * (`market job create`), with the same rules the worker applies when it decides to join
 * (worker/node/provider.ts rejectReason): a spec that parses but that no worker of this software
 * would take would otherwise lock escrow for nothing.
 */
import { CORPUS_PACKAGE } from "../diloco/data/index.ts";
import { paramCount } from "../diloco/model/layout.ts";
import { isDatasetData, JobSpecError, type JobSpec } from "./job-spec.ts";

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
  if (!isDatasetData(spec.data) && !WORKER_LIMITS.corpora.includes(spec.data.corpus)) {
    problems.push(new JobSpecError("$.data.corpus", `is ${JSON.stringify(spec.data.corpus)}, a dataset this software does not know; known: ${WORKER_LIMITS.corpora.join(", ")} (or name a dataset: data.dataset = the manifest hash from \`market dataset upload\`)`));
  }
  const size = paramCount(spec.model);
  if (size > WORKER_LIMITS.maxParams) {
    problems.push(new JobSpecError("$.model", `has ${size.toLocaleString("en")} parameters; workers accept at most ${WORKER_LIMITS.maxParams.toLocaleString("en")} (shrink dModel, nLayers or vocabulary)`));
  }
  return problems;
}

/** Throws the first problem as a JobSpecError (one line naming the field). */
export function checkSpecRunnable(spec: JobSpec): void {
  const [first] = runnableProblems(spec);
  if (first) throw first;
}
