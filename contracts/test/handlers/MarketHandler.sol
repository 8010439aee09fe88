// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, vm} from "../utils/Vm.sol";
import {MarketSigs} from "../utils/MarketSigs.sol";
import {TestToken} from "../../token/TestToken.sol";
import {ProviderRegistry} from "../../ProviderRegistry.sol";
import {TrainingMarket} from "../../TrainingMarket.sol";
import {IProviderRegistry} from "../../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../../interfaces/ITrainingMarket.sol";

/// @title MarketHandler
/// @notice Invariant-test handler: the fuzzer calls its actions in random order with random
///         arguments; each action picks a plausible target (a live job, an active worker that has
///         not committed yet, an open challenge ...) and performs one market or registry call as the
///         right actor. Actions never revert because of a failed expectation: a call that reverts
///         reverts the whole action (and the fuzzer discards it), while a broken expectation
///         (a liveness check such as "withdraw with a positive balance must succeed", or a credit
///         that does not follow the protocol) is recorded in `violation`, which an invariant checks.
///
///         Ghost variables are fed from the market's own events (recorded with `vm.recordLogs`) and
///         from token balance changes, so the invariants compare two independent views.
contract MarketHandler {
    using MarketSigs for uint256;

    // ------------------------------------------------------------------ actors and limits
    uint256 public constant N_PROVIDERS = 6;
    uint256 public constant N_POSTERS = 2;
    uint256 public constant N_CHALLENGERS = 2;
    uint256 public constant MAX_JOBS = 10;
    uint256 public constant PROVIDER_STAKE = 1_000e18;
    address public constant TREASURY = address(0x7EA5);
    address public constant TREASURY2 = address(0x7EA6);
    address public constant ARBITER = address(0xA4B1);
    uint64 public constant UNBONDING_DELAY = 2 days;
    uint64 public constant ARBITRATION_PERIOD = 1 days;

    bytes32 private constant CREDITED = keccak256("Credited(address,uint256,uint8,uint256)");
    bytes32 private constant PENALIZED = keccak256("WorkerPenalized(uint256,uint32,address,uint8,uint256)");

    TestToken public immutable token;
    ProviderRegistry public immutable registry;
    TrainingMarket public immutable market;
    bytes32 public immutable domain;

    address[] private _providers;
    address[] private _posters;
    address[] private _challengers;
    address[] private _actors; // everyone who can be credited
    mapping(address provider => uint256) public attestationKeyOf;
    uint256 private _rotations;

    uint256 public currentTime;
    bool public paused;

    // ------------------------------------------------------------------ ghosts
    /// @notice Σ Credited amounts per account (from events).
    mapping(address => uint256) public ghostCredited;
    /// @notice Σ tokens each account actually received from `withdraw()` (token balance deltas).
    mapping(address => uint256) public ghostWithdrawn;
    /// @notice Tokens that entered the market for a job: escrow + slashes + challenge bonds.
    mapping(uint256 => uint256) public ghostJobIn;
    /// @notice Σ Credited amounts per job (from events).
    mapping(uint256 => uint256) public ghostJobCredited;
    /// @notice Number of Reward credits per job, and per (job, worker).
    mapping(uint256 => uint256) public ghostJobRewards;
    mapping(uint256 => mapping(address => uint256)) public ghostRewardsOf;
    /// @notice Σ Fee credits per job.
    mapping(uint256 => uint256) public ghostJobFees;
    /// @notice Σ slashes per provider (from WorkerPenalized events) and in total.
    mapping(address => uint256) public ghostSlashedOf;
    uint256 public ghostSlashed;
    /// @notice First broken expectation seen by an action ("" when none).
    string public violation;
    /// @notice Successful calls per action, for the summary.
    mapping(bytes32 => uint256) public successes;

    // per-action scratch
    uint256 private _marketBefore;
    uint256 private _registryBefore;
    uint256 private _pausedFor;
    uint32 private _allowedRewards;
    bool private _exactRewards;

    constructor() {
        token = new TestToken(address(this));
        registry = new ProviderRegistry(token, address(this), 100e18, UNBONDING_DELAY);
        market = new TrainingMarket(registry, address(this), TREASURY, 200, 2_500, ARBITRATION_PERIOD);
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        domain = MarketSigs.domainSeparator(market);
        currentTime = block.timestamp;

        for (uint256 i; i < N_PROVIDERS; ++i) {
            address p = address(uint160(0x10000 + i));
            uint256 key = 0xA77E57 + i;
            _providers.push(p);
            attestationKeyOf[p] = key;
            _mintApprove(p, address(registry), PROVIDER_STAKE);
            vm.prank(p);
            registry.register(PROVIDER_STAKE, vm.addr(key), keccak256(abi.encode("report", i)), "ipfs://meta");
            _actors.push(p);
        }
        for (uint256 i; i < N_POSTERS; ++i) {
            _posters.push(address(uint160(0x20000 + i)));
            _actors.push(_posters[i]);
        }
        for (uint256 i; i < N_CHALLENGERS; ++i) {
            _challengers.push(address(uint160(0x30000 + i)));
            _actors.push(_challengers[i]);
        }
        _actors.push(TREASURY);
        _actors.push(TREASURY2);
        _actors.push(ARBITER);
    }

    // =================================================================== views for the invariants

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    // =================================================================== job actions

    function createJob(uint256 posterSeed, uint256 rewardSeed, uint256 bondSeed, uint256 shape, uint256 windows)
        external
    {
        if (market.jobCount() >= MAX_JOBS || _liveJobs() >= 3) return;
        _begin();
        address poster = _posters[posterSeed % N_POSTERS];
        ITrainingMarket.JobParams memory p;
        p.specHash = keccak256(abi.encode("spec", shape));
        p.initialModelHash = keccak256(abi.encode("model-0", shape));
        p.arbiter = ARBITER;
        p.rewardPerRound = uint128(1 + (rewardSeed % 100e18));
        p.workerBond = uint128(1 + (bondSeed % 100e18));
        p.challengeBond = uint128(1 + ((shape >> 64) % 50e18));
        p.rounds = uint32(1 + (shape % 4));
        p.maxWorkers = uint8(1 + ((shape >> 8) % 5));
        p.minWorkers = uint8(1 + ((shape >> 16) % p.maxWorkers));
        p.quorumBps = uint16(5_001 + ((shape >> 24) % 5_000));
        uint256 pen = (shape >> 40) % 8;
        p.penaltyBps = uint16(pen == 0 ? 0 : pen == 1 ? 10_000 : ((shape >> 48) % 10_001));
        p.joinWindow = _window(windows, 0, 1_800, 1 days);
        p.commitWindow = _window(windows, 8, 1_800, 1 hours);
        p.voteWindow = _window(windows, 16, 1_800, 1 hours);
        p.challengeWindow = _window(windows, 24, 1 hours, 1 days);

        (uint256 escrow,) = market.escrowFor(p.rewardPerRound, p.rounds, p.maxWorkers);
        _mintApprove(poster, address(market), escrow);
        vm.prank(poster);
        uint256 jobId = market.createJob(p);
        _expect(market.jobState(jobId).escrow == escrow, "createJob: escrow != escrowFor");
        _expect(token.balanceOf(address(market)) - _marketBefore == escrow, "createJob: pulled != escrow");
        ghostJobIn[jobId] += escrow;
        _end(jobId);
        successes["createJob"]++;
        // half the jobs are filled by providers right away (the others wait for joinJob calls)
        if (windows & (1 << 40) != 0) _join(jobId, posterSeed >> 8, N_PROVIDERS);
    }

    /// @notice Up to `count` providers join an open job (one after the other).
    function joinJob(uint256 jobSeed, uint256 workerSeed, uint256 count) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Open, Phase.Join);
        if (!found) return;
        _join(jobId, workerSeed, count % 2 == 0 ? N_PROVIDERS : 1 + ((count >> 1) % 4)); // half the time: fill it
    }

    function _join(uint256 jobId, uint256 workerSeed, uint256 k) private {
        for (uint256 j; j < N_PROVIDERS && k != 0; ++j) {
            address w = _providers[(workerSeed + j) % N_PROVIDERS];
            if (market.workerSlot(jobId, w).joined) continue;
            _begin();
            vm.prank(w);
            try market.joinJob(jobId) {
                _end(jobId);
                successes["joinJob"]++;
                --k;
            } catch {}
            if (market.jobState(jobId).status != ITrainingMarket.JobStatus.Open) break;
        }
    }

    function startJob(uint256 jobSeed, bool jump) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Open, Phase.Any);
        if (!found) return;
        _begin();
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        ITrainingMarket.JobParams memory p = market.jobParams(jobId);
        if (jump && s.workerCount >= p.minWorkers) _warp(s.createdAt + p.joinWindow + 1);
        market.startJob(jobId);
        _end(jobId);
        successes["startJob"]++;
    }

    /// @notice Up to `count` active workers of a running job commit their update for the round.
    ///         One signature in 16 is by a wrong key and must be rejected.
    function commitUpdate(uint256 jobSeed, uint256 workerSeed, uint256 hashSeed, uint256 count) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Running, Phase.Commit);
        if (!found) return;
        uint256 k = 1 + (count % 5);
        for (uint256 j; j < k; ++j) {
            if (!_commitOne(jobId, workerSeed + j, uint256(keccak256(abi.encode(hashSeed, j))))) break;
        }
    }

    function _commitOne(uint256 jobId, uint256 workerSeed, uint256 hashSeed) private returns (bool) {
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        if (s.status != ITrainingMarket.JobStatus.Running) return false;
        uint32 round = s.currentRound;
        ITrainingMarket.Round memory rd = market.roundOf(jobId, round);
        (address w, bool ok) = _pickWorker(market.workersOf(jobId), workerSeed, s.activeMask & ~rd.committedMask);
        if (!ok) return false;
        bytes32 updateHash = keccak256(abi.encode("update", hashSeed % 3, jobId, round, w));
        uint64 trainLoss = uint64(hashSeed >> 64);
        bool forged = hashSeed % 16 == 0;
        uint256 key = forged ? uint256(keccak256(abi.encode("forger", hashSeed))) % 1e70 + 1 : attestationKeyOf[w];
        bytes memory sig = key.signUpdate(domain, jobId, round, updateHash, trainLoss, w);
        _begin();
        vm.prank(w);
        try market.commitUpdate(jobId, round, updateHash, trainLoss, sig) {
            if (forged) _violate("commitUpdate accepted a signature by a key that is not the worker's");
            _end(jobId);
            successes["commitUpdate"]++;
            return true;
        } catch {
            return forged;
        }
    }

    /// @notice Up to `count` committed workers vote; mostly the honest result over every
    ///         commitment, sometimes another model hash or a mask that leaves one update out.
    function submitResult(uint256 jobSeed, uint256 workerSeed, uint256 choice, uint256 count) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Running, Phase.Vote);
        if (!found) return;
        uint32 round = market.jobState(jobId).currentRound;
        ITrainingMarket.Round memory rd = market.roundOf(jobId, round);
        // voting opens after the commit phase (at once when every active worker committed)
        if (rd.committedMask != 0 && rd.voteDeadline == 0 && currentTime <= rd.commitDeadline && choice % 8 != 0) {
            _warp(uint256(rd.commitDeadline) + 1);
        }
        uint256 k = 1 + (count % 5);
        for (uint256 j; j < k; ++j) {
            if (!_voteOne(jobId, round, workerSeed + j, uint256(keccak256(abi.encode(choice, j))))) break;
        }
    }

    function _voteOne(uint256 jobId, uint32 round, uint256 workerSeed, uint256 choice) private returns (bool) {
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        if (s.status != ITrainingMarket.JobStatus.Running || s.currentRound != round) return false;
        ITrainingMarket.Round memory rd = market.roundOf(jobId, round);
        address[] memory ws = market.workersOf(jobId);
        (address w, bool ok) = _pickWorker(ws, workerSeed, s.activeMask & rd.committedMask & ~rd.votedMask);
        if (!ok) return false;
        bytes32 modelHash = keccak256(abi.encode("model", jobId, round, (choice % 6 == 5) ? 1 : 0));
        uint32 included = rd.committedMask;
        if ((choice >> 8) % 6 == 0) {
            uint32 drop = uint32(1) << uint32((choice >> 16) % ws.length);
            if (included & ~drop != 0) included &= ~drop;
        }
        bytes memory sig = attestationKeyOf[w].signResult(domain, jobId, round, modelHash, included, w);
        _begin();
        vm.prank(w);
        try market.submitResult(jobId, round, modelHash, included, sig) {
            // rewards paid by this vote must follow the finalized result exactly
            ITrainingMarket.Round memory after_ = market.roundOf(jobId, round);
            if (after_.status == ITrainingMarket.RoundStatus.Finalized) {
                uint32 voters = market.votersFor(jobId, round, modelHash, included);
                _allowRewards(included & s.activeMask & ~(after_.votedMask & ~voters & s.activeMask), true);
                successes["finalized"]++;
            }
            _end(jobId);
            successes["submitResult"]++;
            return true;
        } catch {
            return false;
        }
    }

    /// @notice Plays the current round of a running job: every remaining active worker commits
    ///         (one in eight stays absent), then the committed workers vote (same deviations as
    ///         `submitResult`) until the round finalizes or everybody voted. Rounds progress much
    ///         faster this way than through single commits and votes, which stay for interleavings.
    function playRound(uint256 jobSeed, uint256 seed) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Running, Phase.Any);
        if (!found) return;
        uint32 round = market.jobState(jobId).currentRound;
        uint256 n = market.workersOf(jobId).length;
        for (uint256 j; j < n; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, "commit", j)));
            if (r % 8 == 0) continue; // absent
            _commitOne(jobId, j, r | 1); // odd: never a forged signature (forged iff % 16 == 0)
        }
        ITrainingMarket.Round memory rd = market.roundOf(jobId, round);
        if (rd.committedMask != 0 && rd.voteDeadline == 0 && currentTime <= rd.commitDeadline) {
            _warp(uint256(rd.commitDeadline) + 1);
        }
        for (uint256 j; j < n; ++j) {
            _voteOne(jobId, round, seed + j, uint256(keccak256(abi.encode(seed, "vote", j))));
        }
        successes["playRound"]++;
    }

    /// @notice Anyone expires a job's round (`jump` = 1 in 4: first warps past the deadline).
    function expireRound(uint256 jobSeed, uint256 jump_) external {
        bool jump = jump_ % 4 == 0;
        (uint256 jobId, bool found) = _pickLiveJob(jobSeed);
        if (!found) return;
        _begin();
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        ITrainingMarket.JobParams memory p = market.jobParams(jobId);
        uint256 due; // the time after which expireRound must succeed
        if (s.status == ITrainingMarket.JobStatus.Open) {
            due = s.createdAt + p.joinWindow;
        } else {
            ITrainingMarket.Round memory rd = market.roundOf(jobId, s.currentRound);
            due = rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + p.voteWindow;
        }
        if (jump) _warp(due + 1);
        bool mustWork = currentTime > due && !paused;
        try market.expireRound(jobId) {
            _end(jobId);
            successes["expireRound"]++;
        } catch (bytes memory err) {
            if (mustWork) _violateWith("expireRound reverted after the deadline", err);
        }
    }

    /// @notice The poster cancels a live job (only one call in eight goes ahead, so jobs get to run).
    function cancelJob(uint256 jobSeed) external {
        if (jobSeed % 8 != 0) return;
        (uint256 jobId, bool found) = _pickLiveJob(jobSeed >> 3);
        if (!found) return;
        _begin();
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        uint32 paidMask = _cancelPaidMask(jobId, s);
        vm.prank(s.poster);
        try market.cancelJob(jobId) {
            _allowRewards(paidMask, true);
            _end(jobId);
            successes["cancelJob"]++;
        } catch (bytes memory err) {
            _violateWith("cancelJob by the poster reverted on a live job", err);
        }
    }

    // =================================================================== challenges

    function challenge(uint256 jobSeed, uint256 workerSeed, uint256 roundSeed, uint256 challengerSeed) external {
        uint256 n = market.jobCount();
        if (n == 0) return;
        // prefer jobs that have workers
        uint256 jobId;
        address[] memory ws;
        for (uint256 k; k < n && ws.length == 0; ++k) {
            jobId = 1 + ((jobSeed + k) % n);
            ws = market.workersOf(jobId);
        }
        if (ws.length == 0) return;
        address w = ws[workerSeed % ws.length];
        uint32 idx = market.workerSlot(jobId, w).index;
        uint32 current = market.jobState(jobId).currentRound;
        // find a round (from a random start) in which the worker committed
        uint32 round = uint32(roundSeed % (uint256(current) + 1));
        for (uint32 k; k <= current; ++k) {
            uint32 r = uint32((uint256(round) + k) % (uint256(current) + 1));
            if (market.roundOf(jobId, r).committedMask & (uint32(1) << idx) != 0) {
                round = r;
                break;
            }
        }
        _begin();
        address challenger = _challengers[challengerSeed % N_CHALLENGERS];
        uint128 bond = market.jobParams(jobId).challengeBond;
        _mintApprove(challenger, address(market), bond);
        vm.prank(challenger);
        market.challenge(jobId, round, w);
        _expect(token.balanceOf(address(market)) - _marketBefore == bond, "challenge: pulled != challenge bond");
        ghostJobIn[jobId] += bond;
        _end(jobId);
        successes["challenge"]++;
    }

    function resolveChallenge(uint256 idSeed, bool upheld) external {
        (uint256 id, bool found) = _pickOpenChallenge(idSeed);
        if (!found) return;
        _begin();
        ITrainingMarket.Challenge memory c = market.challengeOf(id);
        vm.prank(ARBITER);
        try market.resolveChallenge(id, upheld) {
            _end(c.jobId);
            successes[upheld ? bytes32("resolve(upheld)") : bytes32("resolve(rejected)")]++;
        } catch (bytes memory err) {
            _violateWith("resolveChallenge by the arbiter reverted on an open challenge", err);
        }
    }

    function expireChallenge(uint256 idSeed, uint256 jump_) external {
        bool jump = jump_ % 4 == 0;
        (uint256 id, bool found) = _pickOpenChallenge(idSeed);
        if (!found) return;
        _begin();
        ITrainingMarket.Challenge memory c = market.challengeOf(id);
        uint256 until = c.openedAt + ARBITRATION_PERIOD;
        if (jump) _warp(until + 1);
        bool mustWork = currentTime > until;
        try market.expireChallenge(id) {
            _end(c.jobId);
            successes["expireChallenge"]++;
        } catch (bytes memory err) {
            if (mustWork) _violateWith("expireChallenge reverted after the arbitration period", err);
        }
    }

    // =================================================================== bonds and payments

    /// @notice Releases a bond of an ended job or removed worker (`jump`: after its challenge window).
    function releaseBond(uint256 jobSeed, uint256 workerSeed, uint256 jump_) external {
        bool jump = jump_ % 4 == 0;
        uint256 n = market.jobCount();
        for (uint256 k; k < n; ++k) {
            uint256 jobId = 1 + ((jobSeed + k) % n);
            address[] memory ws = market.workersOf(jobId);
            ITrainingMarket.JobState memory s = market.jobState(jobId);
            for (uint256 j; j < ws.length; ++j) {
                address w = ws[(workerSeed + j) % ws.length];
                ITrainingMarket.WorkerSlot memory slot = market.workerSlot(jobId, w);
                uint256 since = s.endedAt != 0 ? s.endedAt : (!slot.active ? slot.removedAt : 0);
                if (since == 0 || slot.bondReleased) continue;
                _releaseOne(jobId, w, slot, since + market.jobParams(jobId).challengeWindow, jump);
                return;
            }
        }
    }

    function _releaseOne(uint256 jobId, address w, ITrainingMarket.WorkerSlot memory slot, uint256 until, bool jump)
        private
    {
        if (jump) _warp(until + 1);
        bool mustWork = slot.openChallenges == 0 && currentTime > until;
        uint256 bondedBefore = registry.providerOf(w).bonded;
        _begin();
        try market.releaseBond(jobId, w) {
            _expect(bondedBefore - registry.providerOf(w).bonded == slot.bond, "releaseBond: released != slot bond");
            _end(jobId);
            successes["releaseBond"]++;
        } catch (bytes memory err) {
            if (mustWork) _violateWith("releaseBond reverted although the bond is releasable", err);
        }
    }

    /// @notice An actor withdraws (picking, from a random start, one with a balance if any).
    function withdraw(uint256 actorSeed) external {
        address a = _actors[actorSeed % _actors.length];
        for (uint256 k; k < _actors.length && market.balanceOf(a) == 0 && actorSeed % 8 != 0; ++k) {
            a = _actors[(actorSeed + k) % _actors.length];
        }
        uint256 owed = market.balanceOf(a);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try market.withdraw() {
            uint256 got = token.balanceOf(a) - before;
            _expect(got == owed, "withdraw: received != credited balance");
            _expect(market.balanceOf(a) == 0, "withdraw: balance not cleared");
            ghostWithdrawn[a] += got;
            successes["withdraw"]++;
        } catch (bytes memory err) {
            if (owed != 0) _violateWith("withdraw reverted with a positive balance", err);
        }
    }

    // =================================================================== provider actions

    /// @notice One registry action by a provider: add stake, request unbonding (a small part of the
    ///         free stake), cancel unbonding, withdraw unbonded stake (`jump`: once ready), rotate key.
    function providerAction(uint256 providerSeed, uint256 op, uint256 amount, bool jump) external {
        address p = _providers[providerSeed % N_PROVIDERS];
        vm.warp(currentTime);
        op %= 5;
        if (op == 0) {
            amount = 1 + (amount % 300e18);
            _mintApprove(p, address(registry), amount);
            vm.prank(p);
            registry.addStake(amount);
            successes["addStake"]++;
        } else if (op == 1) {
            uint256 free = registry.freeStakeOf(p);
            if (free < 10) return;
            vm.prank(p);
            registry.requestUnbond(1 + (amount % (free / 10)));
            successes["requestUnbond"]++;
        } else if (op == 2) {
            vm.prank(p);
            registry.cancelUnbond();
            successes["cancelUnbond"]++;
        } else if (op == 3) {
            IProviderRegistry.Provider memory pr = registry.providerOf(p);
            if (jump && pr.unbonding != 0) _warp(pr.unbondingReadyAt);
            bool mustWork = pr.unbonding != 0 && currentTime >= pr.unbondingReadyAt;
            uint256 before = token.balanceOf(p);
            vm.prank(p);
            try registry.withdrawUnbonded() {
                _expect(token.balanceOf(p) - before == pr.unbonding, "withdrawUnbonded: paid != unbonding");
                successes["withdrawUnbonded"]++;
            } catch (bytes memory err) {
                if (mustWork) _violateWith("withdrawUnbonded reverted after the delay", err);
            }
        } else {
            uint256 key = uint256(keccak256(abi.encode("rotated", ++_rotations))) % 1e70 + 1;
            vm.prank(p);
            registry.rotateAttestationKey(vm.addr(key), keccak256(abi.encode("report", key)));
            attestationKeyOf[p] = key;
            successes["rotateAttestationKey"]++;
        }
    }

    // =================================================================== time and admin

    /// @notice Time passes: mostly seconds to minutes, sometimes hours, rarely days.
    function warp(uint256 secs) external {
        uint256 kind = secs % 16;
        secs >>= 8;
        if (kind < 12) secs = 1 + (secs % 60);
        else if (kind < 15) secs = 1 + (secs % 1 hours);
        else secs = 1 + (secs % 3 days);
        _warp(currentTime + secs);
        _tick();
        successes["warp"]++;
    }

    /// @notice Admin changes: protocol fee, challenge bounty, treasury, pause / unpause (rarely pauses).
    function admin(uint256 op, uint256 value) external {
        vm.warp(currentTime);
        op %= 8;
        if (op == 0) {
            market.setProtocolFee(uint16(value % (uint256(market.MAX_FEE_BPS()) + 1)));
            successes["setProtocolFee"]++;
        } else if (op == 1) {
            market.setChallengeBounty(uint16(value % 10_001));
            successes["setChallengeBounty"]++;
        } else if (op == 2) {
            market.setTreasury(market.treasury() == TREASURY ? TREASURY2 : TREASURY);
            successes["switchTreasury"]++;
        } else if (op == 7 && !paused) {
            market.pause();
            paused = true;
            _pausedFor = 0;
            successes["pause"]++;
        }
    }

    // =================================================================== final settlement

    /// @notice Winds everything down (called from `afterInvariant`): ends every live job, closes
    ///         every open challenge, releases every bond, withdraws every credit and all stake.
    ///         Reverts (failing the test) if any step that must be possible is not, or if any token
    ///         is left in the market or the registry.
    function settleAll() external {
        if (paused) {
            market.unpause();
            paused = false;
        }
        uint256 n = market.jobCount();
        // 1. end every live job: even ids by cancelling, odd ids by expiring round after round
        for (uint256 jobId = 1; jobId <= n; ++jobId) {
            for (uint256 guard; guard < 10; ++guard) {
                ITrainingMarket.JobState memory s = market.jobState(jobId);
                if (s.status != ITrainingMarket.JobStatus.Open && s.status != ITrainingMarket.JobStatus.Running) break;
                _begin();
                if (jobId % 2 == 0) {
                    ITrainingMarket.JobState memory before = s;
                    uint32 paidMask = _cancelPaidMask(jobId, s);
                    vm.prank(before.poster);
                    market.cancelJob(jobId);
                    _allowRewards(paidMask, true);
                } else {
                    _warp(currentTime + 31 days);
                    market.expireRound(jobId);
                }
                _end(jobId);
            }
            require(
                uint256(market.jobState(jobId).status) >= uint256(ITrainingMarket.JobStatus.Completed),
                "settle: a job could not be ended"
            );
        }
        // 2. close every open challenge
        _warp(currentTime + ARBITRATION_PERIOD + 1);
        for (uint256 id = 1; id <= market.challengeCount(); ++id) {
            if (market.challengeOf(id).status != ITrainingMarket.ChallengeStatus.Open) continue;
            _begin();
            market.expireChallenge(id);
            _end(market.challengeOf(id).jobId);
        }
        // 3. release every bond after the longest challenge window
        _warp(currentTime + 1 days + 1);
        for (uint256 jobId = 1; jobId <= n; ++jobId) {
            address[] memory ws = market.workersOf(jobId);
            for (uint256 i; i < ws.length; ++i) {
                if (market.workerSlot(jobId, ws[i]).bondReleased) continue;
                market.releaseBond(jobId, ws[i]);
            }
        }
        // 4. everyone withdraws; the market must be empty
        for (uint256 i; i < _actors.length; ++i) {
            address a = _actors[i];
            uint256 owed = market.balanceOf(a);
            if (owed == 0) continue;
            uint256 before = token.balanceOf(a);
            vm.prank(a);
            market.withdraw();
            require(token.balanceOf(a) - before == owed, "settle: withdraw paid the wrong amount");
            ghostWithdrawn[a] += owed;
        }
        require(token.balanceOf(address(market)) == 0, "settle: tokens stuck in the market");
        // 5. every provider unbonds everything; the registry must be empty
        for (uint256 i; i < N_PROVIDERS; ++i) {
            address p = _providers[i];
            IProviderRegistry.Provider memory pr = registry.providerOf(p);
            require(pr.bonded == 0, "settle: bond still locked after every job ended");
            uint256 free = registry.freeStakeOf(p);
            if (free != 0) {
                vm.prank(p);
                registry.requestUnbond(free);
            }
        }
        _warp(currentTime + UNBONDING_DELAY);
        for (uint256 i; i < N_PROVIDERS; ++i) {
            address p = _providers[i];
            if (registry.providerOf(p).unbonding == 0) continue;
            vm.prank(p);
            registry.withdrawUnbonded();
            require(registry.providerOf(p).stake == 0, "settle: stake left after withdrawing everything");
        }
        require(token.balanceOf(address(registry)) == 0, "settle: tokens stuck in the registry");
        require(bytes(violation).length == 0, violation);
    }

    // =================================================================== internals

    /// @dev A window: the minimum (10 s) one time in eight, else `short`, else `long`.
    function _window(uint256 seed, uint256 shift, uint32 short, uint32 long) private pure returns (uint32) {
        uint256 k = (seed >> shift) % 8;
        if (k == 0) return 10;
        if (k < 4) return short;
        return long;
    }

    function _warp(uint256 t) private {
        if (t > currentTime) currentTime = t;
        vm.warp(currentTime);
    }

    function _mintApprove(address who, address spender, uint256 amount) private {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(spender, amount);
    }

    enum Phase {
        Any,
        Join,
        Commit,
        Vote
    }

    /// @dev A job in `status`, searched from a random start. Seven times in eight it must also be
    ///      in `phase` (joinable / accepting commitments / with votes pending), so that actions
    ///      mostly land where they can succeed; otherwise any job in `status` (exercising reverts).
    function _pickJob(uint256 seed, ITrainingMarket.JobStatus status, Phase phase) private returns (uint256, bool) {
        vm.warp(currentTime);
        _tick();
        if (seed % 8 == 0) phase = Phase.Any;
        uint256 n = market.jobCount();
        for (uint256 k; k < n; ++k) {
            uint256 id = 1 + ((seed + k) % n);
            ITrainingMarket.JobState memory s = market.jobState(id);
            if (s.status != status) continue;
            if (phase == Phase.Any) return (id, true);
            if (phase == Phase.Join) {
                if (currentTime <= s.createdAt + market.jobParams(id).joinWindow) return (id, true);
                continue;
            }
            ITrainingMarket.Round memory rd = market.roundOf(id, s.currentRound);
            if (phase == Phase.Commit) {
                bool open = rd.voteDeadline == 0 && currentTime <= rd.commitDeadline;
                if (open && s.activeMask & ~rd.committedMask != 0) return (id, true);
            } else {
                uint256 end = rd.voteDeadline != 0
                    ? rd.voteDeadline
                    : uint256(rd.commitDeadline) + market.jobParams(id).voteWindow;
                if (currentTime <= end && s.activeMask & rd.committedMask & ~rd.votedMask != 0) return (id, true);
            }
        }
        return (0, false);
    }

    function _liveJobs() private view returns (uint256 live) {
        uint256 n = market.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            ITrainingMarket.JobStatus st = market.jobState(id).status;
            if (st == ITrainingMarket.JobStatus.Open || st == ITrainingMarket.JobStatus.Running) ++live;
        }
    }

    function _pickLiveJob(uint256 seed) private returns (uint256, bool) {
        vm.warp(currentTime);
        _tick();
        uint256 n = market.jobCount();
        for (uint256 k; k < n; ++k) {
            uint256 id = 1 + ((seed + k) % n);
            ITrainingMarket.JobStatus st = market.jobState(id).status;
            if (st == ITrainingMarket.JobStatus.Open || st == ITrainingMarket.JobStatus.Running) return (id, true);
        }
        return (0, false);
    }

    function _pickOpenChallenge(uint256 seed) private returns (uint256, bool) {
        vm.warp(currentTime);
        uint256 n = market.challengeCount();
        for (uint256 k; k < n; ++k) {
            uint256 id = 1 + ((seed + k) % n);
            if (market.challengeOf(id).status == ITrainingMarket.ChallengeStatus.Open) return (id, true);
        }
        return (0, false);
    }

    function _pickWorker(address[] memory ws, uint256 seed, uint32 mask) private pure returns (address, bool) {
        uint256 n = ws.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed + k) % n;
            if (mask & (uint32(1) << uint32(i)) != 0) return (ws[i], true);
        }
        return (address(0), false);
    }

    /// @dev A pause lasts a few handler actions, then the admin lifts it.
    function _tick() private {
        if (paused && ++_pausedFor > 3) {
            market.unpause();
            paused = false;
            successes["unpause"]++;
        }
    }

    function _begin() private {
        vm.warp(currentTime);
        vm.recordLogs();
        _marketBefore = token.balanceOf(address(market));
        _registryBefore = token.balanceOf(address(registry));
        _allowedRewards = 0;
        _exactRewards = false;
    }

    /// @dev Folds the action's Credited and WorkerPenalized events into the ghosts and cross-checks
    ///      the slashes against the registry's token balance.
    function _end(uint256 jobId) private {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 penalized;
        uint256 rewards;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(market) || l.topics.length == 0) continue;
            if (l.topics[0] == CREDITED) {
                address account = address(uint160(uint256(l.topics[1])));
                uint256 job = uint256(l.topics[2]);
                ITrainingMarket.CreditKind kind = ITrainingMarket.CreditKind(uint8(uint256(l.topics[3])));
                uint256 amount = abi.decode(l.data, (uint256));
                _expect(job == jobId, "credit for another job than the one acted on");
                ghostCredited[account] += amount;
                ghostJobCredited[job] += amount;
                if (kind == ITrainingMarket.CreditKind.Reward) {
                    ghostJobRewards[job]++;
                    ghostRewardsOf[job][account]++;
                    rewards++;
                    uint32 bit = uint32(1) << market.workerSlot(job, account).index;
                    _expect(_allowedRewards & bit != 0, "reward credited to a worker that did not earn it");
                    _expect(amount == market.jobParams(job).rewardPerRound, "reward credit != rewardPerRound");
                    _expect(
                        ghostRewardsOf[job][account] <= market.jobParams(job).rounds, "worker paid for more rounds than exist"
                    );
                } else if (kind == ITrainingMarket.CreditKind.Fee) {
                    ghostJobFees[job] += amount;
                    _expect(account == market.treasury(), "fee credited to someone else than the treasury");
                } else if (kind == ITrainingMarket.CreditKind.Refund || kind == ITrainingMarket.CreditKind.SlashProceeds) {
                    _expect(account == market.jobState(job).poster, "refund / slash proceeds to someone else than the poster");
                }
            } else if (l.topics[0] == PENALIZED) {
                (, uint256 amount) = abi.decode(l.data, (uint8, uint256));
                address w = address(uint160(uint256(l.topics[3])));
                penalized += amount;
                ghostSlashedOf[w] += amount;
                ghostSlashed += amount;
            }
        }
        ghostJobIn[jobId] += penalized;
        if (_exactRewards) _expect(rewards == _popcount(_allowedRewards), "not every worker that earned a reward was paid");
        _expect(_registryBefore - token.balanceOf(address(registry)) == penalized, "slashed events != tokens out of registry");
        _expect(
            ghostJobFees[jobId] == uint256(market.jobState(jobId).feePerReward) * ghostJobRewards[jobId],
            "fees != feePerReward x rewards"
        );
    }

    /// @dev Rewards credited by the current action may only go to workers in `allowed` (join-index mask).
    ///      With `exact`, every one of them must be paid exactly once.
    function _allowRewards(uint32 allowed, bool exact) private {
        _allowedRewards = allowed;
        _exactRewards = exact;
    }

    /// @dev Who a cancellation pays for the round in flight: its active committers, unless the
    ///      round is already past its vote deadline (it would expire unpaid anyway).
    function _cancelPaidMask(uint256 jobId, ITrainingMarket.JobState memory s) private view returns (uint32) {
        if (s.status != ITrainingMarket.JobStatus.Running) return 0;
        ITrainingMarket.Round memory rd = market.roundOf(jobId, s.currentRound);
        uint256 voteDeadline =
            rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + market.jobParams(jobId).voteWindow;
        return currentTime <= voteDeadline ? rd.committedMask & s.activeMask : 0;
    }

    function _popcount(uint32 x) private pure returns (uint256 c) {
        for (; x != 0; x &= x - 1) ++c;
    }

    function _expect(bool ok, string memory what) private {
        if (!ok) _violate(what);
    }

    function _violate(string memory what) private {
        if (bytes(violation).length == 0) violation = what;
    }

    function _violateWith(string memory what, bytes memory err) private {
        _violate(string.concat(what, " (revert data 0x", _hex(err), ")"));
    }

    function _hex(bytes memory b) private pure returns (string memory) {
        uint256 n = b.length > 68 ? 68 : b.length;
        bytes memory out = new bytes(2 * n);
        for (uint256 i; i < n; ++i) {
            out[2 * i] = bytes("0123456789abcdef")[uint8(b[i]) >> 4];
            out[2 * i + 1] = bytes("0123456789abcdef")[uint8(b[i]) & 15];
        }
        return string(out);
    }
}
