// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./utils/Vm.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";
import {IMarketDisputes} from "../interfaces/IMarketDisputes.sol";

/// @title AccountingTest
/// @notice Fuzz tests of the token accounting: escrow arithmetic, a whole job with random
///         parameters and random worker behaviour checked against an independent model of who is
///         owed what (rewards, fees, refunds, slashes, challenge bonds, bounties), and the
///         registry's stake bookkeeping under random add/unbond/lock/release/slash sequences.
contract AccountingTest is MarketFixture {
    uint256 private constant BPS = 10_000;

    function setUp() public {
        _deploy();
    }

    // =================================================================== escrowFor

    /// @notice fee = reward × bps / 10000 and escrow = rounds × workers × (reward + fee), for any
    ///         input (escrowFor never reverts: no overflow is possible with these widths).
    function testFuzz_escrowForArithmetic(uint128 reward, uint32 rounds, uint8 maxWorkers, uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, 0, market.MAX_FEE_BPS()));
        market.setProtocolFee(feeBps);
        (uint256 escrow, uint128 fee) = market.escrowFor(reward, rounds, maxWorkers);
        uint256 expectedFee = (uint256(reward) * feeBps) / BPS;
        assertEq(fee, expectedFee, "feePerReward");
        assertLe(fee, uint256(reward) / 10, "fee above 10% of the reward");
        assertEq(escrow, uint256(rounds) * maxWorkers * (uint256(reward) + expectedFee), "escrow");
    }

    /// @notice createJob pulls exactly escrowFor(...); starting with fewer workers than maxWorkers
    ///         moves nothing: the unfilled slots stay funded for providers joining between rounds.
    function testFuzz_createPullsEscrowAndStartKeepsUnfilledSlots(
        uint128 reward,
        uint32 rounds,
        uint8 maxWorkers,
        uint8 joined,
        uint16 feeBps
    ) public {
        reward = uint128(bound(reward, 1, 1e30));
        rounds = uint32(bound(rounds, 1, market.MAX_ROUNDS()));
        maxWorkers = uint8(bound(maxWorkers, 1, market.MAX_WORKERS()));
        joined = uint8(bound(joined, 1, maxWorkers < 6 ? maxWorkers : 6));
        feeBps = uint16(bound(feeBps, 0, market.MAX_FEE_BPS()));
        market.setProtocolFee(feeBps);

        uint256 unit = uint256(reward) + (uint256(reward) * feeBps) / BPS;
        uint256 jobId = _createJob(POSTER, _params(reward, 10e18, rounds, maxWorkers, 1));
        assertEq(token.balanceOf(address(market)), unit * rounds * maxWorkers, "market holds the escrow");
        assertEq(token.balanceOf(POSTER), 0, "poster paid the whole escrow");
        assertEq(market.jobState(jobId).escrow, unit * rounds * maxWorkers, "job escrow");

        for (uint256 i; i < joined; ++i) {
            _register(i, MIN_STAKE);
            vm.prank(providerAddr(i));
            market.joinJob(jobId);
        }
        if (joined < maxWorkers) {
            vm.warp(block.timestamp + 3_601);
            market.startJob(jobId);
        }
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        assertEq(uint256(s.status), uint256(ITrainingMarket.JobStatus.Running), "running");
        assertEq(s.escrow, unit * rounds * maxWorkers, "escrow kept for every slot");
        assertEq(market.balanceOf(POSTER), 0, "nothing refunded at start");
        assertEq(token.balanceOf(address(market)), s.escrow, "market holds the escrow");
    }

    // =================================================================== a whole job against a model

    struct Sim {
        uint256 seed;
        uint256 jobId;
        uint256 n;
        uint256 maxWorkers;
        uint256 rounds;
        uint256 minWorkers;
        uint256 reward;
        uint256 fee;
        uint256 bond;
        uint256 penalty;
        uint256 quorumBps;
        uint256 stake;
        uint256 challengeBond;
        uint256 bountyBps;
        uint32 active;
        uint256 escrow;
        uint256 posterOwed;
        uint256 treasuryOwed;
        uint256 challengerOwed;
        uint256 rewardsPaid;
        uint256 challengeBondPosted;
        uint256 accrued;
        uint256 reserved;
        uint256 reservedRounds;
        uint256[] workerOwed;
        uint256[] slotBond;
        uint256[] slashed;
        uint256[] committedRounds;
        uint256 t;
        bool ended;
        ITrainingMarket.JobStatus status;
    }

    function _rand(Sim memory s, string memory tag, uint256 a, uint256 b) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(s.seed, tag, a, b)));
    }

    function _warpTo(Sim memory s, uint256 t) private {
        if (t > s.t) s.t = t;
        vm.warp(s.t);
    }

    /// @notice A full job with random economic parameters and random worker behaviour (absent,
    ///         excluded, dissenting, silent, quorum failures, poster cancelling mid-round or after a
    ///         stuck round, a challenge upheld / rejected / expired after the end). Every credited amount is checked against
    ///         an independent model, bonds are released, everyone withdraws, and the market ends
    ///         with a zero balance: Σ credited + refund == escrow + slashes + challenge bonds.
    function testFuzz_fullJobConservesTokens(
        uint256 seed,
        uint128 reward,
        uint128 bond,
        uint16 penaltyBps,
        uint16 feeBps,
        uint16 quorumBps,
        uint8 workers,
        uint8 rounds,
        uint16 bountyBps
    ) public {
        Sim memory s;
        s.seed = seed;
        s.reward = bound(reward, 1e6, 1e24); // bond / reward stays within the (widened) uint64 ratio limit
        s.bond = bound(bond, 1, 1e24);
        s.penalty = (s.bond * bound(penaltyBps, 0, 5_000)) / BPS;
        s.quorumBps = bound(quorumBps, 5_001, BPS);
        s.n = bound(workers, 1, 8);
        s.maxWorkers = s.n + (_rand(s, "extra", 0, 0) % 3);
        s.rounds = bound(rounds, 1, 5);
        s.minWorkers = 1 + (_rand(s, "min", 0, 0) % s.n);
        s.stake = MIN_STAKE + s.bond;
        s.challengeBond = 1 + (_rand(s, "cb", 0, 0) % 1e24);
        s.bountyBps = bound(bountyBps, 0, market.MAX_BOUNTY_BPS());
        s.t = block.timestamp;
        feeBps = uint16(bound(feeBps, 0, market.MAX_FEE_BPS()));
        market.setProtocolFee(feeBps);
        market.setChallengeBounty(uint16(s.bountyBps));
        s.fee = (s.reward * feeBps) / BPS;
        s.workerOwed = new uint256[](s.n);
        s.slotBond = new uint256[](s.n);
        s.slashed = new uint256[](s.n);
        s.committedRounds = new uint256[](s.n);

        ITrainingMarket.JobParams memory p =
            _params(uint128(s.reward), uint128(s.bond), uint32(s.rounds), uint8(s.maxWorkers), uint8(s.minWorkers));
        p.penaltyBps = uint16(bound(penaltyBps, 0, 5_000));
        p.quorumBps = uint16(s.quorumBps);
        p.challengeBond = uint128(s.challengeBond);
        p.commitWindow = uint32(10 + (_rand(s, "cw", 0, 0) % 3_600));
        p.voteWindow = uint32(10 + (_rand(s, "vw", 0, 0) % 3_600));
        s.jobId = _createJob(POSTER, p);
        s.escrow = s.rounds * s.maxWorkers * (s.reward + s.fee);

        for (uint256 i; i < s.n; ++i) {
            _register(i, s.stake);
            vm.prank(providerAddr(i));
            market.joinJob(s.jobId);
            s.slotBond[i] = s.bond;
            s.active |= uint32(1) << uint32(i);
        }
        if (s.n < s.maxWorkers) {
            _warpTo(s, s.t + p.joinWindow + 1);
            market.startJob(s.jobId); // unfilled slots stay funded until the job ends
        }
        _checkJob(s, ITrainingMarket.JobStatus.Running);

        for (uint32 r; r < s.rounds && !s.ended; ++r) {
            _playRound(s, r, p);
        }
        assertTrue(s.ended, "job ended after its last round");
        _checkJob(s, s.status);

        _settleAndDrain(s, p);
    }

    function _playRound(Sim memory s, uint32 r, ITrainingMarket.JobParams memory p) private {
        // ---- commit phase: each active worker is absent with probability 1/6
        uint32 committed;
        for (uint256 i; i < s.n; ++i) {
            uint32 b = uint32(1) << uint32(i);
            if (s.active & b == 0 || _rand(s, "absent", r, i) % 6 == 0) continue;
            _commit(i, s.jobId, r, keccak256(abi.encode("update", r, i)));
            committed |= b;
            s.committedRounds[i] |= 1 << r;
        }

        // ---- the poster cancels mid-round with probability 1/12: committed workers are paid. During
        //      the commit window the cancellation only takes effect when the window ends.
        uint64 commitDeadline = market.roundOf(s.jobId, r).commitDeadline;
        if (_rand(s, "cancel", r, 0) % 12 == 0) {
            vm.prank(POSTER);
            market.cancelJob(s.jobId);
            if (market.jobState(s.jobId).status == ITrainingMarket.JobStatus.Running) {
                assertEq(market.cancelAt(s.jobId), commitDeadline, "cancel due at the end of the commit window");
                _warpTo(s, uint256(commitDeadline) + 1);
                market.expireRound(s.jobId);
            }
            _pay(s, committed & s.active);
            _end(s, ITrainingMarket.JobStatus.Cancelled);
            return;
        }

        if (committed == 0) {
            _warpTo(s, uint256(commitDeadline) + 1);
            market.expireRound(s.jobId);
            _penalize(s, s.active, true);
            _advance(s, r, false);
            return;
        }
        // voting opens at once when every active worker committed, else after the commit deadline
        if (committed != s.active) _warpTo(s, uint256(commitDeadline) + 1);

        // ---- vote phase: option A = (good hash, committed minus excluded), option B = dissent
        //      some committed workers stay silent (never vote)
        uint32 included = committed;
        uint32 dissent;
        uint32 silent;
        for (uint256 i; i < s.n; ++i) {
            uint32 b = uint32(1) << uint32(i);
            if (committed & b == 0) continue;
            if (_rand(s, "excluded", r, i) % 6 == 0) included &= ~b;
            if (_rand(s, "dissent", r, i) % 5 == 0) dissent |= b;
            else if (_rand(s, "silent", r, i) % 8 == 0) silent |= b;
        }
        if (included == 0) included = committed;
        (bool finalized, bool winnerB, uint32 votesA, uint32 votesB) =
            _vote(s, r, committed, included, dissent, silent);

        if (finalized) {
            uint32 inc = winnerB ? committed : included;
            uint32 dissenters = (winnerB ? votesA : votesB) & s.active;
            _pay(s, s.active & inc & ~dissenters);
            _penalize(s, dissenters, false);
            _penalize(s, s.active & committed & ~inc & ~dissenters, false);
            _penalize(s, s.active & ~committed, true);
            _advance(s, r, true);
        } else {
            ITrainingMarket.Round memory rd = market.roundOf(s.jobId, r);
            uint256 voteDeadline = rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + p.voteWindow;
            _warpTo(s, voteDeadline + 1);
            market.expireRound(s.jobId);
            // absentees are penalised and removed; committed workers that never voted are
            // penalised (NoVote) and stay; the voters' escrow is reserved for a referee settlement
            uint32 absent = s.active & ~committed;
            _penalize(s, absent, true);
            _penalize(s, s.active & committed & ~(votesA | votesB), false);
            uint256 reserve = popcount(votesA | votesB) * (s.reward + s.fee);
            s.escrow -= reserve;
            s.reserved += reserve;
            if (reserve != 0) s.reservedRounds |= 1 << r;
            assertEq(market.reservedFor(s.jobId, r), reserve, "reserve of the expired round");
            _advance(s, r, false);
        }
    }

    /// @dev Dissenters vote first (for B), then the others (for A) except the silent ones, until
    ///      one option has quorum (of the committed workers, all active here).
    function _vote(Sim memory s, uint32 r, uint32 committed, uint32 included, uint32 dissent, uint32 silent)
        private
        returns (bool finalized, bool winnerB, uint32 votesA, uint32 votesB)
    {
        uint256 need = s.quorumBps * popcount(committed);
        bytes32 good = keccak256(abi.encode("model", r));
        bytes32 bad = keccak256(abi.encode("wrong-model", r));
        for (uint256 pass; pass < 2 && !finalized; ++pass) {
            for (uint256 i; i < s.n; ++i) {
                uint32 b = uint32(1) << uint32(i);
                if (committed & b == 0 || silent & b != 0) continue;
                bool isDissent = dissent & b != 0;
                if ((pass == 0) != isDissent) continue;
                if (isDissent) {
                    _vote(i, s.jobId, r, bad, committed);
                    votesB |= b;
                    if (popcount(votesB) * BPS >= need) (finalized, winnerB) = (true, true);
                } else {
                    _vote(i, s.jobId, r, good, included);
                    votesA |= b;
                    if (popcount(votesA) * BPS >= need) finalized = true;
                }
                if (finalized) break;
            }
        }
        ITrainingMarket.Round memory rd = market.roundOf(s.jobId, r);
        assertEq(
            uint256(rd.status),
            uint256(finalized ? ITrainingMarket.RoundStatus.Finalized : ITrainingMarket.RoundStatus.Active),
            "round status after the votes"
        );
    }

    function _pay(Sim memory s, uint32 mask) private pure {
        uint256 count;
        for (uint256 i; i < s.n; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            s.workerOwed[i] += s.reward;
            s.accrued += s.reward;
            ++count;
        }
        s.treasuryOwed += s.fee * count;
        s.escrow -= (s.reward + s.fee) * count;
        s.rewardsPaid += count;
    }

    function _penalize(Sim memory s, uint32 mask, bool remove) private pure {
        for (uint256 i; i < s.n; ++i) {
            uint32 b = uint32(1) << uint32(i);
            if (mask & b == 0) continue;
            uint256 amount = s.penalty < s.slotBond[i] ? s.penalty : s.slotBond[i];
            s.slotBond[i] -= amount;
            s.slashed[i] += amount;
            s.posterOwed += amount;
            if (remove || s.slotBond[i] * 2 < s.bond) s.active &= ~b;
        }
    }

    function _advance(Sim memory s, uint32 r, bool finalized) private view {
        if (r + 1 == s.rounds) {
            _end(s, finalized ? ITrainingMarket.JobStatus.Completed : ITrainingMarket.JobStatus.Failed);
        } else if (popcount(s.active) < s.minWorkers) {
            _end(s, ITrainingMarket.JobStatus.Failed);
        } else {
            _checkJob(s, ITrainingMarket.JobStatus.Running);
        }
    }

    function _end(Sim memory s, ITrainingMarket.JobStatus status) private view {
        s.posterOwed += s.escrow;
        s.escrow = 0;
        s.ended = true;
        s.status = status;
        _checkJob(s, status);
    }

    /// @dev Compares the chain with the model: status, escrow, every credited balance, bonds.
    function _checkJob(Sim memory s, ITrainingMarket.JobStatus status) private view {
        ITrainingMarket.JobState memory j = market.jobState(s.jobId);
        assertEq(uint256(j.status), uint256(status), "job status");
        assertEq(j.escrow, s.escrow, "job escrow");
        assertEq(j.activeMask, s.active, "active mask");
        assertEq(market.balanceOf(POSTER), s.posterOwed, "poster credit (refunds + slash proceeds)");
        assertEq(market.balanceOf(TREASURY), s.treasuryOwed, "treasury fees");
        assertEq(market.balanceOf(CHALLENGER), s.challengerOwed, "challenger credit");
        for (uint256 i; i < s.n; ++i) {
            address w = providerAddr(i);
            assertEq(market.balanceOf(w), 0, "rewards stay in the market until the bond is released");
            assertEq(uint256(market.workerSlot(s.jobId, w).paidRounds) * s.reward, s.workerOwed[i], "worker earnings");
            assertEq(market.workerSlot(s.jobId, w).bond, s.slotBond[i], "slot bond");
            IProviderRegistry.Provider memory pr = registry.providerOf(w);
            assertEq(pr.stake, s.stake - s.slashed[i], "stake after slashes");
        }
        uint256 credited = market.balanceOf(POSTER) + market.balanceOf(TREASURY) + market.balanceOf(CHALLENGER);
        for (uint256 i; i < s.n; ++i) {
            credited += market.balanceOf(providerAddr(i));
        }
        assertEq(market.accruedOf(s.jobId), s.accrued, "accrued rewards");
        assertEq(market.reservedOf(s.jobId), s.reserved, "reserved escrow");
        assertEq(
            token.balanceOf(address(market)),
            j.escrow + credited + s.accrued + s.reserved,
            "market balance == escrow + credits + accrued + reserved"
        );
    }

    /// @dev Releases every bond after the challenge window, withdraws every credit and checks that
    ///      each account received exactly what the model says and nothing is left in the market.
    function _settleAndDrain(Sim memory s, ITrainingMarket.JobParams memory p) private {
        uint256 endedAt = market.jobState(s.jobId).endedAt;
        _warpTo(s, endedAt + p.challengeWindow + 1);
        for (uint32 r; r < s.rounds; ++r) {
            if (s.reservedRounds & (1 << r) == 0) continue;
            IMarketDisputes(address(market)).releaseReserve(s.jobId, r); // nobody asked referees to settle it: back to the poster
        }
        s.posterOwed += s.reserved;
        s.reserved = 0;
        for (uint256 i; i < s.n; ++i) {
            address w = providerAddr(i);
            vm.prank(address(uint160(0xDEAD + i))); // anyone may release
            market.releaseBond(s.jobId, w);
            IProviderRegistry.Provider memory pr = registry.providerOf(w);
            assertEq(pr.bonded, 0, "bond fully released");
            assertEq(pr.stake, s.stake - s.slashed[i], "stake after release");
            assertEq(registry.freeStakeOf(w), pr.stake, "all stake free");
        }
        s.accrued = 0;
        assertEq(market.accruedOf(s.jobId), 0, "every reward released");
        _withdraw(POSTER, s.posterOwed);
        _withdraw(TREASURY, s.treasuryOwed);
        _withdraw(CHALLENGER, s.challengerOwed);
        for (uint256 i; i < s.n; ++i) {
            _withdraw(providerAddr(i), s.workerOwed[i]);
        }
        assertEq(token.balanceOf(address(market)), 0, "no tokens stuck in the market");

        // conservation of the whole job: what came in (escrow, slashes, challenge bond) went out
        uint256 totalSlashed;
        for (uint256 i; i < s.n; ++i) {
            totalSlashed += s.slashed[i];
        }
        assertEq(
            token.balanceOf(POSTER) + token.balanceOf(TREASURY) + token.balanceOf(CHALLENGER) + _sumWorkerTokens(s),
            s.rounds * s.maxWorkers * (s.reward + s.fee) + totalSlashed + s.challengeBondPosted,
            "paid out == escrow + slashes + challenge bond"
        );
        assertEq(s.rewardsPaid * s.fee, s.treasuryOwed, "fees == fee per reward x rewards paid");
    }

    function _sumWorkerTokens(Sim memory s) private view returns (uint256 total) {
        for (uint256 i; i < s.n; ++i) {
            total += token.balanceOf(providerAddr(i));
        }
    }

    function _withdraw(address who, uint256 expected) private {
        assertEq(market.balanceOf(who), expected, "credited balance before withdraw");
        uint256 before = token.balanceOf(who);
        if (expected == 0) {
            vm.expectRevert(abi.encodeWithSelector(ITrainingMarket.NothingToWithdraw.selector, who));
            vm.prank(who);
            market.withdraw();
            return;
        }
        vm.prank(who);
        market.withdraw();
        assertEq(token.balanceOf(who) - before, expected, "withdrawn amount");
        assertEq(market.balanceOf(who), 0, "balance zero after withdraw");
    }

    // =================================================================== registry stake accounting

    struct RegModel {
        uint256[3] stake;
        uint256[3] bonded;
        uint256[3] unbonding;
        uint256[3] readyAt;
        uint256[3] withdrawn;
        uint256 slashedToMarket;
        uint256 t;
    }

    /// @notice Random add/unbond/cancel/withdraw/lock/release/slash sequences over three providers:
    ///         stake == free + bonded + unbonding, bonded + unbonding <= stake, the registry's token
    ///         balance == Σ stake, and every transfer matches the model; invalid requests revert.
    function testFuzz_registryStakeAccounting(uint256 seed, uint8 steps) public {
        registry.grantRole(registry.MARKET_ROLE(), address(this)); // act as a market
        RegModel memory m;
        m.t = block.timestamp;
        for (uint256 i; i < 3; ++i) {
            uint256 initial = MIN_STAKE + (uint256(keccak256(abi.encode(seed, "init", i))) % 1e24);
            _register(i, initial);
            m.stake[i] = initial;
        }
        uint256 n = bound(steps, 1, 40);
        for (uint256 k; k < n; ++k) {
            uint256 rnd = uint256(keccak256(abi.encode(seed, k)));
            uint256 i = rnd % 3;
            uint256 op = (rnd >> 8) % 8;
            uint256 amount = _amount(rnd >> 16, m.stake[i]);
            _regStep(m, i, op, amount, rnd);
            _checkRegistry(m);
        }
    }

    function _amount(uint256 rnd, uint256 stake) private pure returns (uint256) {
        uint256 kind = rnd % 4;
        if (kind == 0) return 0;
        if (kind == 1) return stake == 0 ? 1 : 1 + ((rnd >> 4) % stake); // within stake
        if (kind == 2) return stake + 1 + ((rnd >> 4) % 1e18); // beyond stake
        return 1 + ((rnd >> 4) % 1e24);
    }

    function _regStep(RegModel memory m, uint256 i, uint256 op, uint256 amount, uint256 rnd) private {
        address p = providerAddr(i);
        uint256 free = m.stake[i] - m.bonded[i] - m.unbonding[i];
        if (op == 0) {
            // addStake
            if (amount == 0) {
                vm.expectRevert(IProviderRegistry.ZeroAmount.selector);
                vm.prank(p);
                registry.addStake(0);
                return;
            }
            _mintApprove(p, address(registry), amount);
            vm.prank(p);
            registry.addStake(amount);
            m.stake[i] += amount;
        } else if (op == 1) {
            // requestUnbond
            if (amount == 0) {
                vm.expectRevert(IProviderRegistry.ZeroAmount.selector);
            } else if (amount > free) {
                vm.expectRevert(
                    abi.encodeWithSelector(IProviderRegistry.InsufficientFreeStake.selector, p, amount, free)
                );
            } else {
                m.unbonding[i] += amount;
                m.readyAt[i] = m.t + UNBONDING_DELAY;
            }
            vm.prank(p);
            registry.requestUnbond(amount);
        } else if (op == 2) {
            // cancelUnbond
            if (m.unbonding[i] == 0) {
                vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NothingUnbonding.selector, p));
            } else {
                m.unbonding[i] = 0;
                m.readyAt[i] = 0;
            }
            vm.prank(p);
            registry.cancelUnbond();
        } else if (op == 3) {
            // time passes (up to 10 days), then withdrawUnbonded
            m.t += (rnd >> 40) % 10 days;
            vm.warp(m.t);
            uint256 before = token.balanceOf(p);
            if (m.unbonding[i] == 0) {
                vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NothingUnbonding.selector, p));
            } else if (m.t < m.readyAt[i]) {
                vm.expectRevert(
                    abi.encodeWithSelector(IProviderRegistry.UnbondingNotReady.selector, uint64(m.readyAt[i]), uint64(m.t))
                );
            }
            vm.prank(p);
            registry.withdrawUnbonded();
            if (m.unbonding[i] != 0 && m.t >= m.readyAt[i]) {
                assertEq(token.balanceOf(p) - before, m.unbonding[i], "unbonded amount paid");
                m.withdrawn[i] += m.unbonding[i];
                m.stake[i] -= m.unbonding[i];
                m.unbonding[i] = 0;
                m.readyAt[i] = 0;
            }
        } else if (op == 4 || op == 5) {
            // lockBond (twice as likely, so there is something to release and slash)
            if (amount == 0) {
                vm.expectRevert(IProviderRegistry.ZeroAmount.selector);
            } else if (amount > free) {
                vm.expectRevert(
                    abi.encodeWithSelector(IProviderRegistry.InsufficientFreeStake.selector, p, amount, free)
                );
            } else {
                m.bonded[i] += amount;
            }
            registry.lockBond(p, amount);
        } else if (op == 6) {
            // releaseBond (amount drawn against the bonded part half of the time)
            if (rnd & (1 << 200) != 0 && m.bonded[i] != 0) amount = 1 + (amount % m.bonded[i]);
            if (amount > m.bonded[i]) {
                vm.expectRevert(
                    abi.encodeWithSelector(IProviderRegistry.InsufficientBond.selector, p, amount, m.bonded[i])
                );
            } else {
                m.bonded[i] -= amount;
            }
            registry.releaseBond(p, amount);
        } else {
            // slash: takes min(amount, bonded) out of bonded and stake, pays the caller (market)
            uint256 expected = amount < m.bonded[i] ? amount : m.bonded[i];
            uint256 before = token.balanceOf(address(this));
            uint256 got = registry.slash(p, amount);
            assertEq(got, expected, "slashed amount");
            assertEq(token.balanceOf(address(this)) - before, expected, "slash transferred to the market");
            m.bonded[i] -= expected;
            m.stake[i] -= expected;
            m.slashedToMarket += expected;
        }
    }

    function _checkRegistry(RegModel memory m) private view {
        uint256 total;
        for (uint256 i; i < 3; ++i) {
            address p = providerAddr(i);
            IProviderRegistry.Provider memory pr = registry.providerOf(p);
            assertEq(pr.stake, m.stake[i], "stake");
            assertEq(pr.bonded, m.bonded[i], "bonded");
            assertEq(pr.unbonding, m.unbonding[i], "unbonding");
            assertEq(pr.unbondingReadyAt, m.readyAt[i], "unbondingReadyAt");
            assertLe(pr.bonded + pr.unbonding, pr.stake, "bonded + unbonding <= stake");
            assertEq(registry.freeStakeOf(p) + pr.bonded + pr.unbonding, pr.stake, "stake == free + bonded + unbonding");
            assertEq(token.balanceOf(p), m.withdrawn[i], "provider's tokens == withdrawn");
            total += pr.stake;
        }
        assertEq(token.balanceOf(address(registry)), total, "registry balance == sum of stakes");
        assertEq(token.balanceOf(address(this)), m.slashedToMarket, "slashes paid to the market");
    }
}
