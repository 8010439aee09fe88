// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Bitmask} from "./libraries/Bitmask.sol";
import {MarketBase} from "./market/MarketBase.sol";

/// @title TrainingMarket
/// @notice Escrowed DiLoCoX training jobs. A poster locks `rounds × maxWorkers × (reward + fee)`;
///         staked providers join with a bond; every round each worker commits the hash of its
///         compressed pseudo-gradient and the Merkle root of its round trace (signed by its
///         attestation key), then votes the hash of the aggregated model together with the mask of
///         updates it included. A quorum of the round's committed workers finalizes the round:
///         included, non-dissenting workers earn the round's reward, others are penalised, and the
///         global model hash advances. Rewards stay in the market, slashable by the dispute game,
///         until the worker's bond is released after the challenge window.
/// @dev Accounting invariant: `token.balanceOf(this) == Σ job.escrow (live jobs) + Σ reserved +
///      Σ accrued rewards + Σ balanceOf`. All payouts are credits withdrawn with `withdraw()` (pull
///      payments). Loops run over a job's workers only, bounded by MAX_WORKERS. Nobody here decides a
///      dispute: the `disputeGame` (referees, bisection) calls the narrow IMarketDisputes hooks.
contract TrainingMarket is MarketBase, AccessControl, EIP712 {
    using SafeERC20 for IERC20;
    using Bitmask for uint32;

    /// @notice Runs the IMarketDisputes hooks and `releaseReserve` on this contract's storage
    ///         (delegatecall from `fallback`); same storage layout (MarketBase).
    address public immutable disputeModule;
    /// @param registry_ The provider registry; its stake token is this market's payment token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE (a TimelockController in production).
    /// @param treasury_ Receives protocol fees and unassigned slash proceeds.
    /// @param feeBps Protocol fee in basis points of each reward.
    /// @param bountyBps Challenger's share of a fraud slash (≤ MAX_BOUNTY_BPS).
    /// @param module_ The MarketDisputeModule (deployed with the same registry).
    constructor(
        IProviderRegistry registry_,
        address admin,
        address treasury_,
        uint16 feeBps,
        uint16 bountyBps,
        address module_
    ) MarketBase(registry_) EIP712("TrainingMarket", "1") {
        if (admin == address(0) || treasury_ == address(0) || module_ == address(0)) revert ZeroAddress();
        if (feeBps > MAX_FEE_BPS) revert InvalidFee(feeBps);
        if (bountyBps > MAX_BOUNTY_BPS) revert InvalidBounty(bountyBps);
        disputeModule = module_;
        treasury = treasury_;
        protocolFeeBps = feeBps;
        challengeBountyBps = bountyBps;
        // Public-chain defaults: windows of minutes (dozens of blocks on any chain), a day to challenge.
        _setLimits(Limits({
            maxPenaltyBps: 2_500,
            minCommitWindow: 300,
            minVoteWindow: 300,
            minChallengeWindow: 1 days,
            minBondToReward: 4,
            maxBondToReward: 1_000
        }));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit TreasuryUpdated(treasury_);
        emit ProtocolFeeUpdated(feeBps);
        emit ChallengeBountyUpdated(bountyBps);
    }

    /// @notice Forwards the dispute hooks (IMarketDisputes) and `releaseReserve` to the dispute module.
    fallback() external {
        address m = disputeModule;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), m, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    // =================================================================== job lifecycle

    /// @notice Creates a job and pulls its escrow (`rounds × maxWorkers × (reward + fee)`) from the caller.
    /// @param p The job's parameters (validated against the protocol limits; see JobParams).
    /// @return jobId The new job's id (ids start at 1).
    function createJob(JobParams calldata p) external nonReentrant whenNotPaused returns (uint256 jobId) {
        return _createJob(p);
    }

    /// @notice Joins a job as a worker, bonding `workerBond` of the caller's free stake.
    ///         - An open job (within its join window) starts as soon as it has `maxWorkers` workers.
    ///         - A running job takes a new worker while fewer than `maxWorkers` are active or joining,
    ///           a round remains after the current one and no cancellation is pending (elastic
    ///           membership): the worker becomes active when the next round starts, trains from that
    ///           round's global model and is paid from the escrow of the slot it fills. A job sees at
    ///           most MAX_WORKERS workers over its life (its round masks are 32 bits wide).
    function joinJob(uint256 jobId) external nonReentrant whenNotPaused {
        JobParams storage p = _params[jobId];
        JobState storage job = _job(jobId);
        bool running = job.status == JobStatus.Running;
        if (running) {
            if (job.currentRound + 1 >= p.rounds) revert JoinWindowClosed(jobId);
            if (cancelAt[jobId] != 0) revert CancelPending(jobId, cancelAt[jobId]);
            if ((job.activeMask | _joiningMask[jobId]).count() >= p.maxWorkers || job.workerCount >= MAX_WORKERS) {
                revert JobFull(jobId);
            }
        } else {
            if (job.workerCount >= p.maxWorkers) revert JobFull(jobId);
            if (job.status != JobStatus.Open) revert JobNotOpen(jobId);
            if (block.timestamp > _joinDeadline(jobId)) revert JoinWindowClosed(jobId);
        }
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (slot.joined) revert AlreadyJoined(jobId, msg.sender);
        if (!registry.isRegistered(msg.sender)) revert ProviderNotRegistered(msg.sender);
        address signer = registry.attestationSignerOf(msg.sender);
        if (signer == address(0)) revert NoAttestationKey(msg.sender);

        uint8 index = job.workerCount;
        slot.index = index;
        slot.joined = true;
        slot.signer = signer;
        slot.bond = p.workerBond;
        _workers[jobId].push(msg.sender);
        job.workerCount = index + 1;
        if (running) {
            _joiningMask[jobId] |= Bitmask.bit(index);
        } else {
            slot.active = true;
            job.activeMask |= Bitmask.bit(index);
        }
        emit WorkerJoined(jobId, msg.sender, index, p.workerBond);

        registry.lockBond(msg.sender, p.workerBond);
        if (!running && index + 1 == p.maxWorkers) _start(jobId);
    }

    /// @notice After the join window, starts a job that has at least `minWorkers` workers;
    ///         anyone may call it. The escrow of unfilled slots stays with the job: a provider may
    ///         take such a slot between rounds, and whatever is unspent is refunded when the job ends.
    function startJob(uint256 jobId) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Open) revert JobNotOpen(jobId);
        JobParams storage p = _params[jobId];
        if (block.timestamp <= _joinDeadline(jobId)) revert JoinWindowOpen(jobId);
        if (job.workerCount < p.minWorkers) revert NotEnoughWorkers(job.workerCount, p.minWorkers);
        _start(jobId);
    }

    /// @notice Commits the caller's round update: `updateHash` is the keccak-256 of the compressed
    ///         pseudo-gradient blob, `traceRoot` the Merkle root of the round's trace (start state,
    ///         the training state after each inner step, the compressed update), `trainLoss` the mean
    ///         inner-loop loss × 1e6, and `sig` an EIP-712 `RoundUpdate` signature by the caller's
    ///         current attestation key. An update hash already committed in the round is rejected.
    function commitUpdate(
        uint256 jobId,
        uint32 round,
        bytes32 updateHash,
        bytes32 traceRoot,
        uint64 trainLoss,
        bytes calldata sig
    ) external whenNotPaused {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        if (round != job.currentRound) revert WrongRound(round, job.currentRound);
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (!slot.active) revert NotActiveWorker(jobId, msg.sender);
        RoundSlot storage rd = _rounds[jobId][round];
        if (rd.voteDeadline != 0 || block.timestamp > rd.commitDeadline + _shift(jobId, round)) {
            revert CommitPhaseClosed(jobId, round);
        }
        uint32 bit = Bitmask.bit(slot.index);
        if (rd.committedMask & bit != 0) revert AlreadyCommitted(jobId, round, msg.sender);
        if (updateHash == bytes32(0) || traceRoot == bytes32(0)) revert ZeroHash();
        bytes32 key = keccak256(abi.encode(jobId, round, updateHash));
        if (commitmentOf[key] != bytes32(0)) revert DuplicateUpdate(jobId, round, updateHash);
        _verifyCommitment(
            slot,
            keccak256(abi.encode(ROUND_UPDATE_TYPEHASH, jobId, round, updateHash, traceRoot, trainLoss, msg.sender)),
            sig
        );

        commitmentOf[key] = keccak256(abi.encode(msg.sender, traceRoot));
        uint32 committed = rd.committedMask | bit;
        rd.committedMask = committed;
        emit UpdateCommitted(jobId, round, msg.sender, updateHash, traceRoot, trainLoss);
        uint32 active = job.activeMask;
        if (committed & active == active) {
            // The vote deadline is stored relative to the round's pause base, like the commit deadline.
            uint64 voteDeadline = uint64(block.timestamp) - _shift(jobId, round) + _params[jobId].voteWindow;
            rd.voteDeadline = uint40(voteDeadline);
            emit VotingStarted(jobId, round, committed, voteDeadline + _shift(jobId, round));
        }
    }

    /// @notice Votes the hash of the aggregated model for `round` and the mask of commitments the
    ///         caller included (updates whose blob matched its hash and decoded). Finalizes the round
    ///         as soon as a quorum of the round's committed workers agrees on the same (modelHash,
    ///         includedMask); the set counted is fixed at commit time, so quorum is only ever reached
    ///         by a vote and a round with a quorum is always finalized, never expired.
    /// @dev A vote carries no attestation signature: the result is a deterministic function of the
    ///      attested commitments and public blobs, anyone can recompute it, and a wrong one is
    ///      overturned by a round challenge (DisputeGame.challengeRound); the caller's account is
    ///      what stakes on it.
    function submitResult(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask)
        external
        nonReentrant
        whenNotPaused
    {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        if (round != job.currentRound) revert WrongRound(round, job.currentRound);
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (!slot.active) revert NotActiveWorker(jobId, msg.sender);
        RoundSlot storage rd = _rounds[jobId][round];
        uint256 shift = _shift(jobId, round);
        if (rd.voteDeadline == 0) {
            if (block.timestamp <= rd.commitDeadline + shift) revert CommitPhaseOpen(jobId, round);
        }
        if (block.timestamp > _voteDeadline(jobId, rd) + shift) revert VoteWindowClosed(jobId, round);
        uint32 bit = Bitmask.bit(slot.index);
        uint32 committed = rd.committedMask;
        if (committed & bit == 0) revert NotCommitted(jobId, round, msg.sender);
        if (rd.votedMask & bit != 0) revert AlreadyVoted(jobId, round, msg.sender);
        if (modelHash == bytes32(0)) revert ZeroHash();
        if (includedMask == 0 || includedMask & ~committed != 0) revert InvalidIncludedMask(includedMask, committed);

        rd.votedMask |= bit;
        bytes32 key = keccak256(abi.encode(jobId, round, modelHash, includedMask));
        uint32 voters = _tally[key] | bit;
        _tally[key] = voters;
        emit ResultSubmitted(jobId, round, msg.sender, modelHash, includedMask);

        if (voters.count() * 10_000 >= uint256(rd.quorumBps) * committed.count()) {
            _finalize(jobId, round, modelHash, includedMask, voters);
        }
    }

    /// @notice Moves a stuck job forward; anyone may call it.
    ///         - Open job past its join window: starts it (enough workers) or fails it with a full refund.
    ///         - Running job with a cancellation due (its commit window ended): executes it.
    ///         - Running job whose round's commit phase ended with no commitment, or whose vote window
    ///           ended without quorum: absentees are penalised and removed, committed workers that did
    ///           not vote are penalised, and the escrow of the round's voters is reserved until referees
    ///           settle the round (correct voters paid, wrong voters slashed); the next round starts
    ///           from the same model (or the job fails when it was the last round or too few remain).
    function expireRound(uint256 jobId) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        JobParams storage p = _params[jobId];
        if (job.status == JobStatus.Open) {
            if (block.timestamp <= _joinDeadline(jobId)) revert JoinWindowOpen(jobId);
            if (job.workerCount >= p.minWorkers && job.workerCount > 0) {
                _start(jobId);
            } else {
                _releaseAllBonds(jobId);
                _end(jobId, JobStatus.Failed);
            }
            return;
        }
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        uint32 round = job.currentRound;
        RoundSlot storage rd = _rounds[jobId][round];
        uint256 shift = _shift(jobId, round);
        uint64 due = cancelAt[jobId];
        if (due != 0 && (rd.voteDeadline != 0 || block.timestamp > rd.commitDeadline + shift)) {
            _executeCancel(jobId, round, rd);
            return;
        }
        bool noCommitAfterDeadline = rd.committedMask == 0 && block.timestamp > rd.commitDeadline + shift;
        if (!noCommitAfterDeadline && block.timestamp <= _voteDeadline(jobId, rd) + shift) {
            revert RoundNotExpired(jobId, round);
        }

        uint32 active = job.activeMask;
        uint32 absent = active & ~rd.committedMask;
        uint32 silent = active & rd.committedMask & ~rd.votedMask;
        if (absent != 0) _penalizeMask(jobId, round, absent, PenaltyReason.Absent);
        if (silent != 0) _penalizeMask(jobId, round, silent, PenaltyReason.NoVote);
        rd.status = RoundStatus.Expired;
        rd.closedAt = uint40(block.timestamp);
        emit RoundExpired(jobId, round, rd.committedMask, rd.votedMask);
        uint256 voters = rd.votedMask.count();
        if (voters != 0) {
            uint256 reserve = voters * (uint256(p.rewardPerRound) + job.feePerReward);
            job.escrow -= reserve;
            reservedFor[jobId][round] = reserve;
            reservedOf[jobId] += reserve;
            emit RoundReserved(jobId, round, reserve);
        }
        _advance(jobId, round);
    }

    /// @notice Cancels the caller's job. Before it starts: everything is refunded and bonds are
    ///         released. While running, during a commit window: the cancellation takes effect when that
    ///         window ends (commitments landing before it are paid; `expireRound` executes it). In the
    ///         vote phase: at once, paying the round's committers. Bonds stay slashable for the
    ///         challenge window.
    function cancelJob(uint256 jobId) external nonReentrant {
        JobState storage job = _job(jobId);
        if (msg.sender != job.poster) revert NotPoster(jobId, msg.sender);
        if (job.status == JobStatus.Open) {
            _releaseAllBonds(jobId);
            uint256 fullRefund = job.escrow;
            _end(jobId, JobStatus.Cancelled);
            emit JobCancelled(jobId, 0, 0, fullRefund);
            return;
        }
        if (job.status != JobStatus.Running) revert JobAlreadyEnded(jobId);
        if (cancelAt[jobId] != 0) revert CancelPending(jobId, cancelAt[jobId]);
        uint32 round = job.currentRound;
        RoundSlot storage rd = _rounds[jobId][round];
        uint256 commitEnd = rd.commitDeadline + _shift(jobId, round);
        if (rd.voteDeadline == 0 && block.timestamp <= commitEnd) {
            cancelAt[jobId] = uint64(commitEnd);
            emit CancelRequested(jobId, round, uint64(commitEnd));
            return;
        }
        _executeCancel(jobId, round, rd);
    }

    // =================================================================== bonds and payments

    /// @notice Releases `worker`'s remaining bond for `jobId` back to its free stake, and credits the
    ///         rewards it earned in the job, once the job ended (or the worker was removed), the
    ///         challenge window has passed and no dispute on the job is open. Anyone may call it.
    function releaseBond(uint256 jobId, address worker) external nonReentrant {
        JobState storage job = _job(jobId);
        WorkerSlot storage slot = _slots[jobId][worker];
        if (!slot.joined) revert NotAWorker(jobId, worker);
        if (slot.bondReleased) revert BondAlreadyReleased(jobId, worker);
        uint64 since;
        if (job.endedAt != 0) since = job.endedAt;
        else if (slot.removedAt != 0) since = slot.removedAt;
        else revert WorkerStillActive(jobId, worker);
        uint64 until = since + _params[jobId].challengeWindow;
        if (block.timestamp <= until) revert BondLockedUntil(until);
        if (openDisputesOf[jobId] != 0) revert DisputesOpen(jobId, openDisputesOf[jobId]);
        uint256 earned = uint256(slot.paidRounds) * _params[jobId].rewardPerRound;
        _releaseBond(jobId, worker, slot);
        if (earned != 0) {
            accruedOf[jobId] -= earned;
            _credit(worker, jobId, CreditKind.Reward, earned);
        }
    }

    /// @notice Transfers the caller's whole credited balance to it.
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // =================================================================== admin

    /// @notice Sets the fee recipient.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    /// @notice Sets the protocol fee for jobs created from now on.
    function setProtocolFee(uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert InvalidFee(feeBps);
        protocolFeeBps = feeBps;
        emit ProtocolFeeUpdated(feeBps);
    }

    /// @notice Sets the challenger's share of a fraud slash for jobs created from now on.
    function setChallengeBounty(uint16 bountyBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bountyBps > MAX_BOUNTY_BPS) revert InvalidBounty(bountyBps);
        challengeBountyBps = bountyBps;
        emit ChallengeBountyUpdated(bountyBps);
    }

    /// @notice Sets the protocol bounds on job terms, for jobs created from now on.
    function setLimits(Limits calldata l) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setLimits(l);
    }

    /// @notice Sets the dispute game, once (a TimelockController admin makes even that delayed).
    function setDisputeGame(address game) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (game == address(0)) revert ZeroAddress();
        if (disputeGame != address(0)) revert InvalidLimits();
        disputeGame = game;
        emit DisputeGameUpdated(game);
    }

    /// @notice Stops job creation, joins and the round protocol. Every deadline of running jobs (and,
    ///         in the dispute game, of open disputes) is extended by the time the market stays paused.
    function pause() external onlyRole(PAUSER_ROLE) whenNotPaused {
        pausedSince = uint40(block.timestamp);
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        uint64 since = pausedSince;
        if (since == 0) revert ExpectedPause();
        pausedTotal += uint32(block.timestamp - since);
        pausedSince = 0;
        emit Unpaused(msg.sender);
    }

    // =================================================================== views

    /// @notice True while paused.
    function paused() external view returns (bool) {
        return pausedSince != 0;
    }


    /// @notice The protocol bounds on job terms.
    function limits() external view returns (Limits memory) {
        return _limits;
    }

    /// @notice Escrow a job with these terms locks, and the fee taken on each reward.
    function escrowFor(uint128 rewardPerRound, uint32 rounds, uint8 maxWorkers)
        public
        view
        returns (uint256 escrow, uint128 feePerReward)
    {
        feePerReward = uint128((uint256(rewardPerRound) * protocolFeeBps) / 10_000);
        escrow = (uint256(rewardPerRound) + feePerReward) * rounds * maxWorkers;
    }

    function jobParams(uint256 jobId) external view returns (JobParams memory) {
        return _params[jobId];
    }

    function jobState(uint256 jobId) external view returns (JobState memory) {
        return _jobs[jobId];
    }

    /// @notice A round's state, its deadlines extended by every pause since it started.
    function roundOf(uint256 jobId, uint32 round) external view returns (Round memory r) {
        RoundSlot storage rd = _rounds[jobId][round];
        r = Round({
            commitDeadline: rd.commitDeadline,
            voteDeadline: rd.voteDeadline,
            committedMask: rd.committedMask,
            votedMask: rd.votedMask,
            closedAt: rd.closedAt,
            status: rd.status
        });
        if (r.status == RoundStatus.None) return r;
        uint64 shift = _shift(jobId, round);
        r.commitDeadline += shift;
        if (r.voteDeadline != 0) r.voteDeadline += shift;
    }

    function workersOf(uint256 jobId) external view returns (address[] memory) {
        return _workers[jobId];
    }

    function workerSlot(uint256 jobId, address worker) external view returns (WorkerSlot memory) {
        return _slots[jobId][worker];
    }

    /// @notice Mask of workers that voted for (modelHash, includedMask) in a round.
    function votersFor(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask)
        external
        view
        returns (uint32)
    {
        return _tally[keccak256(abi.encode(jobId, round, modelHash, includedMask))];
    }

    // =================================================================== internals: lifecycle

    function _createJob(JobParams calldata p) private returns (uint256 jobId) {
        _validate(p);
        (uint256 escrow, uint128 feePerReward) = escrowFor(p.rewardPerRound, p.rounds, p.maxWorkers);
        jobId = ++jobCount;
        _params[jobId] = p;
        JobState storage job = _jobs[jobId];
        job.poster = msg.sender;
        job.status = JobStatus.Open;
        job.bountyBps = challengeBountyBps;
        job.createdAt = uint64(block.timestamp);
        job.feePerReward = feePerReward;
        job.escrow = escrow;
        job.modelHash = p.initialModelHash;
        _jobPauseBase[jobId] = pausedTotal;
        emit JobCreated(jobId, msg.sender, p, escrow, feePerReward, uint64(block.timestamp) + p.joinWindow);
        _pull(msg.sender, escrow);
    }

    /// @dev Term codes in TermsOutOfBounds: 0 penalty, 1 commit window, 2 vote window,
    ///      3 challenge window, 4 bond below minBondToReward × reward, 5 bond above maxBondToReward × reward.
    function _validate(JobParams calldata p) private view {
        if (p.maxWorkers == 0 || p.maxWorkers > MAX_WORKERS || p.minWorkers == 0 || p.minWorkers > p.maxWorkers) {
            revert InvalidWorkerCount(p.minWorkers, p.maxWorkers, MAX_WORKERS);
        }
        if (p.rounds == 0 || p.rounds > MAX_ROUNDS) revert InvalidRounds(p.rounds);
        if (p.rewardPerRound == 0) revert ZeroReward();
        if (p.workerBond == 0 || p.challengeBond == 0) revert ZeroBond();
        if (p.specHash == bytes32(0) || p.initialModelHash == bytes32(0)) revert ZeroHash();
        if (p.quorumBps <= 5_000 || p.quorumBps > 10_000) revert InvalidQuorum(p.quorumBps);
        if (p.penaltyBps > 10_000) revert InvalidPenalty(p.penaltyBps);
        _checkWindow(p.joinWindow);
        _checkWindow(p.commitWindow);
        _checkWindow(p.voteWindow);
        _checkWindow(p.challengeWindow);
        Limits storage l = _limits;
        if (p.penaltyBps > l.maxPenaltyBps) revert TermsOutOfBounds(0);
        if (p.commitWindow < l.minCommitWindow) revert TermsOutOfBounds(1);
        if (p.voteWindow < l.minVoteWindow) revert TermsOutOfBounds(2);
        if (p.challengeWindow < l.minChallengeWindow) revert TermsOutOfBounds(3);
        if (p.workerBond < uint256(p.rewardPerRound) * l.minBondToReward) revert TermsOutOfBounds(4);
        if (p.workerBond > uint256(p.rewardPerRound) * l.maxBondToReward) revert TermsOutOfBounds(5);
    }

    function _checkWindow(uint32 w) private pure {
        if (w < MIN_WINDOW || w > MAX_WINDOW) revert InvalidWindow(w);
    }

    function _setLimits(Limits memory l) private {
        if (
            l.maxPenaltyBps > MAX_PENALTY_BPS || l.minCommitWindow < MIN_WINDOW || l.minVoteWindow < MIN_WINDOW
                || l.minChallengeWindow < MIN_WINDOW || l.minBondToReward > l.maxBondToReward
        ) revert InvalidLimits();
        _limits = l;
        emit LimitsUpdated(l);
    }

    function _start(uint256 jobId) private {
        JobState storage job = _jobs[jobId];
        job.status = JobStatus.Running;
        emit JobStarted(jobId, job.workerCount, job.escrow);
        _startRound(jobId, 0);
    }

    function _startRound(uint256 jobId, uint32 round) private {
        JobState storage job = _jobs[jobId];
        JobParams storage p = _params[jobId];
        job.currentRound = round;
        uint32 joining = _joiningMask[jobId];
        if (joining != 0) _activate(jobId, job, joining);
        uint64 deadline = uint64(block.timestamp) + p.commitWindow;
        _rounds[jobId][round] = RoundSlot({
            commitDeadline: uint40(deadline),
            voteDeadline: 0,
            committedMask: 0,
            votedMask: 0,
            closedAt: 0,
            status: RoundStatus.Active,
            quorumBps: p.quorumBps,
            pauseBase: pausedTotal
        });
        emit RoundStarted(jobId, round, job.modelHash, deadline);
    }

    /// @dev Workers who joined a running job become active as the next round starts.
    function _activate(uint256 jobId, JobState storage job, uint32 joining) private {
        _joiningMask[jobId] = 0;
        job.activeMask |= joining;
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        for (uint256 i; i < n; ++i) {
            if (joining & (uint32(1) << uint32(i)) != 0) _slots[jobId][workers[i]].active = true;
        }
        emit WorkersActivated(jobId, job.currentRound, joining);
    }

    function _finalize(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask, uint32 voters) private {
        RoundSlot storage rd = _rounds[jobId][round];
        uint32 active = _jobs[jobId].activeMask;
        uint32 dissenters = rd.votedMask & ~voters & active;
        rd.status = RoundStatus.Finalized;
        rd.closedAt = uint40(block.timestamp);
        _jobs[jobId].modelHash = modelHash;
        uint32 rewarded = active & includedMask & ~dissenters;
        uint256 paid = _payRound(jobId, rewarded);
        emit RoundFinalized(jobId, round, modelHash, includedMask, rewarded, paid);
        uint32 committed = rd.committedMask;
        if (dissenters != 0) _penalizeMask(jobId, round, dissenters, PenaltyReason.Dissent);
        uint32 excluded = active & committed & ~includedMask & ~dissenters;
        if (excluded != 0) _penalizeMask(jobId, round, excluded, PenaltyReason.Excluded);
        uint32 absent = active & ~committed;
        if (absent != 0) _penalizeMask(jobId, round, absent, PenaltyReason.Absent);
        _advance(jobId, round);
    }

    /// @dev After a round closed: complete the job, fail it, end a pending cancellation, or start the next round.
    function _advance(uint256 jobId, uint32 round) private {
        JobState storage job = _jobs[jobId];
        JobParams storage p = _params[jobId];
        bool finalized = _rounds[jobId][round].status == RoundStatus.Finalized;
        if (round + 1 == p.rounds) {
            _end(jobId, finalized ? JobStatus.Completed : JobStatus.Failed);
        } else if (cancelAt[jobId] != 0) {
            uint256 refund = job.escrow;
            _end(jobId, JobStatus.Cancelled);
            emit JobCancelled(jobId, round, 0, refund);
        } else if ((job.activeMask | _joiningMask[jobId]).count() < p.minWorkers) {
            _end(jobId, JobStatus.Failed);
        } else {
            _startRound(jobId, round + 1);
        }
    }

    /// @dev Cancels a running job: the round's active committers are paid for it, the rest refunded.
    function _executeCancel(uint256 jobId, uint32 round, RoundSlot storage rd) private {
        uint256 paid = _payRound(jobId, rd.committedMask & _jobs[jobId].activeMask);
        rd.status = RoundStatus.Aborted;
        uint256 refund = _jobs[jobId].escrow;
        _end(jobId, JobStatus.Cancelled);
        emit JobCancelled(jobId, round, paid, refund);
    }


    // =================================================================== internals: money

    /// @dev Rewards every worker in `mask` for one round: the reward accrues in its slot (released with
    ///      its bond), the fee on each goes to the treasury. Returns reward + fee paid out of escrow.
    function _payRound(uint256 jobId, uint32 mask) private returns (uint256 total) {
        if (mask == 0) return 0;
        JobState storage job = _jobs[jobId];
        uint256 count = _accrue(jobId, mask);
        uint256 fees = uint256(job.feePerReward) * count;
        if (fees != 0) _credit(treasury, jobId, CreditKind.Fee, fees);
        total = (uint256(_params[jobId].rewardPerRound) + job.feePerReward) * count;
        job.escrow -= total;
    }




    /// @dev Penalises every worker in `mask` (proceeds to the poster). Absentees are also removed from
    ///      the job, and so is any worker whose bond fell below half the job's `workerBond` (the
    ///      remaining bond must keep fraud costly).
    function _penalizeMask(uint256 jobId, uint32 round, uint32 mask, PenaltyReason reason) private {
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        uint256 bond = _params[jobId].workerBond;
        uint256 penalty = (bond * _params[jobId].penaltyBps) / 10_000;
        for (uint256 i; i < n; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            address worker = workers[i];
            WorkerSlot storage slot = _slots[jobId][worker];
            if (penalty != 0) {
                uint256 slashed = _slash(jobId, round, worker, slot, penalty, reason);
                if (slashed != 0) _credit(_jobs[jobId].poster, jobId, CreditKind.SlashProceeds, slashed);
            }
            if (reason == PenaltyReason.Absent) _remove(jobId, worker, slot, reason);
            else if (slot.active && uint256(slot.bond) * 2 < bond) _remove(jobId, worker, slot, PenaltyReason.LowBond);
        }
    }



    function _releaseAllBonds(uint256 jobId) private {
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        for (uint256 i; i < n; ++i) {
            WorkerSlot storage slot = _slots[jobId][workers[i]];
            if (!slot.bondReleased) _releaseBond(jobId, workers[i], slot);
        }
    }



    /// @dev Pulls tokens and rejects fee-on-transfer or otherwise non-standard tokens.
    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(amount, received);
    }

    // =================================================================== internals: checks and time


    /// @dev Reverts unless `sig` over `structHash` is by the caller's attestation key. The key the
    ///      market last verified for the worker in this job is checked first (no call); any other
    ///      signer must be the registry's current key, which then replaces it. A key rotation thus
    ///      takes effect in a running job at the worker's first commitment signed by the new key. Only
    ///      the provider can rotate its key and only its account can commit for it, so the key it
    ///      rotated away from gives nobody else any power (docs/contracts.md, "Attestation keys").
    function _verifyCommitment(WorkerSlot storage slot, bytes32 structHash, bytes calldata sig) private {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), sig);
        address known = slot.signer;
        if (err == ECDSA.RecoverError.NoError && recovered == known) return;
        address current = registry.attestationSignerOf(msg.sender);
        if (current == address(0)) revert NoAttestationKey(msg.sender);
        if (err != ECDSA.RecoverError.NoError || recovered != current) revert InvalidSignature(recovered, current);
        slot.signer = current;
    }



}
