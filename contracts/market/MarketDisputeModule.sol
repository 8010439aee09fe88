// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IMarketDisputes} from "../interfaces/IMarketDisputes.sol";
import {Bitmask} from "../libraries/Bitmask.sol";
import {MarketBase} from "./MarketBase.sol";

/// @title MarketDisputeModule
/// @notice The IMarketDisputes hooks of the TrainingMarket. Runs only through `delegatecall` from the
///         market's fallback, on the market's storage (called directly it sees its own empty storage,
///         where `disputeGame` is zero, so every hook reverts). It applies outcomes the dispute game
///         established; it decides nothing.
contract MarketDisputeModule is MarketBase {
    using Bitmask for uint32;

    constructor(IProviderRegistry registry_) MarketBase(registry_) {}

    /// @notice See IMarketDisputes.
    function disputeOpened(uint256 jobId) external onlyDisputeGame {
        uint32 n = openDisputesOf[jobId] + 1;
        openDisputesOf[jobId] = n;
        emit DisputeLock(jobId, n);
    }

    /// @notice See IMarketDisputes.
    function disputeClosed(uint256 jobId) external onlyDisputeGame {
        uint32 n = openDisputesOf[jobId] - 1;
        openDisputesOf[jobId] = n;
        emit DisputeLock(jobId, n);
    }

    /// @notice See IMarketDisputes.
    function punishFraud(uint256 jobId, uint32 round, address worker, address challenger)
        external
        onlyDisputeGame
        nonReentrant
        returns (uint256 slashed, uint256 bounty)
    {
        WorkerSlot storage slot = _slots[jobId][worker];
        slashed = _slash(jobId, round, worker, slot, slot.bond, PenaltyReason.Fraud);
        bounty = (slashed * _jobs[jobId].bountyBps) / 10_000;
        _credit(challenger, jobId, CreditKind.ChallengeBounty, bounty);
        _credit(treasury, jobId, CreditKind.SlashProceeds, slashed - bounty);
        _clawBack(jobId, round, worker, slot);
        if (slot.active) _remove(jobId, worker, slot, PenaltyReason.Fraud);
    }

    /// @notice See IMarketDisputes.
    function applyRoundVerdict(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask, address challenger)
        external
        onlyDisputeGame
        nonReentrant
        returns (uint32 paidMask, uint32 wrongMask)
    {
        RoundSlot storage rd = _rounds[jobId][round];
        JobState storage job = _jobs[jobId];
        JobParams storage p = _params[jobId];
        paidMask = _tally[keccak256(abi.encode(jobId, round, modelHash, includedMask))];
        wrongMask = rd.votedMask & ~paidMask;
        uint256 pool;
        if (rd.status == RoundStatus.Finalized) {
            // The quorum voted a wrong aggregate: slash it; the honest minority gets back the dissent
            // penalty it paid plus the round's reward, first, out of the slash.
            pool = _slashWrong(jobId, round, wrongMask);
            // honest: voted the correct outcome, or was in its mask and did not vote a wrong one
            paidMask = (paidMask | (includedMask & rd.committedMask & ~rd.votedMask)) & ~wrongMask;
            uint256 owed = uint256(p.workerBond) * p.penaltyBps / 10_000 + p.rewardPerRound;
            address[] storage workers = _workers[jobId];
            for (uint256 i; i < workers.length && pool != 0; ++i) {
                if (paidMask & (uint32(1) << uint32(i)) == 0) continue;
                uint256 pay = owed < pool ? owed : pool;
                pool -= pay;
                _credit(workers[i], jobId, CreditKind.SlashProceeds, pay);
            }
            emit RoundOverturned(jobId, round, modelHash, includedMask, wrongMask, paidMask);
            // Every later round was built on a wrong model: a running job fails (escrow refunded).
            if (job.status == JobStatus.Running) _end(jobId, JobStatus.Failed);
        } else {
            uint256 reserve = reservedFor[jobId][round];
            if (rd.status != RoundStatus.Expired || reserve == 0) revert RoundNotSettleable(jobId, round);
            reservedFor[jobId][round] = 0;
            reservedOf[jobId] -= reserve;
            paidMask &= rd.votedMask;
            uint256 n = _accrue(jobId, paidMask);
            _credit(treasury, jobId, CreditKind.Fee, job.feePerReward * n);
            _credit(job.poster, jobId, CreditKind.Refund, reserve - (uint256(p.rewardPerRound) + job.feePerReward) * n);
            pool = _slashWrong(jobId, round, wrongMask);
            emit RoundSettled(jobId, round, modelHash, includedMask, paidMask, wrongMask);
        }
        uint256 bounty = (pool * job.bountyBps) / 10_000;
        _credit(challenger, jobId, CreditKind.ChallengeBounty, bounty);
        _credit(treasury, jobId, CreditKind.SlashProceeds, pool - bounty);
    }

    /// @notice Refunds to the poster the reserve of an expired round nobody asked referees to settle
    ///         within the challenge window. Anyone may call it.
    function releaseReserve(uint256 jobId, uint32 round) external nonReentrant {
        uint256 reserve = reservedFor[jobId][round];
        if (reserve == 0) revert NothingReserved(jobId, round);
        if (openDisputesOf[jobId] != 0) revert DisputesOpen(jobId, openDisputesOf[jobId]);
        uint64 until = uint64(_rounds[jobId][round].closedAt) + _params[jobId].challengeWindow;
        if (block.timestamp <= until) revert BondLockedUntil(until);
        reservedFor[jobId][round] = 0;
        reservedOf[jobId] -= reserve;
        _credit(_jobs[jobId].poster, jobId, CreditKind.Refund, reserve);
        emit ReserveReleased(jobId, round, reserve);
    }
}
