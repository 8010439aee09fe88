import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { minWindowFor, windowProblem, MIN_WINDOW_BLOCKS } from "../../worker/spec/chain-windows.ts";
import { specFromFlags, CommandError } from "../../cli/poster/chain-commands.ts";

const ARBITER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("job windows against the chain's block time", () => {
  it("needs MIN_WINDOW_BLOCKS blocks per window, never less than the contract's 10 s", () => {
    assert.equal(minWindowFor(1), 10);
    assert.equal(minWindowFor(2), 2 * MIN_WINDOW_BLOCKS);
    assert.equal(minWindowFor(12), 12 * MIN_WINDOW_BLOCKS);
    const w = { joinWindow: 3600, commitWindow: 10, voteWindow: 300, challengeWindow: 3600 };
    assert.equal(windowProblem(w, 1), undefined);
    assert.match(windowProblem(w, 12)!, /market\.commitWindow is 10 s, shorter than 10 blocks of this chain \(12\.0 s per block → at least 120 s\)/);
  });

  it("spec init: windows default to what the chain needs; flags too short for it are refused", () => {
    const spec = specFromFlags({ preset: "tiny", rounds: "2", workers: "3", "commit-window": "150", "vote-window": "150" }, { blockTime: 12 });
    assert.equal(spec.market.commitWindow, 150);
    assert.equal(spec.market.rounds, 2);
    const defaults = specFromFlags({ preset: "tiny" }, { blockTime: 120 });
    assert.ok(defaults.market.voteWindow >= 1200 && defaults.market.commitWindow >= 1200);
    assert.throws(() => specFromFlags({ "commit-window": "20" }, { blockTime: 12 }), (e: Error) => e instanceof CommandError && /commitWindow is 20 s/.test(e.message));
    assert.throws(() => specFromFlags({ preset: "huge" }, {}), /--preset must be/);
    assert.throws(() => specFromFlags({ reward: "-1" }, {}), /--reward must be/);
    assert.equal(specFromFlags({ reward: "2.5" }, {}).market.rewardPerRound, (25n * 10n ** 17n).toString());
  });
});
