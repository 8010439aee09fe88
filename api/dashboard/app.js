// The market dashboard: plain browser JavaScript, no build step.
//
// Data: GraphQL queries to /graphql (the job list with network totals, and the selected job with
// its loss curve, rounds and workers). Live: one EventSource per subscription (GraphQL over
// Server-Sent Events, GET /graphql?query=subscription…); any event schedules a re-fetch, so the
// page always shows what the API serves, whatever events it missed while reconnecting.

const GRAPHQL = "/graphql";
const SVG = "http://www.w3.org/2000/svg";

const LIST_QUERY = `{
  _meta { chainId block }
  networkStats { jobsTotal tokensEscrowed rewardsPaid feesPaid registeredProviders activeProviders }
  jobs(first: 50, orderBy: id, orderDirection: desc) {
    totalCount
    items { id name status rounds roundsFinalized currentRound maxWorkers workerCount activeWorkerCount joiningWorkerCount escrow escrowInitial totalPaid }
  }
}`;

const JOB_QUERY = `query Job($id: BigInt!) {
  job(id: $id) {
    id name status poster modelHash rewardPerRound sample samplePrompt sampleModelHash rounds roundsFinalized currentRound
    maxWorkers minWorkers workerCount activeWorkerCount joiningWorkerCount escrowInitial escrow totalPaid refunded slashed
    createdAt startedAt endedAt
    lossCurve { round status meanTrainLoss evalLoss evalLossSource }
    roundList(first: 100) { items { round status commitCount voteCount totalPaid joined { worker index } departed { worker index removedReason } } }
    workers(first: 100, orderBy: index) { items { worker index active joining joinedRound activeFromRound removedReason removedRound bond earned slashed commits } }
  }
}`;

const SUBSCRIPTIONS = [
  "subscription { jobChanged { id } }",
  "subscription { roundFinalized { jobId round } }",
  "subscription { newCommitment { jobId round } }",
  "subscription { evalLossReported { jobId round } }",
];

const state = {
  /** Job id chosen by the user (URL hash #job=ID), or null: follow the newest job. */
  chosen: null,
  selected: null,
  jobs: [],
};

// ---------------------------------------------------------------- helpers

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const E18 = 10n ** 18n;

/** A base-unit amount (decimal string) in tokens, at most two decimals. */
function tokens(units) {
  if (units === null || units === undefined) return "–";
  const v = BigInt(units);
  const whole = v / E18;
  const cents = ((v % E18) * 100n) / E18;
  const frac = cents === 0n ? "" : `.${cents.toString().padStart(2, "0").replace(/0$/, "")}`;
  return `${whole.toLocaleString("en-US")}${frac}`;
}

const loss = (x) => (x === null || x === undefined ? "–" : x.toFixed(4));
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "–");
const when = (s) => (s ? new Date(Number(s) * 1000).toLocaleString() : "–");

function addr(a) {
  return el("span", { class: "mono", title: a, text: short(a) });
}

function badge(status) {
  return el("span", { class: `badge s-${status}`, "data-testid": "status", text: status });
}

function progress(done, total) {
  const bar = el("progress", { max: total, value: done });
  return el("span", { class: "progress" }, el("span", { class: "mono", text: `${done}/${total}` }), bar);
}

async function gql(query, variables) {
  const res = await fetch(GRAPHQL, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

function showError(err) {
  const p = $("error");
  if (!err) {
    p.hidden = true;
    return;
  }
  p.hidden = false;
  p.textContent = `Could not load data: ${err.message ?? err}`;
}

// ---------------------------------------------------------------- rendering

function renderStats(meta, stats) {
  $("meta").textContent = meta ? `chain ${meta.chainId} · block ${Number(meta.block).toLocaleString("en-US")}` : "waiting for the indexer…";
  const box = $("stats");
  box.replaceChildren(
    ...[
      ["Jobs", stats.jobsTotal.toLocaleString("en-US")],
      ["Providers", `${stats.activeProviders} active / ${stats.registeredProviders}`],
      ["In escrow", tokens(stats.tokensEscrowed)],
      ["Rewards paid", `${tokens(stats.rewardsPaid)} + fees ${tokens(stats.feesPaid)}`],
    ].map(([k, v]) => el("div", { class: "stat" }, el("span", { class: "k", text: k }), el("span", { class: "v", text: v }))),
  );
}

function renderJobs() {
  const body = $("jobs-body");
  $("jobs-empty").hidden = state.jobs.length > 0;
  body.replaceChildren(
    ...state.jobs.map((j) => {
      const row = el(
        "tr",
        { "data-testid": "job-row", "data-job-id": j.id, "data-status": j.status, "aria-selected": String(j.id === state.selected), tabindex: 0, class: j.id === state.selected ? "selected" : "" },
        el("td", {}, el("span", { class: "mono", text: `#${j.id}` }), j.name ? el("span", { class: "job-name", "data-testid": "job-name", title: j.name, text: ` ${j.name}` }) : null),
        el("td", {}, badge(j.status)),
        el("td", {}, progress(j.roundsFinalized, j.rounds)),
        el("td", { class: "mono", title: j.joiningWorkerCount ? `${j.joiningWorkerCount} joining, active from the next round` : undefined, text: `${j.activeWorkerCount}/${j.maxWorkers}${j.joiningWorkerCount ? ` +${j.joiningWorkerCount}` : ""}` }),
        el("td", { class: "num", text: tokens(j.escrow) }),
        el("td", { class: "num", text: tokens(j.totalPaid) }),
      );
      const open = () => select(j.id, true);
      row.addEventListener("click", open);
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          open();
        }
      });
      return row;
    }),
  );
}

function renderJob(job) {
  const detail = $("detail");
  if (!job) {
    detail.hidden = true;
    return;
  }
  detail.hidden = false;
  detail.dataset.jobId = job.id;
  // (replaceChildren would print a null as the text "null": a job without a published name has none)
  $("detail-title").replaceChildren(...[el("span", { text: `Job #${job.id} ` }), job.name ? el("span", { class: "job-name", "data-testid": "detail-name", text: `${job.name} ` }) : null, badge(job.status)].filter(Boolean));
  const roundNow = job.status === "Running" && job.currentRound !== null ? `round ${job.currentRound + 1} of ${job.rounds} in progress` : `${job.roundsFinalized} of ${job.rounds} finalized`;
  const items = [
    ["Rounds", roundNow],
    ["Workers", `${job.activeWorkerCount} active${job.joiningWorkerCount ? `, ${job.joiningWorkerCount} joining` : ""} of ${job.workerCount} joined (${job.minWorkers}–${job.maxWorkers})`],
    ["Reward / round", tokens(job.rewardPerRound)],
    ["Escrow", `${tokens(job.escrow)} left of ${tokens(job.escrowInitial)}`],
    // totalPaid leaves escrow: workers' rewards plus the protocol fee on each reward
    ["Paid out", `${tokens(job.totalPaid)} (rewards + protocol fee)`],
    ["Refunded", tokens(job.refunded)],
    ["Slashed", tokens(job.slashed)],
    ["Poster", addr(job.poster)],
    ["Model", addr(job.modelHash)],
    ["Created", when(job.createdAt)],
  ];
  $("summary").replaceChildren(...items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  renderSample(job);
  renderChart(job);
  renderWorkers(job);
  renderRounds(job);
}

/** A completed job: a short text generated from its final model by the poster (reportJobSample). */
function renderSample(job) {
  const box = $("sample");
  const shown = job.status === "Completed" && job.sample !== null && job.sampleModelHash === job.modelHash?.toLowerCase();
  box.hidden = !shown;
  if (!shown) return;
  $("sample-text").replaceChildren(el("strong", { text: job.samplePrompt ?? "" }), el("span", { "data-testid": "sample-text", text: job.sample }));
}

/**
 * A worker's membership: joining (joined the running job, active from the next round), active (from
 * which round, for late joiners), removed (why, in which round), or never activated (the job ended first).
 */
function workerState(w) {
  if (w.joining) return { state: "joining", cls: "warn", text: `joining · active from round ${w.joinedRound + 1}` };
  if (w.active) return { state: "active", cls: "ok", text: w.activeFromRound ? `active from round ${w.activeFromRound}` : "active" };
  if (w.removedReason || w.removedRound !== null) {
    const why = w.removedReason ? ` (${w.removedReason})` : "";
    return { state: "removed", cls: "bad", text: `removed${w.removedRound !== null ? ` in round ${w.removedRound}` : ""}${why}` };
  }
  if (w.joinedRound !== null && w.activeFromRound === null) return { state: "never-active", cls: "muted", text: "joined late · job ended first" };
  return { state: "inactive", cls: "bad", text: "inactive" };
}

function renderWorkers(job) {
  $("workers-body").replaceChildren(
    ...job.workers.items.map((w) => {
      const st = workerState(w);
      return el(
        "tr",
        { "data-testid": "worker-row", "data-worker": w.worker, "data-state": st.state },
        el("td", { class: "mono", text: String(w.index) }),
        el("td", {}, addr(w.worker)),
        el("td", {}, el("span", { class: st.cls, "data-testid": "worker-state", text: st.text })),
        el("td", { class: "num", text: String(w.commits) }),
        el("td", { class: "num", "data-testid": "worker-earned", text: tokens(w.earned) }),
        el("td", { class: "num", text: tokens(w.slashed) }),
      );
    }),
  );
}

/** Workers of a round's joined / departed list as "#index 0xab…cd" chips (title: the address, and why it left). */
function members(list, testid) {
  const cell = el("td", { "data-testid": testid, "data-indices": list.map((w) => w.index).join(",") });
  if (!list.length) cell.append(el("span", { class: "muted", text: "–" }));
  for (const w of list) cell.append(el("span", { class: "member mono", title: `${w.worker}${w.removedReason ? ` · ${w.removedReason}` : ""}`, text: `#${w.index} ${short(w.worker)}` }));
  return cell;
}

function renderRounds(job) {
  const curve = new Map(job.lossCurve.map((p) => [p.round, p]));
  $("rounds-body").replaceChildren(
    ...job.roundList.items.map((r) => {
      const p = curve.get(r.round);
      return el(
        "tr",
        { "data-testid": "round-row", "data-round": r.round, "data-status": r.status },
        el("td", { class: "mono", text: String(r.round) }),
        el("td", {}, badge(r.status)),
        members(r.joined, "round-joined"),
        members(r.departed, "round-departed"),
        el("td", { class: "num", text: String(r.commitCount) }),
        el("td", { class: "num", text: String(r.voteCount) }),
        el("td", { class: "num", text: loss(p?.meanTrainLoss) }),
        el("td", { class: "num", text: loss(p?.evalLoss) }),
        el("td", { class: "num", text: tokens(r.totalPaid) }),
      );
    }),
  );
}

/** Round numbers and "nice" value ticks. */
function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return { ticks, step };
}

function renderChart(job) {
  const chart = $("chart");
  const W = 720, H = 300, L = 56, R = 18, T = 16, B = 40;
  const finalized = job.lossCurve.filter((p) => p.status === "Finalized");
  const train = finalized.filter((p) => p.meanTrainLoss !== null).map((p) => ({ round: p.round, v: p.meanTrainLoss }));
  const evals = finalized.filter((p) => p.evalLoss !== null).map((p) => ({ round: p.round, v: p.evalLoss }));
  chart.dataset.trainPoints = String(train.length);
  chart.dataset.evalPoints = String(evals.length);
  const nodes = [];
  const rounds = Math.max(job.rounds, 1);
  const inset = 14; // keep the first and last points off the axes
  const x = (r) => (rounds === 1 ? (L + W - R) / 2 : L + inset + (r / (rounds - 1)) * (W - L - R - 2 * inset));
  const values = [...train, ...evals].map((p) => p.v);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  const pad = (hi - lo) * 0.08 || Math.max(Math.abs(hi) * 0.05, 0.05);
  lo = Math.max(0, lo - pad);
  hi += pad;
  const { ticks } = niceTicks(lo, hi);
  lo = Math.min(lo, ticks[0] ?? lo);
  hi = Math.max(hi, ticks[ticks.length - 1] ?? hi);
  const y = (v) => T + (1 - (v - lo) / (hi - lo || 1)) * (H - T - B);

  // grid and axes
  for (const t of ticks) {
    nodes.push(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }));
    nodes.push(svg("text", { class: "tick", x: L - 8, y: y(t) + 4, "text-anchor": "end" }, t.toFixed(Math.max(0, -Math.floor(Math.log10(ticks[1] - ticks[0] || 1)) + 1))));
  }
  const every = Math.ceil(rounds / 12);
  for (let r = 0; r < rounds; r += every) {
    nodes.push(svg("line", { class: "xtick", x1: x(r), x2: x(r), y1: H - B, y2: H - B + 5 }));
    nodes.push(svg("text", { class: "tick", x: x(r), y: H - B + 18, "text-anchor": "middle" }, String(r)));
  }
  nodes.push(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  nodes.push(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  nodes.push(svg("text", { class: "label", x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "round"));
  nodes.push(svg("text", { class: "label", x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "loss"));

  if (!values.length) {
    nodes.push(svg("text", { class: "empty-chart", "data-testid": "chart-empty", x: (L + W - R) / 2, y: (T + H - B) / 2, "text-anchor": "middle" }, "No finalized round yet"));
  }

  const series = (points, kind) => {
    if (points.length > 1) nodes.push(svg("polyline", { class: `line ${kind}`, points: points.map((p) => `${x(p.round).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }));
    for (const p of points) {
      const c = svg("circle", { class: `point ${kind}`, "data-testid": `${kind}-point`, "data-round": p.round, "data-value": p.v, cx: x(p.round).toFixed(1), cy: y(p.v).toFixed(1), r: 4.5 });
      c.append(svg("title", {}, `round ${p.round} · ${kind === "train" ? "mean train" : "eval"} loss ${p.v.toFixed(4)}`));
      nodes.push(c);
    }
  };
  series(train, "train");
  series(evals, "eval");
  chart.replaceChildren(...nodes);
}

// ---------------------------------------------------------------- data flow

function select(id, byUser) {
  if (byUser) {
    state.chosen = id;
    history.replaceState(null, "", `#job=${id}`);
  }
  if (state.selected !== id) {
    state.selected = id;
    renderJobs();
    void refresh();
  }
}

function chosenFromHash() {
  const m = /job=(\d+)/.exec(location.hash);
  return m ? m[1] : null;
}

let running = false;
let again = false;

async function refresh() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    do {
      again = false;
      const list = await gql(LIST_QUERY);
      state.jobs = list.jobs.items;
      $("jobs-count").textContent = list.jobs.totalCount > state.jobs.length ? `(newest ${state.jobs.length} of ${list.jobs.totalCount})` : `(${list.jobs.totalCount})`;
      renderStats(list._meta, list.networkStats);
      const want = state.chosen ?? state.jobs[0]?.id ?? null;
      state.selected = want;
      renderJobs();
      const detail = want === null ? null : (await gql(JOB_QUERY, { id: want })).job;
      if (!again) renderJob(detail);
      showError(null);
    } while (again);
    document.body.dataset.ready = "true";
  } catch (err) {
    showError(err);
  } finally {
    running = false;
  }
}

let timer = null;
function scheduleRefresh() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    void refresh();
  }, 120);
}

/** One EventSource per subscription; reconnects (and re-fetches everything) when a stream drops. */
function subscribeAll() {
  const open = new Set();
  const live = $("live");
  const show = () => {
    const all = open.size === SUBSCRIPTIONS.length;
    live.dataset.state = all ? "live" : "connecting";
    live.textContent = all ? "live" : "reconnecting";
  };
  SUBSCRIPTIONS.forEach((query, i) => {
    const connect = () => {
      const es = new EventSource(`${GRAPHQL}?query=${encodeURIComponent(query)}`);
      es.addEventListener("open", () => {
        open.add(i);
        show();
        scheduleRefresh();
      });
      es.addEventListener("next", () => scheduleRefresh());
      es.addEventListener("error", () => {
        open.delete(i);
        show();
        if (es.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
      });
      es.addEventListener("complete", () => {
        es.close();
        open.delete(i);
        show();
        setTimeout(connect, 2000);
      });
    };
    connect();
  });
}

state.chosen = chosenFromHash();
window.addEventListener("hashchange", () => {
  state.chosen = chosenFromHash();
  void refresh();
});
subscribeAll();
void refresh();
// A slow safety net in case a stream is down for long.
setInterval(() => {
  if ($("live").dataset.state !== "live") void refresh();
}, 10_000);
