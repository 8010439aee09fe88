// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";
import {TestToken} from "../token/TestToken.sol";
import {ProviderRegistry} from "../ProviderRegistry.sol";
import {TrainingMarket} from "../TrainingMarket.sol";
import {DisputeGame} from "../DisputeGame.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";

/// @dev The deployed handler is declared in this file: Hardhat writes artifacts only for the files
///      it compiles as roots, so when this file is run alone `handlers/MarketHandler.sol` is a mere
///      dependency without an artifact, and EDR could not map the handler's address to an ABI
///      ("address does not have an associated contract"). This empty subclass always has one.
contract InvariantHandler is MarketHandler {}

/// @title MarketInvariantTest
/// @notice Handler-based invariant test: random sequences of create / join / start / commit / vote /
///         expire (with time warps) / step challenges with on-chain bisection and referee panels /
///         round challenges and expired-round settlements (by the honest node's watcher) / cancel /
///         withdraw / release bond / stake, unbond, withdraw unbonded, key rotation / fee, bounty,
///         treasury, pause changes and delayed (scheduled) role grants to a rogue market, over 6
///         providers (one honest, one cheater), 4 referees (one voting at random), 2 posters and 2
///         challengers (one honest, one malicious). After every call the invariants below must
///         hold; after every run `afterInvariant` winds everything down, requires that every token
///         can leave the market, the dispute game and the registry, and checks that the honest
///         worker ends with at least its stake plus its earned rewards (minus only penalties for
///         deadlines the fuzzer made it miss).
contract MarketInvariantTest is TestBase {
    MarketHandler internal handler;
    TestToken internal token;
    ProviderRegistry internal registry;
    TrainingMarket internal market;
    DisputeGame internal game;

    function setUp() public {
        handler = new InvariantHandler();
        token = handler.token();
        registry = handler.registry();
        market = handler.market();
        game = handler.game();

        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = MarketHandler.createJob.selector;
        selectors[1] = MarketHandler.joinJob.selector;
        selectors[2] = MarketHandler.startJob.selector;
        selectors[3] = MarketHandler.commitUpdate.selector;
        selectors[4] = MarketHandler.submitResult.selector;
        selectors[5] = MarketHandler.expireRound.selector;
        selectors[6] = MarketHandler.cancelJob.selector;
        selectors[7] = MarketHandler.challengeStep.selector;
        selectors[8] = MarketHandler.disputeMove.selector;
        selectors[9] = MarketHandler.resolveDispute.selector;
        selectors[10] = MarketHandler.releaseBond.selector;
        selectors[11] = MarketHandler.withdraw.selector;
        selectors[12] = MarketHandler.providerAction.selector;
        selectors[13] = MarketHandler.warp.selector;
        selectors[14] = MarketHandler.admin.selector;
        selectors[15] = MarketHandler.playRound.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice (a) The market holds exactly the escrow of live jobs, every credited balance, the
    ///         rewards accrued but not released and the escrow reserved for expired rounds — no more
    ///         (nothing unaccounted) and no less (solvent). The dispute game holds exactly the bonds
    ///         of open disputes, the referee stakes and its credited balances.
    function invariant_marketBalanceEqualsLiabilities() public view {
        uint256 liabilities;
        uint256 n = market.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            ITrainingMarket.JobState memory s = market.jobState(id);
            if (s.status == ITrainingMarket.JobStatus.Open || s.status == ITrainingMarket.JobStatus.Running) {
                liabilities += s.escrow;
            }
            liabilities += market.accruedOf(id) + market.reservedOf(id);
        }
        address[] memory actors = handler.actors();
        uint256 gameLiabilities;
        for (uint256 i; i < actors.length; ++i) {
            liabilities += market.balanceOf(actors[i]);
            gameLiabilities += game.balanceOf(actors[i]);
            gameLiabilities += game.refereeOf(actors[i]).stake;
        }
        assertEq(token.balanceOf(address(market)), liabilities, "market balance != escrow + credits + accrued + reserved");
        gameLiabilities += _openDisputeBonds(0);
        assertEq(token.balanceOf(address(game)), gameLiabilities, "game balance != open bonds + referee stakes + credits");
    }

    /// @notice (b) The registry holds exactly Σ stake; per provider bonded + unbonding <= stake, and
    ///         bonded equals the unreleased bonds of its job slots (no bond is lost or double counted).
    function invariant_registryStakeAccounting() public view {
        address[] memory providers = handler.stakers();
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
            assertEq(
                handler.ghostGameWithdrawn(a) + game.balanceOf(a), handler.ghostGameCredited(a), "game: withdrawn + balance != credited"
            );
        }
    }

    /// @notice (d) Ended jobs hold no escrow; a live job's escrow covers its remaining rounds; per
    ///         job, what came in (escrow + slashes) == credited + escrow + accrued + reserved.
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
                handler.ghostJobCredited(id) + s.escrow + market.accruedOf(id) + market.reservedOf(id),
                "per-job conservation: in != credited + escrow + accrued + reserved"
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

    /// @notice After each run: everything can be wound down and every token leaves the three
    ///         contracts; then the honest worker (follows the protocol: never forges, never cheats,
    ///         always votes the deterministic result and answers every bisection move in time) ends
    ///         with at least its stake plus its earned rewards. The only losses allowed are
    ///         penalties for deadlines the fuzzer's clock made it miss (Absent / NoVote); every other
    ///         slash (Dissent / Excluded under a wrong majority) is compensated by the referees'
    ///         verdict on the round, and it is never slashed for fraud or a wrong result.
    function afterInvariant() public {
        handler.settleAll();
        invariant_marketBalanceEqualsLiabilities();
        invariant_registryStakeAccounting();
        invariant_noOverWithdrawal();
        invariant_jobEscrow();
        address honest = handler.HONEST();
        assertGe(handler.ghostHonestComp(), handler.ghostHonestLoss(), "honest worker: slashes not compensated");
        assertGe(
            token.balanceOf(honest) + handler.ghostHonestDeadlineLoss(),
            handler.PROVIDER_STAKE() + handler.ghostHonestStakeAdded() + handler.ghostHonestRewards(),
            "honest worker ended with less than its stake plus its earned rewards"
        );
    }

    function _openDisputeBonds(uint256 jobId) internal view returns (uint256 total) {
        uint256 n = game.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            IDisputeGame.Dispute memory d = game.disputeOf(id);
            if (d.phase != IDisputeGame.Phase.Closed && (jobId == 0 || d.jobId == jobId)) total += d.bond;
        }
    }

    function _popcount(uint32 x) internal pure returns (uint256 c) {
        for (; x != 0; x &= x - 1) ++c;
    }
}
