// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./TestBase.sol";
import {vm} from "./Vm.sol";
import {MarketSigs} from "./MarketSigs.sol";
import {TestToken} from "../../token/TestToken.sol";
import {ProviderRegistry} from "../../ProviderRegistry.sol";
import {TrainingMarket} from "../../TrainingMarket.sol";
import {MarketDisputeModule} from "../../market/MarketDisputeModule.sol";
import {DisputeGame, IMarketReader} from "../../DisputeGame.sol";
import {ITrainingMarket} from "../../interfaces/ITrainingMarket.sol";

/// @title MarketFixture
/// @notice Deploys token, registry and market the way ignition/modules/Market.ts does (this contract is
///         token owner and admin of both), and drives providers, jobs and rounds from Solidity.
abstract contract MarketFixture is TestBase {
    address internal constant TREASURY = address(0x7EA5);
    address internal constant POSTER = address(0xB0B);
    address internal constant CHALLENGER = address(0xC4A1);
    uint256 internal constant MIN_STAKE = 100e18;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant FEE_BPS = 200;
    uint16 internal constant BOUNTY_BPS = 2_000;
    uint256 internal constant REFEREE_STAKE = 100e18;

    TestToken internal token;
    ProviderRegistry internal registry;
    TrainingMarket internal market;
    DisputeGame internal game;
    bytes32 internal domain;

    function _deploy() internal {
        token = new TestToken(address(this));
        registry = new ProviderRegistry(token, address(this), MIN_STAKE, UNBONDING_DELAY);
        MarketDisputeModule module = new MarketDisputeModule(registry);
        market = new TrainingMarket(registry, address(this), TREASURY, FEE_BPS, BOUNTY_BPS, address(module));
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        game = new DisputeGame(IMarketReader(address(market)), REFEREE_STAKE, 3, 1 hours, 1 days, 2_000);
        market.setDisputeGame(address(game));
        // The fuzz and invariant tests explore terms beyond the public-chain defaults.
        market.setLimits(ITrainingMarket.Limits({
            maxPenaltyBps: 5_000,
            minCommitWindow: 10,
            minVoteWindow: 10,
            minChallengeWindow: 10,
            minBondToReward: 0,
            maxBondToReward: type(uint64).max
        }));
        domain = MarketSigs.domainSeparator(market);
    }

    // ------------------------------------------------------------------ actors

    /// @notice Provider `i`'s account (a plain address; providers send transactions via prank).
    function providerAddr(uint256 i) internal pure returns (address) {
        return address(uint160(0x10000 + i));
    }

    /// @notice Provider `i`'s attestation key (a software key, as in test/helpers/market.ts).
    function attestationKey(uint256 i) internal pure returns (uint256) {
        return 0xA77E57 + i;
    }

    function _mintApprove(address who, address spender, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(spender, amount);
    }

    function _register(uint256 i, uint256 stake) internal returns (address p) {
        p = providerAddr(i);
        _mintApprove(p, address(registry), stake);
        bytes32 report = keccak256(abi.encode("report", i));
        bytes memory proof = MarketSigs.keyProof(registry, attestationKey(i), p, report);
        vm.prank(p);
        registry.register(stake, vm.addr(attestationKey(i)), report, "ipfs://meta", proof);
    }

    // ------------------------------------------------------------------ jobs and rounds

    function _params(uint128 reward, uint128 bond, uint32 rounds, uint8 maxWorkers, uint8 minWorkers)
        internal
        pure
        returns (ITrainingMarket.JobParams memory p)
    {
        p = ITrainingMarket.JobParams({
            specHash: keccak256("spec"),
            initialModelHash: keccak256("model-0"),
            rewardPerRound: reward,
            workerBond: bond,
            challengeBond: 20e18,
            rounds: rounds,
            maxWorkers: maxWorkers,
            minWorkers: minWorkers,
            quorumBps: 6_667,
            penaltyBps: 2_000,
            joinWindow: 3_600,
            commitWindow: 600,
            voteWindow: 300,
            challengeWindow: 1 days
        });
    }

    function _createJob(address poster, ITrainingMarket.JobParams memory p) internal returns (uint256 jobId) {
        (uint256 escrow,) = market.escrowFor(p.rewardPerRound, p.rounds, p.maxWorkers);
        _mintApprove(poster, address(market), escrow);
        vm.prank(poster);
        jobId = market.createJob(p);
    }

    function _commit(uint256 i, uint256 jobId, uint32 round, bytes32 updateHash) internal {
        address w = providerAddr(i);
        uint64 loss = 2_500_000;
        bytes memory sig = MarketSigs.signUpdate(attestationKey(i), domain, jobId, round, updateHash, loss, w);
        vm.prank(w);
        market.commitUpdate(jobId, round, updateHash, MarketSigs.traceFor(updateHash), loss, sig);
    }

    function _vote(uint256 i, uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask) internal {
        address w = providerAddr(i);
        vm.prank(w);
        market.submitResult(jobId, round, modelHash, includedMask);
    }

    function popcount(uint256 x) internal pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }
}
