// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";
import {TestToken} from "../token/TestToken.sol";
import {ProviderRegistry} from "../ProviderRegistry.sol";
import {TrainingMarket} from "../TrainingMarket.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";

/// @dev The deployed handler is declared in this file: Hardhat writes artifacts only for the files
///      it compiles as roots, so when this file is run alone `handlers/MarketHandler.sol` is a mere
///      dependency without an artifact, and EDR could not map the handler's address to an ABI
///      ("address does not have an associated contract"). This empty subclass always has one.
contract InvariantHandler is MarketHandler {}

/// @title MarketInvariantTest
/// @notice Handler-based invariant test: random sequences of create / join / start / commit / vote /
///         expire (with time warps) / challenge / resolve / expire challenge / cancel / withdraw /
///         release bond / stake, unbond, withdraw unbonded, key rotation / fee, bounty, treasury and
///         pause changes over 6 providers, 2 posters, 2 challengers and an arbiter. After every call
///         the invariants below must hold; after every run `afterInvariant` winds everything down
///         and requires that every token can leave the market and the registry.
contract MarketInvariantTest is TestBase {
    MarketHandler internal handler;
    TestToken internal token;
    ProviderRegistry internal registry;
    TrainingMarket internal market;

    function setUp() public {
        handler = new InvariantHandler();
        token = handler.token();
        registry = handler.registry();
        market = handler.market();

        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = MarketHandler.createJob.selector;
        selectors[1] = MarketHandler.joinJob.selector;
        selectors[2] = MarketHandler.startJob.selector;
        selectors[3] = MarketHandler.commitUpdate.selector;
        selectors[4] = MarketHandler.submitResult.selector;
        selectors[5] = MarketHandler.expireRound.selector;
        selectors[6] = MarketHandler.cancelJob.selector;
        selectors[7] = MarketHandler.challenge.selector;
        selectors[8] = MarketHandler.resolveChallenge.selector;
        selectors[9] = MarketHandler.expireChallenge.selector;
        selectors[10] = MarketHandler.releaseBond.selector;
        selectors[11] = MarketHandler.withdraw.selector;
        selectors[12] = MarketHandler.providerAction.selector;
        selectors[13] = MarketHandler.warp.selector;
        selectors[14] = MarketHandler.admin.selector;
        selectors[15] = MarketHandler.playRound.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice (a) The market holds exactly the escrow of live jobs, every credited balance and the
    ///         bonds of open challenges — no more (nothing unaccounted) and no less (solvent).
    function invariant_marketBalanceEqualsLiabilities() public view {
        uint256 liabilities;
        uint256 n = market.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            ITrainingMarket.JobState memory s = market.jobState(id);
            if (s.status == ITrainingMarket.JobStatus.Open || s.status == ITrainingMarket.JobStatus.Running) {
                liabilities += s.escrow;
            }
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            liabilities += market.balanceOf(actors[i]);
        }
        liabilities += _openChallengeBonds(0);
        assertEq(token.balanceOf(address(market)), liabilities, "market balance != escrow + credits + challenge bonds");
    }

    /// @notice (b) The registry holds exactly Σ stake; per provider bonded + unbonding <= stake, and
    ///         bonded equals the unreleased bonds of its job slots (no bond is lost or double counted).
    function invariant_registryStakeAccounting() public view {
        address[] memory providers = handler.providers();
        uint256 total;
        for (uint256 i; i < providers.length; ++i) {
            IProviderRegistry.Provider memory p = registry.providerOf(providers[i]);
            assertLe(p.bonded + p.unbonding, p.stake, "bonded + unbonding > stake");
            assertEq(registry.freeStakeOf(providers[i]), p.stake - p.bonded - p.unbonding, "free stake");
            total += p.stake;
            uint256 slotBonds;
            uint256 n = market.jobCount();
            for (uint256 id = 1; id <= n; ++id) {
                ITrainingMarket.WorkerSlot memory slot = market.workerSlot(id, providers[i]);
                if (slot.joined && !slot.bondReleased) slotBonds += slot.bond;
                if (slot.bondReleased) assertEq(slot.bond, 0, "released slot keeps a bond");
            }
            assertEq(p.bonded, slotBonds, "registry bonded != unreleased job bonds");
        }
        assertEq(token.balanceOf(address(registry)), total, "registry balance != sum of stakes");
    }

    /// @notice (c) Nobody ever withdrew more than was credited to it: per account the tokens it got
    ///         from withdraw() plus its balance equal the sum of its Credited events.
    function invariant_noOverWithdrawal() public view {
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            uint256 credited = handler.ghostCredited(a);
            assertLe(handler.ghostWithdrawn(a), credited, "withdrew more than credited");
            assertEq(handler.ghostWithdrawn(a) + market.balanceOf(a), credited, "withdrawn + balance != credited");
        }
    }

    /// @notice (d) Ended jobs hold no escrow; a live job's escrow covers its remaining rounds; per
    ///         job, what came in (escrow + slashes + challenge bonds) == credited + escrow + open bonds.
    function invariant_jobEscrow() public view {
        uint256 n = market.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            ITrainingMarket.JobState memory s = market.jobState(id);
            ITrainingMarket.JobParams memory p = market.jobParams(id);
            uint256 unit = uint256(p.rewardPerRound) + s.feePerReward;
            if (s.status == ITrainingMarket.JobStatus.Open) {
                assertEq(s.escrow, unit * p.rounds * p.maxWorkers, "open job escrow != full escrow");
            } else if (s.status == ITrainingMarket.JobStatus.Running) {
                assertGe(
                    s.escrow,
                    unit * (p.rounds - s.currentRound) * _popcount(s.activeMask),
                    "running job cannot pay its remaining rounds"
                );
                assertLe(s.escrow, unit * p.rounds * s.workerCount, "running job escrow above its workers' share");
            } else {
                assertEq(s.escrow, 0, "ended job still holds escrow");
                assertTrue(s.endedAt != 0, "ended job without endedAt");
            }
            assertEq(
                handler.ghostJobIn(id),
                handler.ghostJobCredited(id) + s.escrow + _openChallengeBonds(id),
                "per-job conservation: in != credited + escrow + open challenge bonds"
            );
        }
    }

    /// @notice Liveness and protocol expectations checked inside the handler (a withdraw, release,
    ///         expiry that must succeed reverted; a forged signature was accepted; a reward went to a
    ///         worker that did not earn it; fees != feePerReward × rewards; ...).
    function invariant_handlerExpectations() public view {
        string memory v = handler.violation();
        assertTrue(bytes(v).length == 0, v);
    }

    /// @notice After each run: everything can be wound down and every token leaves both contracts.
    function afterInvariant() public {
        handler.settleAll();
        invariant_marketBalanceEqualsLiabilities();
        invariant_registryStakeAccounting();
        invariant_noOverWithdrawal();
        invariant_jobEscrow();
    }

    function _openChallengeBonds(uint256 jobId) internal view returns (uint256 total) {
        uint256 n = market.challengeCount();
        for (uint256 id = 1; id <= n; ++id) {
            ITrainingMarket.Challenge memory c = market.challengeOf(id);
            if (c.status == ITrainingMarket.ChallengeStatus.Open && (jobId == 0 || c.jobId == jobId)) total += c.bond;
        }
    }

    function _popcount(uint32 x) internal pure returns (uint256 c) {
        for (; x != 0; x &= x - 1) ++c;
    }
}
