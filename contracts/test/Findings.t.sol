// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./utils/Vm.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";

/// @title FindingsTest
/// @notice Contract behaviour found while writing the fuzz / invariant suite that contradicts the
///         documented protocol. Each test asserts the documented behaviour, so it FAILS until the
///         contract is fixed (the lead fixes contracts; the test then passes unchanged or with the
///         new entry point).
contract FindingsTest is MarketFixture {
    function setUp() public {
        _deploy();
    }

    /// @notice docs/contracts.md: "Quorum counts only workers still active (a worker removed
    ///         mid-round by an upheld challenge no longer counts, so it cannot make a unanimous
    ///         quorum unreachable)". But quorum is only evaluated inside submitResult: when the
    ///         removed worker was the last one that had not voted, the remaining active workers
    ///         already form a quorum and nobody is left who can cast the vote that finalizes. The
    ///         round then expires unpaid: the honest workers lose the round's reward (refunded to
    ///         the poster), and with quorumBps 10_000 nothing else could have finalized it.
    ///         Sequence: 3 workers, quorum 100%; all commit; workers 0 and 1 vote the same result;
    ///         worker 2 is challenged and the challenge upheld (removed); vote deadline passes.
    function test_quorumReachedByRemovalIsFinalizedByAnyone() public {
        for (uint256 i; i < 3; ++i) _register(i, 1_000e18);
        ITrainingMarket.JobParams memory p = _params(10e18, 50e18, 2, 3, 1);
        p.quorumBps = 10_000;
        uint256 jobId = _createJob(POSTER, p);
        for (uint256 i; i < 3; ++i) {
            vm.prank(providerAddr(i));
            market.joinJob(jobId);
        }
        for (uint256 i; i < 3; ++i) _commit(i, jobId, 0, keccak256(abi.encode("update", i)));
        _vote(0, jobId, 0, keccak256("model-1"), 7);
        _vote(1, jobId, 0, keccak256("model-1"), 7);

        _mintApprove(CHALLENGER, address(market), p.challengeBond);
        vm.prank(CHALLENGER);
        uint256 id = market.challenge(jobId, 0, providerAddr(2));
        vm.prank(ARBITER);
        market.resolveChallenge(id, true);
        assertEq(market.jobState(jobId).activeMask, 3, "worker 2 removed");
        assertEq(market.votersFor(jobId, 0, keccak256("model-1"), 7), 3, "both active workers voted it");

        // a quorum that no further vote can complete: anyone finalizes it with the outcome voted
        vm.expectRevert(abi.encodeWithSelector(ITrainingMarket.NoQuorum.selector, jobId, uint32(0)));
        market.finalizeRound(jobId, keccak256("model-2"), 7);
        market.finalizeRound(jobId, keccak256("model-1"), 7);

        // documented outcome: the active workers' unanimous result stands and they are paid
        assertEq(
            uint256(market.roundOf(jobId, 0).status),
            uint256(ITrainingMarket.RoundStatus.Finalized),
            "round 0 should be finalized by the active workers' unanimous vote"
        );
        assertEq(market.balanceOf(providerAddr(0)), p.rewardPerRound, "worker 0 paid for round 0");
        assertEq(market.balanceOf(providerAddr(1)), p.rewardPerRound, "worker 1 paid for round 0");
    }
}
