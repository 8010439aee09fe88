// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, vm} from "../utils/Vm.sol";
import {MarketSigs} from "../utils/MarketSigs.sol";
import {TestToken} from "../../token/TestToken.sol";
import {ProviderRegistry} from "../../ProviderRegistry.sol";
import {TrainingMarket} from "../../TrainingMarket.sol";
import {MarketDisputeModule} from "../../market/MarketDisputeModule.sol";
import {DisputeGame, IMarketReader} from "../../DisputeGame.sol";
import {IDisputeGame} from "../../interfaces/IDisputeGame.sol";
import {IProviderRegistry} from "../../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../../interfaces/ITrainingMarket.sol";
import {IMarketDisputes} from "../../interfaces/IMarketDisputes.sol";
import {TraceBuilder} from "../utils/TraceBuilder.sol";

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
///
///         Disputes run through the real DisputeGame: every commitment carries a real Merkle trace
///         (5 leaves). Provider 5 is a cheater whose trace diverges from the true one at a random
///         step; provider 0 is honest (always votes the deterministic result, never forges, never
///         cheats). Challengers are honest or malicious (random answers); referees are honest except
///         one that votes at random. The honest node's watcher (`_watchRound`) challenges every
///         finalized round whose result is not the true aggregate, and asks referees to settle every
///         expired round, at once.
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
    uint256 public constant N_REFEREES = 4;
    uint64 public constant UNBONDING_DELAY = 2 days;
    uint32 public constant LEAVES = 5;
    address public constant HONEST = address(0x10000);
    address public constant CHEATER = address(0x10005);
    address public constant WATCHER = address(0x50000);

    bytes32 private constant CREDITED = keccak256("Credited(address,uint256,uint8,uint256)");
    bytes32 private constant PENALIZED = keccak256("WorkerPenalized(uint256,uint32,address,uint8,uint256)");
    bytes32 private constant CLAWED = keccak256("RewardClawedBack(uint256,uint32,address,uint256)");
    bytes32 private constant GAME_CREDITED = keccak256("Credited(address,uint256)");

    TestToken public immutable token;
    ProviderRegistry public immutable registry;
    TrainingMarket public immutable market;
    DisputeGame public immutable game;
    bytes32 public immutable domain;

    address[] private _providers;
    address[] private _posters;
    address[] private _challengers;
    address[] private _referees;
    address[] private _actors; // everyone who can be credited
    /// @dev keccak(jobId, round, worker) => where the worker's trace diverges from the truth (0: honest).
    mapping(bytes32 => uint32) private _cheatAt;
    mapping(bytes32 => bytes32) private _updateOf;
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
    /// @notice Σ Fee credits per job.
    mapping(uint256 => uint256) public ghostJobFees;
    /// @notice Σ slashes per provider (from WorkerPenalized events) and in total.
    mapping(address => uint256) public ghostSlashedOf;
    uint256 public ghostSlashed;
    /// @notice The honest provider: slashes for anything but missed deadlines, compensation received,
    ///         disputes it lost, and rewards released to it.
    uint256 public ghostHonestLoss;
    uint256 public ghostHonestComp;
    uint256 public ghostHonestDeadlineLoss;
    uint256 public ghostHonestRewards;
    uint256 public ghostHonestStakeAdded;
    uint256 public ghostCheaterFraudSlashed;
    /// @notice Σ paidRounds last seen per job, and reward units ever accrued per job.
    mapping(uint256 => uint256) public ghostPaidSum;
    mapping(uint256 => uint256) public ghostRewardUnits;
    mapping(uint256 => mapping(address => uint256)) private _seenPaid;
    /// @notice Σ credits in the dispute game per account (from its events).
    mapping(address => uint256) public ghostGameCredited;
    mapping(address => uint256) public ghostGameWithdrawn;
    /// @notice First broken expectation seen by an action ("" when none).
    string public violation;
    /// @notice Successful calls per action, for the summary.
    mapping(bytes32 => uint256) public successes;

    // per-action scratch
    uint256 private _marketBefore;
    uint256 private _registryBefore;
    uint256 private _pausedFor;
    bool private _acting;
    uint32 private _allowedRewards;
    bool private _exactRewards;

    constructor() {
        token = new TestToken(address(this));
        registry = new ProviderRegistry(token, address(this), 100e18, UNBONDING_DELAY);
        market = new TrainingMarket(registry, address(this), TREASURY, 200, 2_500, address(new MarketDisputeModule(registry)));
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        game = new DisputeGame(IMarketReader(address(market)), 100e18, 3, 1 hours, 1 days, 2_000);
        market.setDisputeGame(address(game));
        domain = MarketSigs.domainSeparator(market);
        currentTime = block.timestamp;

        for (uint256 i; i < N_PROVIDERS; ++i) {
            address p = address(uint160(0x10000 + i));
            _registerProvider(p, 0xA77E57 + i, i);
            _providers.push(p);
            _actors.push(p);
        }
        for (uint256 i; i < N_REFEREES; ++i) {
            address r = address(uint160(0x40000 + i));
            _registerProvider(r, 0xBEEF00 + i, 100 + i);
            _mintApprove(r, address(game), 100e18);
            vm.prank(r);
            game.registerReferee();
            _referees.push(r);
            _actors.push(r);
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
        _actors.push(WATCHER);
    }

    function _registerProvider(address p, uint256 key, uint256 i) private {
        attestationKeyOf[p] = key;
        _mintApprove(p, address(registry), PROVIDER_STAKE);
        bytes32 report = keccak256(abi.encode("report", i));
        bytes memory proof = MarketSigs.keyProof(registry, key, p, report);
        vm.prank(p);
        registry.register(PROVIDER_STAKE, vm.addr(key), report, "ipfs://meta", proof);
    }

    // =================================================================== views for the invariants

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    /// @notice Everyone with stake in the registry: providers and referees.
    function stakers() external view returns (address[] memory all) {
        all = new address[](N_PROVIDERS + N_REFEREES);
        for (uint256 i; i < N_PROVIDERS; ++i) all[i] = _providers[i];
        for (uint256 i; i < N_REFEREES; ++i) all[N_PROVIDERS + i] = _referees[i];
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
        // terms inside the protocol's default limits (what protects honest workers)
        p.rewardPerRound = uint128(1 + (rewardSeed % 10e18));
        p.workerBond = uint128(uint256(p.rewardPerRound) * (4 + (bondSeed % 20)));
        p.challengeBond = uint128(1 + ((shape >> 64) % 50e18));
        p.rounds = uint32(1 + (shape % 4));
        p.maxWorkers = uint8(1 + ((shape >> 8) % 5));
        p.minWorkers = uint8(1 + ((shape >> 16) % p.maxWorkers));
        p.quorumBps = uint16(5_001 + ((shape >> 24) % 5_000));
        uint256 pen = (shape >> 40) % 8;
        p.penaltyBps = uint16(pen == 0 ? 0 : pen == 1 ? 2_500 : ((shape >> 48) % 2_501));
        p.joinWindow = _window(windows, 0, 1_800, 1 days);
        p.commitWindow = _window(windows, 8, 1_800, 1 hours);
        p.voteWindow = _window(windows, 16, 1_800, 1 hours);
        p.challengeWindow = uint32(1 days + ((windows >> 24) % 2 days));

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
        if (count % 5 == 4) {
            // elastic membership: a provider takes a free slot of a running job (active from the next round)
            (uint256 running, bool any) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Running, Phase.Any);
            if (any) _join(running, workerSeed, 1);
            return;
        }
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
                if (market.jobState(jobId).status == ITrainingMarket.JobStatus.Running) successes["joinRunningJob"]++;
                --k;
            } catch {
                // not acting any more: left set, it kept the honest node from answering its disputes
                // at the next time jump, and it lost one by timeout (MarketInvariant.t.sol, test_failedJoinDoesNotSilenceTheHonestNode)
                _acting = false;
            }
            if (market.jobState(jobId).status != ITrainingMarket.JobStatus.Open) break;
        }
    }

    function startJob(uint256 jobSeed, bool jump) external {
        (uint256 jobId, bool found) = _pickJob(jobSeed, ITrainingMarket.JobStatus.Open, Phase.Any);
        if (!found) return;
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        ITrainingMarket.JobParams memory p = market.jobParams(jobId);
        if (jump && s.workerCount >= p.minWorkers) _warp(s.createdAt + p.joinWindow + market.pausedTime() + 1);
        _begin();
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
        bytes32 tk = keccak256(abi.encode(jobId, round, w));
        // the cheater's trace diverges from the true one at step 0..4 (4: only the update is wrong)
        uint32 cheat = w == CHEATER ? uint32(1 + (hashSeed >> 8) % (LEAVES - 1)) : 0;
        bytes32[] memory leaves = _trace(jobId, round, w, cheat);
        bytes32 updateHash = leaves[LEAVES - 1];
        bytes32 traceRoot = TraceBuilder.root(leaves, 3);
        uint64 trainLoss = uint64(hashSeed >> 64);
        bool forged = hashSeed % 16 == 0 && w != HONEST;
        uint256 key = forged ? uint256(keccak256(abi.encode("forger", hashSeed))) % 1e70 + 1 : attestationKeyOf[w];
        bytes memory sig = key.signUpdateWithTrace(domain, jobId, round, updateHash, traceRoot, trainLoss, w);
        _begin();
        vm.prank(w);
        try market.commitUpdate(jobId, round, updateHash, traceRoot, trainLoss, sig) {
            if (forged) _violate("commitUpdate accepted a signature by a key that is not the worker's");
            _cheatAt[tk] = cheat;
            _updateOf[tk] = traceRoot;
            _end(jobId);
            successes["commitUpdate"]++;
            return true;
        } catch {
            _acting = false;
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
        if (w == HONEST) (modelHash, included) = _truth(jobId, round, rd.committedMask);
        _begin();
        vm.prank(w);
        try market.submitResult(jobId, round, modelHash, included) {
            // rewards accrued by this vote must follow the finalized result exactly
            ITrainingMarket.Round memory after_ = market.roundOf(jobId, round);
            bool finalized = after_.status == ITrainingMarket.RoundStatus.Finalized;
            if (finalized) {
                uint32 voters = market.votersFor(jobId, round, modelHash, included);
                _allowRewards(included & s.activeMask & ~(after_.votedMask & ~voters & s.activeMask), true);
                successes["finalized"]++;
            }
            _end(jobId);
            successes["submitResult"]++;
            if (finalized) _watchRound(jobId, round, modelHash, included);
            return true;
        } catch {
            _acting = false;
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
        ITrainingMarket.JobState memory s = market.jobState(jobId);
        ITrainingMarket.JobParams memory p = market.jobParams(jobId);
        uint256 due; // the time after which expireRound must succeed
        if (s.status == ITrainingMarket.JobStatus.Open) {
            due = s.createdAt + p.joinWindow + market.pausedTime();
        } else {
            ITrainingMarket.Round memory rd = market.roundOf(jobId, s.currentRound);
            due = rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + p.voteWindow;
        }
        if (jump) _warp(due + 1);
        s = market.jobState(jobId);
        if (s.status != ITrainingMarket.JobStatus.Open && s.status != ITrainingMarket.JobStatus.Running) return;
        _begin();
        bool mustWork = currentTime > due && !paused;
        uint32 round = s.currentRound;
        if (s.status == ITrainingMarket.JobStatus.Running && market.cancelAt(jobId) != 0) {
            _allowRewards(market.roundOf(jobId, round).committedMask & s.activeMask, true);
        }
        try market.expireRound(jobId) {
            _end(jobId);
            successes["expireRound"]++;
            if (s.status == ITrainingMarket.JobStatus.Running) _watchRound(jobId, round, bytes32(0), 0);
        } catch (bytes memory err) {
            _acting = false;
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
            _acting = false;
            if (market.cancelAt(jobId) == 0) _violateWith("cancelJob by the poster reverted on a live job", err);
        }
    }

    // =================================================================== disputes

    /// @notice A challenger (0: honest, answers the truth; 1: malicious, answers at random) challenges
    ///         a worker's commitment in a round it committed to.
    function challengeStep(uint256 jobSeed, uint256 workerSeed, uint256 roundSeed, uint256 challengerSeed) external {
        uint256 n = market.jobCount();
        if (n == 0) return;
        vm.warp(currentTime);
        uint256 jobId;
        address[] memory ws;
        for (uint256 k; k < n && ws.length == 0; ++k) {
            jobId = 1 + ((jobSeed + k) % n);
            ws = market.workersOf(jobId);
        }
        if (ws.length == 0) return;
        // the cheater is challenged half the time
        address w = workerSeed % 2 == 0 && market.workerSlot(jobId, CHEATER).joined ? CHEATER : ws[workerSeed % ws.length];
        uint32 idx = market.workerSlot(jobId, w).index;
        uint32 current = market.jobState(jobId).currentRound;
        uint32 round = type(uint32).max;
        for (uint32 k; k <= current; ++k) {
            uint32 r = uint32((roundSeed + k) % (uint256(current) + 1));
            if (market.roundOf(jobId, r).committedMask & (uint32(1) << idx) != 0) {
                round = r;
                break;
            }
        }
        if (round == type(uint32).max) return;
        bytes32 tk = keccak256(abi.encode(jobId, round, w));
        bytes32 updateHash = _trace(jobId, round, w, _cheatAt[tk])[LEAVES - 1];
        address challenger = _challengers[challengerSeed % N_CHALLENGERS];
        uint128 bond = market.jobParams(jobId).challengeBond;
        _mintApprove(challenger, address(game), bond);
        _begin();
        vm.prank(challenger);
        try game.challengeStep(jobId, round, w, updateHash, _updateOf[tk]) {
            _end(jobId);
            successes["challengeStep"]++;
        } catch {
            _acting = false;
            // window closed: fine
        }
    }

    /// @notice The next move of an open dispute: the worker opens / reveals (the cheater sometimes
    ///         stays silent), the challenger answers, or the panel votes.
    function disputeMove(uint256 idSeed, uint256 choice) external {
        (uint256 id, bool found) = _pickOpenDispute(idSeed);
        if (!found) return;
        _move(id, choice);
    }

    /// @notice Anyone settles a dispute whose move or vote is overdue (`jump`: first warps past it).
    function resolveDispute(uint256 idSeed, uint256 jump_) external {
        (uint256 id, bool found) = _pickOpenDispute(idSeed);
        if (!found) return;
        IDisputeGame.Dispute memory d = game.disputeOf(id);
        uint256 due = uint256(d.deadline) + market.pausedTime() - d.pauseBase;
        if (jump_ % 3 == 0) _warp(due + 1); // the honest worker makes the moves it owes first
        d = game.disputeOf(id);
        if (d.phase == IDisputeGame.Phase.Closed) return;
        due = uint256(d.deadline) + market.pausedTime() - d.pauseBase;
        bool mustWork = currentTime > due || (d.phase == IDisputeGame.Phase.Refereeing && d.votes == game.panelOf(id).length);
        _begin();
        _allowRewards(type(uint32).max, false); // a settlement pays the round's correct voters
        try game.resolve(id) {
            _end(d.jobId);
            successes["resolveDispute"]++;
        } catch (bytes memory err) {
            _acting = false;
            if (mustWork) _violateWith("resolve reverted on an overdue dispute", err);
        }
    }

    function _move(uint256 id, uint256 choice) private {
        IDisputeGame.Dispute memory d = game.disputeOf(id);
        bool honestWorker = d.worker != CHEATER;
        bytes32[] memory leaves = _trace(d.jobId, d.round, d.worker, _cheatAt[keccak256(abi.encode(d.jobId, d.round, d.worker))]);
        bool workerTurn = d.phase == IDisputeGame.Phase.AwaitStart || d.phase == IDisputeGame.Phase.AwaitReveal;
        if (workerTurn && !honestWorker && choice % 5 == 0) return; // the cheater sometimes gives up
        _begin();
        if (d.phase == IDisputeGame.Phase.AwaitStart) {
            vm.prank(d.worker);
            try game.startBisection(id, LEAVES, TraceBuilder.proof(leaves, 3, LEAVES - 1)) {
                successes["startBisection"]++;
            } catch (bytes memory err) {
                _acting = false;
                if (_inTime(d)) _violateWith("startBisection with a valid proof reverted", err);
                return;
            }
        } else if (d.phase == IDisputeGame.Phase.AwaitReveal) {
            (,, uint32 mid) = game.interval(id);
            vm.prank(d.worker);
            try game.revealMidpoint(id, leaves[mid], TraceBuilder.proof(leaves, 3, mid)) {
                successes["revealMidpoint"]++;
            } catch (bytes memory err) {
                _acting = false;
                if (_inTime(d)) _violateWith("revealMidpoint with a valid proof reverted", err);
                return;
            }
        } else if (d.phase == IDisputeGame.Phase.AwaitResponse) {
            (,, uint32 mid) = game.interval(id);
            bool agree = d.challenger == _challengers[0]
                ? d.midLeaf == _trace(d.jobId, d.round, d.worker, 0)[mid]
                : choice % 2 == 0;
            vm.prank(d.challenger);
            try game.respondMidpoint(id, agree) {
                successes["respondMidpoint"]++;
            } catch {
                _acting = false;
                return;
            }
        } else if (d.phase == IDisputeGame.Phase.Refereeing) {
            _panelVotes(id, d, choice);
        }
        _end(d.jobId);
    }

    function _inTime(IDisputeGame.Dispute memory d) private view returns (bool) {
        return currentTime <= uint256(d.deadline) + market.pausedTime() - d.pauseBase;
    }

    /// @dev Every panel member votes: honest referees the truth, referee 3 at random.
    function _panelVotes(uint256 id, IDisputeGame.Dispute memory d, uint256 choice) private {
        address[] memory panel = game.panelOf(id);
        for (uint256 i; i < panel.length; ++i) {
            bool random = panel[i] == _referees[N_REFEREES - 1];
            uint256 c = uint256(keccak256(abi.encode(choice, i)));
            vm.prank(panel[i]);
            if (d.kind == IDisputeGame.Kind.Step) {
                bool correct = random ? c % 2 == 0 : _stepOk(d);
                try game.voteStep(id, correct) {} catch {}
            } else {
                (bytes32 m, uint32 mask) = _truth(d.jobId, d.round, market.roundOf(d.jobId, d.round).committedMask);
                if (random && c % 2 == 0) m = keccak256(abi.encode("random", c));
                try game.voteRound(id, m, mask) {} catch {}
            }
        }
        successes["panelVotes"]++;
    }

    /// @dev The honest node's watcher: challenges a finalized round whose result is not the true
    ///      aggregate, or asks referees to settle an expired round with votes; the panel votes and
    ///      the dispute resolves in the same action.
    function _watchRound(uint256 jobId, uint32 round, bytes32 modelHash, uint32 included) private {
        ITrainingMarket.Round memory rd = market.roundOf(jobId, round);
        if (rd.status == ITrainingMarket.RoundStatus.Finalized) {
            (bytes32 m, uint32 mask) = _truth(jobId, round, rd.committedMask);
            if (m == modelHash && mask == included) return;
        } else if (market.reservedFor(jobId, round) == 0) {
            return;
        }
        uint128 bond = market.jobParams(jobId).challengeBond;
        _mintApprove(WATCHER, address(game), bond);
        _begin();
        vm.prank(WATCHER);
        uint256 id = game.challengeRound(jobId, round);
        _end(jobId);
        IDisputeGame.Dispute memory d = game.disputeOf(id);
        if (d.phase == IDisputeGame.Phase.Refereeing) {
            _begin();
            _allowRewards(type(uint32).max, false);
            _panelVotes(id, d, uint256(keccak256(abi.encode(jobId, round))));
            game.resolve(id);
            _end(jobId);
        }
        successes[rd.status == ITrainingMarket.RoundStatus.Finalized ? bytes32("roundOverturned") : bytes32("roundSettled")]++;
    }

    /// @dev The honest worker is online: before time moves on, it makes every move it owes.
    function _honestMoves() private {
        uint256 n = game.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            IDisputeGame.Dispute memory d = game.disputeOf(id);
            if (d.worker != HONEST) continue;
            for (uint256 guard; guard < 8; ++guard) {
                if (d.phase != IDisputeGame.Phase.AwaitStart && d.phase != IDisputeGame.Phase.AwaitReveal) break;
                if (!_inTime(d)) break;
                _move(id, 1);
                d = game.disputeOf(id);
            }
        }
    }

    /// @dev The true trace of (job, round, worker) when `cheat` is 0; else the cheater's fork from
    ///      leaf `cheat` on (internally consistent: only the step into leaf `cheat` is wrong).
    function _trace(uint256 jobId, uint32 round, address w, uint32 cheat) private pure returns (bytes32[] memory t) {
        t = new bytes32[](LEAVES);
        for (uint32 i; i < LEAVES; ++i) {
            t[i] = keccak256(abi.encode(cheat != 0 && i >= cheat ? "fork" : "true", jobId, round, w, i));
        }
    }

    /// @dev What an honest referee answers: does leaf `hi` follow from leaf `lo` (or, nothing agreed,
    ///      is leaf 0 the true start)?
    function _stepOk(IDisputeGame.Dispute memory d) private pure returns (bool) {
        uint32 hi = d.hi;
        bytes32[] memory truth = _trace(d.jobId, d.round, d.worker, 0);
        if (d.lo == 0) return d.hiLeaf == truth[0];
        bytes32[] memory fork = _trace(d.jobId, d.round, d.worker, 1);
        if (d.loLeaf == truth[hi - 1]) return d.hiLeaf == truth[hi];
        if (d.loLeaf == fork[hi - 1]) return d.hiLeaf == fork[hi];
        return false;
    }

    /// @dev The deterministic aggregate of a round: every committed update included.
    function _truth(uint256 jobId, uint32 round, uint32 committed) private pure returns (bytes32, uint32) {
        return (keccak256(abi.encode("model", jobId, round, 0)), committed);
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
        bool mustWork = market.openDisputesOf(jobId) == 0 && currentTime > until;
        uint256 bondedBefore = registry.providerOf(w).bonded;
        _begin();
        try market.releaseBond(jobId, w) {
            _expect(bondedBefore - registry.providerOf(w).bonded == slot.bond, "releaseBond: released != slot bond");
            _end(jobId);
            successes["releaseBond"]++;
        } catch (bytes memory err) {
            _acting = false;
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
            _acting = false;
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
            if (p == HONEST) ghostHonestStakeAdded += amount;
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
            _acting = false;
                if (mustWork) _violateWith("withdrawUnbonded reverted after the delay", err);
            }
        } else {
            uint256 key = uint256(keccak256(abi.encode("rotated", ++_rotations))) % 1e70 + 1;
            bytes32 report = keccak256(abi.encode("report", key));
            bytes memory proof = MarketSigs.keyProof(registry, key, p, report);
            vm.prank(p);
            registry.rotateAttestationKey(vm.addr(key), report, proof);
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

    /// @notice Admin changes: protocol fee, challenge bounty, treasury, pause / unpause (rarely pauses),
    ///         and a rogue MARKET_ROLE grant in the registry, which must be scheduled and wait
    ///         ROLE_GRANT_DELAY; even granted, the rogue market can slash nothing it did not bond.
    function admin(uint256 op, uint256 value) external {
        vm.warp(currentTime);
        op %= 9;
        if (op == 8) {
            address rogue = address(uint160(0x60000 + (value % 2)));
            bytes32 role = registry.MARKET_ROLE();
            if (!registry.hasRole(role, rogue)) {
                uint48 readyAt = registry.grantReadyAt(keccak256(abi.encode(role, rogue)));
                try registry.grantRole(role, rogue) {
                    if (readyAt == 0 || currentTime < readyAt) _violate("a role grant went through before its delay");
                    successes["grantRole(after delay)"]++;
                } catch {
            _acting = false;
                    registry.scheduleGrant(role, rogue);
                    successes["scheduleGrant"]++;
                }
                return;
            }
            // the rogue market tries to slash a provider's stake it never bonded
            address victim = _providers[value % N_PROVIDERS];
            uint256 stakeBefore = registry.providerOf(victim).stake;
            vm.prank(rogue);
            uint256 got = registry.slash(victim, 1e18);
            _expect(got == 0 && registry.providerOf(victim).stake == stakeBefore, "a market slashed stake it did not bond");
            successes["rogueSlash(0)"]++;
            return;
        }
        if (op == 0) {
            market.setProtocolFee(uint16(value % (uint256(market.MAX_FEE_BPS()) + 1)));
            successes["setProtocolFee"]++;
        } else if (op == 1) {
            market.setChallengeBounty(uint16(value % 5_001));
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
                if (!(jobId % 2 == 0 && market.cancelAt(jobId) == 0)) _warp(currentTime + 31 days);
                _begin();
                if (jobId % 2 == 0 && market.cancelAt(jobId) == 0) {
                    ITrainingMarket.JobState memory before = s;
                    uint32 paidMask = _cancelPaidMask(jobId, s);
                    vm.prank(before.poster);
                    market.cancelJob(jobId);
                    _allowRewards(paidMask, true);
                } else {
                    if (s.status == ITrainingMarket.JobStatus.Running && market.cancelAt(jobId) != 0) {
                        _allowRewards(market.roundOf(jobId, s.currentRound).committedMask & s.activeMask, true);
                    }
                    market.expireRound(jobId);
                }
                _end(jobId);
            }
            require(
                uint256(market.jobState(jobId).status) >= uint256(ITrainingMarket.JobStatus.Completed),
                "settle: a job could not be ended"
            );
        }
        // 2. close every open dispute (moves still owed are overdue after a long wait)
        for (uint256 guard; guard < 8; ++guard) {
            _warp(currentTime + 3 days);
            for (uint256 id = 1; id <= game.disputeCount(); ++id) {
                IDisputeGame.Phase ph = game.disputeOf(id).phase;
                if (ph == IDisputeGame.Phase.Closed) continue;
                _begin();
                _allowRewards(type(uint32).max, false);
                game.resolve(id);
                _end(game.disputeOf(id).jobId);
            }
        }
        for (uint256 id = 1; id <= game.disputeCount(); ++id) {
            require(game.disputeOf(id).phase == IDisputeGame.Phase.Closed, "settle: a dispute could not be closed");
        }
        // 3. after the longest challenge window: refund unsettled reserves, release every bond
        _warp(currentTime + 3 days + 1);
        for (uint256 jobId = 1; jobId <= n; ++jobId) {
            uint32 last = market.jobState(jobId).currentRound;
            for (uint32 r; r <= last; ++r) {
                if (market.reservedFor(jobId, r) == 0) continue;
                _begin();
                IMarketDisputes(address(market)).releaseReserve(jobId, r);
                _end(jobId);
            }
            address[] memory ws = market.workersOf(jobId);
            for (uint256 i; i < ws.length; ++i) {
                if (market.workerSlot(jobId, ws[i]).bondReleased) continue;
                _begin();
                market.releaseBond(jobId, ws[i]);
                _end(jobId);
            }
        }
        // referees leave (their stake is credited in the game)
        for (uint256 i; i < N_REFEREES; ++i) {
            _begin();
            vm.prank(_referees[i]);
            game.leaveReferees();
            _end(0);
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
        for (uint256 i; i < _actors.length; ++i) {
            address a = _actors[i];
            uint256 owed = game.balanceOf(a);
            if (owed == 0) continue;
            uint256 before = token.balanceOf(a);
            vm.prank(a);
            game.withdraw();
            require(token.balanceOf(a) - before == owed, "settle: game withdraw paid the wrong amount");
            ghostGameWithdrawn[a] += owed;
        }
        require(token.balanceOf(address(game)) == 0, "settle: tokens stuck in the dispute game");
        // 5. every provider unbonds everything; the registry must be empty
        address[] memory everyone = new address[](N_PROVIDERS + N_REFEREES);
        for (uint256 i; i < N_PROVIDERS; ++i) everyone[i] = _providers[i];
        for (uint256 i; i < N_REFEREES; ++i) everyone[N_PROVIDERS + i] = _referees[i];
        for (uint256 i; i < everyone.length; ++i) {
            address p = everyone[i];
            IProviderRegistry.Provider memory pr = registry.providerOf(p);
            require(pr.bonded == 0, "settle: bond still locked after every job ended");
            uint256 free = registry.freeStakeOf(p);
            if (free != 0) {
                vm.prank(p);
                registry.requestUnbond(free);
            }
        }
        _warp(currentTime + UNBONDING_DELAY);
        for (uint256 i; i < everyone.length; ++i) {
            address p = everyone[i];
            if (registry.providerOf(p).unbonding == 0) continue;
            vm.prank(p);
            registry.withdrawUnbonded();
            require(registry.providerOf(p).stake == 0, "settle: stake left after withdrawing everything");
        }
        require(token.balanceOf(address(registry)) == 0, "settle: tokens stuck in the registry");
        require(bytes(violation).length == 0, violation);
    }

    // =================================================================== internals

    /// @dev A window: the protocol minimum (300 s) one time in eight, else `short`, else `long`.
    function _window(uint256 seed, uint256 shift, uint32 short, uint32 long) private pure returns (uint32) {
        uint256 k = (seed >> shift) % 8;
        if (k == 0) return 300;
        if (k < 4) return short;
        return long;
    }

    function _warp(uint256 t) private {
        if (t > currentTime) {
            vm.warp(currentTime);
            if (!_acting) _honestMoves();
            currentTime = t;
        }
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

    function _pickOpenDispute(uint256 seed) private returns (uint256, bool) {
        vm.warp(currentTime);
        _tick();
        uint256 n = game.disputeCount();
        for (uint256 k; k < n; ++k) {
            uint256 id = 1 + ((seed + k) % n);
            IDisputeGame.Phase ph = game.disputeOf(id).phase;
            if (ph != IDisputeGame.Phase.Closed && ph != IDisputeGame.Phase.None) return (id, true);
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
        _acting = true;
        vm.warp(currentTime);
        vm.recordLogs();
        _marketBefore = token.balanceOf(address(market));
        _registryBefore = token.balanceOf(address(registry));
        _allowedRewards = 0;
        _exactRewards = false;
    }

    /// @dev Folds the action's Credited / WorkerPenalized / RewardClawedBack events (market) and
    ///      Credited events (game) into the ghosts, checks every accrued reward against what the
    ///      action allowed, and cross-checks slashes against the registry's token balance.
    function _end(uint256 jobId) private {
        _acting = false;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 penalized;
        uint256 clawed;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length == 0) continue;
            if (l.emitter == address(game) && l.topics[0] == GAME_CREDITED) {
                ghostGameCredited[address(uint160(uint256(l.topics[1])))] += abi.decode(l.data, (uint256));
                continue;
            }
            if (l.emitter != address(market)) continue;
            if (l.topics[0] == CREDITED) {
                _credited(jobId, l);
            } else if (l.topics[0] == PENALIZED) {
                (uint8 reason, uint256 amount) = abi.decode(l.data, (uint8, uint256));
                address w = address(uint160(uint256(l.topics[3])));
                penalized += amount;
                ghostSlashedOf[w] += amount;
                ghostSlashed += amount;
                if (w == HONEST) {
                    if (reason == uint8(ITrainingMarket.PenaltyReason.Absent) || reason == uint8(ITrainingMarket.PenaltyReason.NoVote)) {
                        ghostHonestDeadlineLoss += amount;
                    } else {
                        ghostHonestLoss += amount;
                    }
                    if (reason == uint8(ITrainingMarket.PenaltyReason.Fraud) || reason == uint8(ITrainingMarket.PenaltyReason.WrongResult)) {
                        _violate("the honest worker was slashed for fraud or a wrong result");
                    }
                }
                if (w == CHEATER && reason == uint8(ITrainingMarket.PenaltyReason.Fraud)) ghostCheaterFraudSlashed += amount;
            } else if (l.topics[0] == CLAWED) {
                ++clawed;
            }
        }
        ghostJobIn[jobId] += penalized;
        _checkAccrual(jobId, clawed);
        _expect(_registryBefore - token.balanceOf(address(registry)) == penalized, "slashed events != tokens out of registry");
        _expect(
            ghostJobFees[jobId] == uint256(market.jobState(jobId).feePerReward) * ghostRewardUnits[jobId],
            "fees != feePerReward x rewards accrued"
        );
    }

    function _credited(uint256 jobId, Vm.Log memory l) private {
        address account = address(uint160(uint256(l.topics[1])));
        uint256 job = uint256(l.topics[2]);
        ITrainingMarket.CreditKind kind = ITrainingMarket.CreditKind(uint8(uint256(l.topics[3])));
        uint256 amount = abi.decode(l.data, (uint256));
        _expect(job == jobId, "credit for another job than the one acted on");
        ghostCredited[account] += amount;
        ghostJobCredited[job] += amount;
        if (kind == ITrainingMarket.CreditKind.Reward) {
            ITrainingMarket.WorkerSlot memory slot = market.workerSlot(job, account);
            _expect(slot.bondReleased, "reward credited before the bond was released");
            _expect(amount == uint256(slot.paidRounds) * market.jobParams(job).rewardPerRound, "released reward != paid rounds x reward");
            if (account == HONEST) ghostHonestRewards += amount;
        } else if (kind == ITrainingMarket.CreditKind.Fee) {
            ghostJobFees[job] += amount;
            _expect(account == market.treasury(), "fee credited to someone else than the treasury");
        } else if (kind == ITrainingMarket.CreditKind.Refund) {
            _expect(account == market.jobState(job).poster, "refund to someone else than the poster");
        } else if (kind == ITrainingMarket.CreditKind.SlashProceeds) {
            bool ok = account == market.jobState(job).poster || account == market.treasury()
                || market.workerSlot(job, account).joined;
            _expect(ok, "slash proceeds to someone else than the poster, the treasury or an honest worker");
            _expect(!_isReferee(account), "slash proceeds paid to a referee");
            if (account == HONEST) ghostHonestComp += amount;
        } else if (kind == ITrainingMarket.CreditKind.ChallengeBounty) {
            _expect(!_isReferee(account), "bounty paid to a referee");
        }
    }

    /// @dev Per worker, rounds paid since the last action: +1 only for workers the action allowed
    ///      (every one of them with `exact`); decreases only by clawbacks.
    function _checkAccrual(uint256 jobId, uint256 clawed) private {
        address[] memory ws = market.workersOf(jobId);
        uint256 decreases;
        for (uint256 i; i < ws.length; ++i) {
            uint256 now_ = market.workerSlot(jobId, ws[i]).paidRounds;
            uint256 last = _seenPaid[jobId][ws[i]];
            bool allowed = _allowedRewards & (uint32(1) << uint32(i)) != 0;
            if (now_ > last) {
                _expect(allowed && now_ - last == 1, "reward accrued to a worker that did not earn it");
                ghostRewardUnits[jobId] += now_ - last;
            } else {
                decreases += last - now_;
                if (_exactRewards && allowed) _expect(false, "a worker that earned the round was not paid");
            }
            _seenPaid[jobId][ws[i]] = now_;
        }
        _expect(decreases == clawed, "paid rounds decreased without a clawback");
        _expect(ghostRewardUnits[jobId] <= uint256(market.jobParams(jobId).rounds) * ws.length, "more rewards than rounds x workers");
    }

    function _isReferee(address a) private view returns (bool) {
        for (uint256 i; i < N_REFEREES; ++i) if (_referees[i] == a) return true;
        return false;
    }

    /// @dev Rewards credited by the current action may only go to workers in `allowed` (join-index mask).
    ///      With `exact`, every one of them must be paid exactly once.
    function _allowRewards(uint32 allowed, bool exact) private {
        _allowedRewards = allowed;
        _exactRewards = exact;
    }

    /// @dev Who a cancellation pays now for the round in flight: nobody while its commit window is
    ///      open (the cancellation takes effect when it ends), else its active committers.
    function _cancelPaidMask(uint256 jobId, ITrainingMarket.JobState memory s) private view returns (uint32) {
        if (s.status != ITrainingMarket.JobStatus.Running) return 0;
        ITrainingMarket.Round memory rd = market.roundOf(jobId, s.currentRound);
        if (rd.voteDeadline == 0 && currentTime <= rd.commitDeadline) return 0;
        return rd.committedMask & s.activeMask;
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
