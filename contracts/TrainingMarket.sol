// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "./interfaces/ITrainingMarket.sol";
import {Bitmask} from "./libraries/Bitmask.sol";

/// @title TrainingMarket
/// @notice Escrowed DiLoCoX training jobs. A poster locks `rounds × maxWorkers × (reward + fee)`;
///         staked providers join with a bond; every round each worker commits the hash of its
///         compressed pseudo-gradient (signed by its attestation key), then votes the hash of the
///         aggregated model together with the mask of updates it included. A quorum of committed
///         workers finalizes the round: included, non-dissenting workers are credited, others are
///         penalised from their bond, and the global model hash advances.
/// @dev Accounting invariant: `token.balanceOf(this) == Σ job.escrow (live jobs) + Σ balanceOf + Σ open
///      challenge bonds`. All payouts are credits withdrawn with `withdraw()` (pull payments). Loops
///      run over a job's workers only, bounded by MAX_WORKERS. Pausing stops new business and the
///      round protocol; cancelling, withdrawing, releasing bonds and settling challenges stay open,
///      and absences in a round interrupted by a pause are not penalised.
contract TrainingMarket is ITrainingMarket, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;
    using Bitmask for uint32;

    /// @notice Role allowed to pause and unpause.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Most workers in one job (the masks are 32-bit).
    uint8 public constant MAX_WORKERS = 32;
    /// @notice Most rounds in one job.
    uint32 public constant MAX_ROUNDS = 1_000_000;
    /// @notice Shortest and longest phase windows.
    uint32 public constant MIN_WINDOW = 10;
    uint32 public constant MAX_WINDOW = 30 days;
    /// @notice Highest protocol fee (10%).
    uint16 public constant MAX_FEE_BPS = 1_000;

    /// @notice EIP-712 type of a worker's round commitment.
    bytes32 public constant ROUND_UPDATE_TYPEHASH =
        keccak256("RoundUpdate(uint256 jobId,uint32 round,bytes32 updateHash,uint64 trainLoss,address worker)");
    /// @notice EIP-712 type of a worker's result vote.
    bytes32 public constant ROUND_RESULT_TYPEHASH =
        keccak256("RoundResult(uint256 jobId,uint32 round,bytes32 modelHash,uint32 includedMask,address worker)");

    IProviderRegistry public immutable registry;
    IERC20 public immutable token;

    /// @notice Receives protocol fees.
    address public treasury;
    /// @notice Protocol fee on each reward paid, for jobs created from now on.
    uint16 public protocolFeeBps;
    /// @notice Share of a slashed bond paid to the challenger of an upheld challenge.
    uint16 public challengeBountyBps;
    /// @notice After this long an undecided challenge can be expired (challenger refunded, no slash).
    uint64 public arbitrationPeriod;
    /// @notice Last time the market was paused / unpaused.
    uint64 public lastPausedAt;
    uint64 public lastUnpausedAt;

    uint256 public jobCount;
    uint256 public challengeCount;

    mapping(uint256 jobId => JobParams) private _params;
    mapping(uint256 jobId => JobState) private _jobs;
    mapping(uint256 jobId => address[]) private _workers;
    mapping(uint256 jobId => mapping(address worker => WorkerSlot)) private _slots;
    mapping(uint256 jobId => mapping(uint32 round => Round)) private _rounds;
    /// @dev keccak(jobId, round, modelHash, includedMask) => mask of workers that voted for it.
    mapping(bytes32 voteKey => uint32 voterMask) private _tally;
    mapping(uint256 challengeId => Challenge) private _challenges;
    /// @notice keccak(jobId, round, worker) => open challenge id (0 if none).
    mapping(bytes32 key => uint256 challengeId) public openChallengeOf;
    /// @notice Pull-payment balances.
    mapping(address account => uint256) public balanceOf;

    /// @param registry_ The provider registry; its stake token is this market's payment token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE.
    /// @param treasury_ Receives protocol fees.
    /// @param feeBps Protocol fee in basis points of each reward.
    /// @param bountyBps Challenger's share of a slashed bond.
    /// @param arbitrationPeriod_ Seconds an arbiter has to decide a challenge.
    constructor(
        IProviderRegistry registry_,
        address admin,
        address treasury_,
        uint16 feeBps,
        uint16 bountyBps,
        uint64 arbitrationPeriod_
    ) EIP712("TrainingMarket", "1") {
        if (address(registry_) == address(0) || admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (feeBps > MAX_FEE_BPS) revert InvalidFee(feeBps);
        if (bountyBps > 10_000) revert InvalidBounty(bountyBps);
        if (arbitrationPeriod_ < MIN_WINDOW || arbitrationPeriod_ > MAX_WINDOW) {
            revert InvalidWindow(uint32(arbitrationPeriod_ > type(uint32).max ? type(uint32).max : arbitrationPeriod_));
        }
        registry = registry_;
        token = IERC20(registry_.stakeToken());
        treasury = treasury_;
        protocolFeeBps = feeBps;
        challengeBountyBps = bountyBps;
        arbitrationPeriod = arbitrationPeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit TreasuryUpdated(treasury_);
        emit ProtocolFeeUpdated(feeBps);
        emit ChallengeBountyUpdated(bountyBps);
        emit ArbitrationPeriodUpdated(arbitrationPeriod_);
    }

    // =================================================================== job lifecycle

    /// @notice Creates a job and pulls its escrow (`rounds × maxWorkers × (reward + fee)`) from the caller.
    /// @param p The job's parameters (validated; see JobParams).
    /// @return jobId The new job's id (ids start at 1).
    function createJob(JobParams calldata p) external nonReentrant whenNotPaused returns (uint256 jobId) {
        return _createJob(p);
    }

    /// @notice Like `createJob`, approving the escrow with an EIP-2612 permit first.
    /// @dev A failing permit is ignored (it may have been front-run); the transfer then needs an allowance.
    function createJobWithPermit(JobParams calldata p, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 jobId)
    {
        (uint256 escrow,) = escrowFor(p.rewardPerRound, p.rounds, p.maxWorkers);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), escrow, deadline, v, r, s) {} catch {}
        return _createJob(p);
    }

    /// @notice Joins an open job as a worker, bonding `workerBond` of the caller's free stake.
    ///         The job starts as soon as it has `maxWorkers` workers.
    function joinJob(uint256 jobId) external nonReentrant whenNotPaused {
        JobParams storage p = _params[jobId];
        JobState storage job = _job(jobId);
        if (job.workerCount >= p.maxWorkers) revert JobFull(jobId);
        if (job.status != JobStatus.Open) revert JobNotOpen(jobId);
        if (block.timestamp > job.createdAt + p.joinWindow) revert JoinWindowClosed(jobId);
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (slot.joined) revert AlreadyJoined(jobId, msg.sender);
        if (!registry.isRegistered(msg.sender)) revert ProviderNotRegistered(msg.sender);
        if (registry.attestationSignerOf(msg.sender) == address(0)) revert NoAttestationKey(msg.sender);

        uint8 index = job.workerCount;
        slot.index = index;
        slot.joined = true;
        slot.active = true;
        slot.bond = p.workerBond;
        _workers[jobId].push(msg.sender);
        job.workerCount = index + 1;
        job.activeMask |= Bitmask.bit(index);
        emit WorkerJoined(jobId, msg.sender, index, p.workerBond);

        registry.lockBond(msg.sender, p.workerBond);
        if (index + 1 == p.maxWorkers) _start(jobId);
    }

    /// @notice After the join window, starts a job that has at least `minWorkers` workers;
    ///         anyone may call it. Escrow for the unfilled slots is refunded to the poster.
    function startJob(uint256 jobId) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Open) revert JobNotOpen(jobId);
        JobParams storage p = _params[jobId];
        if (block.timestamp <= job.createdAt + p.joinWindow) revert JoinWindowOpen(jobId);
        if (job.workerCount < p.minWorkers) revert NotEnoughWorkers(job.workerCount, p.minWorkers);
        _start(jobId);
    }

    /// @notice Commits the caller's round update: `updateHash` is the keccak-256 of the compressed
    ///         pseudo-gradient blob, `trainLoss` the mean inner-loop loss × 1e6, and `sig` an EIP-712
    ///         `RoundUpdate` signature by the caller's current attestation key.
    function commitUpdate(uint256 jobId, uint32 round, bytes32 updateHash, uint64 trainLoss, bytes calldata sig)
        external
        whenNotPaused
    {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        if (round != job.currentRound) revert WrongRound(round, job.currentRound);
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (!slot.active) revert NotActiveWorker(jobId, msg.sender);
        Round storage rd = _rounds[jobId][round];
        if (rd.voteDeadline != 0 || block.timestamp > rd.commitDeadline) revert CommitPhaseClosed(jobId, round);
        uint32 bit = Bitmask.bit(slot.index);
        if (rd.committedMask & bit != 0) revert AlreadyCommitted(jobId, round, msg.sender);
        if (updateHash == bytes32(0)) revert ZeroHash();
        _verify(
            keccak256(abi.encode(ROUND_UPDATE_TYPEHASH, jobId, round, updateHash, trainLoss, msg.sender)), sig
        );

        uint32 committed = rd.committedMask | bit;
        rd.committedMask = committed;
        emit UpdateCommitted(jobId, round, msg.sender, updateHash, trainLoss);
        uint32 active = job.activeMask;
        if (committed & active == active) {
            uint64 voteDeadline = uint64(block.timestamp) + _params[jobId].voteWindow;
            rd.voteDeadline = voteDeadline;
            emit VotingStarted(jobId, round, committed, voteDeadline);
        }
    }

    /// @notice Votes the hash of the aggregated model for `round` and the mask of commitments the
    ///         caller included (updates whose blob matched its hash and decoded). `sig` is an EIP-712
    ///         `RoundResult` signature by the caller's attestation key. Finalizes the round as soon as
    ///         a quorum of committed workers agrees on the same (modelHash, includedMask).
    function submitResult(
        uint256 jobId,
        uint32 round,
        bytes32 modelHash,
        uint32 includedMask,
        bytes calldata sig
    ) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        if (round != job.currentRound) revert WrongRound(round, job.currentRound);
        WorkerSlot storage slot = _slots[jobId][msg.sender];
        if (!slot.active) revert NotActiveWorker(jobId, msg.sender);
        Round storage rd = _rounds[jobId][round];
        JobParams storage p = _params[jobId];
        if (rd.voteDeadline == 0) {
            if (block.timestamp <= rd.commitDeadline) revert CommitPhaseOpen(jobId, round);
            if (block.timestamp > rd.commitDeadline + p.voteWindow) revert VoteWindowClosed(jobId, round);
        } else if (block.timestamp > rd.voteDeadline) {
            revert VoteWindowClosed(jobId, round);
        }
        uint32 bit = Bitmask.bit(slot.index);
        uint32 committed = rd.committedMask;
        if (committed & bit == 0) revert NotCommitted(jobId, round, msg.sender);
        if (rd.votedMask & bit != 0) revert AlreadyVoted(jobId, round, msg.sender);
        if (modelHash == bytes32(0)) revert ZeroHash();
        if (includedMask == 0 || includedMask & ~committed != 0) revert InvalidIncludedMask(includedMask, committed);
        _verify(
            keccak256(abi.encode(ROUND_RESULT_TYPEHASH, jobId, round, modelHash, includedMask, msg.sender)), sig
        );

        rd.votedMask |= bit;
        bytes32 key = keccak256(abi.encode(jobId, round, modelHash, includedMask));
        uint32 voters = _tally[key] | bit;
        _tally[key] = voters;
        emit ResultSubmitted(jobId, round, msg.sender, modelHash, includedMask);

        uint32 active = job.activeMask;
        if ((voters & active).count() * 10_000 >= uint256(p.quorumBps) * (committed & active).count()) {
            _finalize(jobId, round, modelHash, includedMask, voters);
        }
    }

    /// @notice Finalizes the current round with the outcome (modelHash, includedMask) when the votes
    ///         already cast for it reach the quorum over the workers still active; anyone may call it.
    ///         Needed when a quorum becomes reachable without a further vote (an upheld challenge
    ///         removed a worker that had not voted yet).
    function finalizeRound(uint256 jobId, bytes32 modelHash, uint32 includedMask) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(jobId);
        uint32 round = job.currentRound;
        Round storage rd = _rounds[jobId][round];
        if (rd.voteDeadline == 0 && block.timestamp <= rd.commitDeadline) revert CommitPhaseOpen(jobId, round);
        uint32 voters = _tally[keccak256(abi.encode(jobId, round, modelHash, includedMask))];
        uint32 active = job.activeMask;
        uint256 committed = (rd.committedMask & active).count();
        if (committed == 0 || (voters & active).count() * 10_000 < uint256(_params[jobId].quorumBps) * committed) {
            revert NoQuorum(jobId, round);
        }
        _finalize(jobId, round, modelHash, includedMask, voters);
    }

    /// @notice Moves a stuck job forward; anyone may call it.
    ///         - Open job past its join window: starts it (enough workers) or fails it with a full refund.
    ///         - Running job whose round's commit phase ended with no commitment, or whose vote window
    ///           ended without quorum: absentees are penalised and removed, no reward is paid for the
    ///           round, and the next round starts from the same model (or the job fails when it was
    ///           the last round or too few workers remain).
    function expireRound(uint256 jobId) external nonReentrant whenNotPaused {
        JobState storage job = _job(jobId);
        JobParams storage p = _params[jobId];
        if (job.status == JobStatus.Open) {
            if (block.timestamp <= job.createdAt + p.joinWindow) revert JoinWindowOpen(jobId);
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
        Round storage rd = _rounds[jobId][round];
        bool noCommitAfterDeadline = rd.committedMask == 0 && block.timestamp > rd.commitDeadline;
        uint64 voteDeadline = rd.voteDeadline == 0 ? rd.commitDeadline + p.voteWindow : rd.voteDeadline;
        if (!noCommitAfterDeadline && block.timestamp <= voteDeadline) revert RoundNotExpired(jobId, round);

        uint32 absent = job.activeMask & ~rd.committedMask;
        uint32 silent = job.activeMask & rd.committedMask & ~rd.votedMask;
        if (absent != 0) _penalizeMask(jobId, round, absent, PenaltyReason.Absent);
        if (silent != 0) _penalizeMask(jobId, round, silent, PenaltyReason.NoVote);
        rd.status = RoundStatus.Expired;
        rd.closedAt = uint48(block.timestamp);
        emit RoundExpired(jobId, round, rd.committedMask, rd.votedMask);
        _advance(jobId, round);
    }

    /// @notice Cancels the caller's job. Before it starts: everything is refunded and bonds are
    ///         released. While running: workers that committed in the round in flight are paid for
    ///         it, the unfinished rounds are refunded, and bonds stay slashable for the challenge window.
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
        uint32 round = job.currentRound;
        Round storage rd = _rounds[jobId][round];
        JobParams storage p = _params[jobId];
        uint256 voteDeadline = rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + p.voteWindow;
        // The round in flight is paid to its committers, unless it is already stuck past its vote deadline.
        uint32 paidMask = block.timestamp <= voteDeadline ? rd.committedMask & job.activeMask : 0;
        uint256 paid = _payRewards(jobId, round, paidMask);
        rd.status = RoundStatus.Aborted;
        uint256 refund = job.escrow;
        _end(jobId, JobStatus.Cancelled);
        emit JobCancelled(jobId, round, paid, refund);
    }

    // =================================================================== challenges

    /// @notice Challenges `worker`'s commitment in `round` (e.g. a replay audit gave another hash),
    ///         posting the job's challenge bond. Open from the commitment until `challengeWindow`
    ///         after the round closed. The job's arbiter decides.
    /// @return challengeId The new challenge's id (ids start at 1).
    function challenge(uint256 jobId, uint32 round, address worker)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        _job(jobId);
        WorkerSlot storage slot = _slots[jobId][worker];
        if (!slot.joined) revert NotAWorker(jobId, worker);
        Round storage rd = _rounds[jobId][round];
        if (rd.committedMask & Bitmask.bit(slot.index) == 0) revert NotCommitted(jobId, round, worker);
        JobParams storage p = _params[jobId];
        if (rd.closedAt != 0 && block.timestamp > uint256(rd.closedAt) + p.challengeWindow) {
            revert ChallengeWindowClosed(jobId, round);
        }
        bytes32 key = keccak256(abi.encode(jobId, round, worker));
        if (openChallengeOf[key] != 0) revert ChallengeAlreadyOpen(jobId, round, worker);

        challengeId = ++challengeCount;
        uint128 bond = p.challengeBond;
        _challenges[challengeId] = Challenge({
            jobId: jobId,
            worker: worker,
            round: round,
            challenger: msg.sender,
            openedAt: uint64(block.timestamp),
            status: ChallengeStatus.Open,
            bond: bond
        });
        openChallengeOf[key] = challengeId;
        slot.openChallenges += 1;
        emit ChallengeOpened(challengeId, jobId, round, worker, msg.sender, bond);
        _pull(msg.sender, bond);
    }

    /// @notice The job's arbiter decides a challenge. Upheld: the worker's remaining bond is slashed
    ///         to the poster, the challenger gets its bond back plus `challengeBountyBps` of the slash,
    ///         and the worker is removed from the job. Rejected: the challenger's bond goes to the worker.
    function resolveChallenge(uint256 challengeId, bool upheld) external nonReentrant {
        Challenge storage c = _openChallenge(challengeId);
        uint256 jobId = c.jobId;
        if (msg.sender != _params[jobId].arbiter) revert NotArbiter(jobId, msg.sender);
        WorkerSlot storage slot = _closeChallenge(c);
        uint256 slashed;
        uint256 bounty;
        if (upheld) {
            c.status = ChallengeStatus.Upheld;
            slashed = _slash(jobId, c.round, c.worker, slot, slot.bond, PenaltyReason.Fraud);
            bounty = (slashed * challengeBountyBps) / 10_000;
            _credit(c.challenger, jobId, CreditKind.ChallengeBondReturn, c.bond);
            _credit(c.challenger, jobId, CreditKind.ChallengeBounty, bounty);
            _credit(_jobs[jobId].poster, jobId, CreditKind.SlashProceeds, slashed - bounty);
            if (slot.active) _remove(jobId, c.worker, slot, PenaltyReason.Fraud);
            emit ChallengeResolved(challengeId, ChallengeStatus.Upheld, slashed, bounty, c.bond);
        } else {
            c.status = ChallengeStatus.Rejected;
            _credit(c.worker, jobId, CreditKind.ChallengeBondForfeit, c.bond);
            emit ChallengeResolved(challengeId, ChallengeStatus.Rejected, 0, 0, c.bond);
        }
    }

    /// @notice Closes a challenge the arbiter left undecided for `arbitrationPeriod`: the challenger
    ///         is refunded and nothing is slashed. Anyone may call it.
    function expireChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage c = _openChallenge(challengeId);
        uint64 until = c.openedAt + arbitrationPeriod;
        if (block.timestamp <= until) revert ArbitrationPeriodNotOver(until);
        _closeChallenge(c);
        c.status = ChallengeStatus.Expired;
        _credit(c.challenger, c.jobId, CreditKind.ChallengeBondReturn, c.bond);
        emit ChallengeResolved(challengeId, ChallengeStatus.Expired, 0, 0, c.bond);
    }

    // =================================================================== bonds and payments

    /// @notice Releases `worker`'s remaining bond for `jobId` back to its free stake once the job
    ///         ended (or the worker was removed), the challenge window has passed and no challenge
    ///         against it is open. Anyone may call it.
    function releaseBond(uint256 jobId, address worker) external nonReentrant {
        JobState storage job = _job(jobId);
        WorkerSlot storage slot = _slots[jobId][worker];
        if (!slot.joined) revert NotAWorker(jobId, worker);
        if (slot.bondReleased) revert BondAlreadyReleased(jobId, worker);
        uint64 since;
        if (job.endedAt != 0) since = job.endedAt;
        else if (!slot.active) since = slot.removedAt;
        else revert WorkerStillActive(jobId, worker);
        uint64 until = since + _params[jobId].challengeWindow;
        if (block.timestamp <= until) revert BondLockedUntil(until);
        if (slot.openChallenges != 0) revert BondHasOpenChallenges(jobId, worker, slot.openChallenges);
        _releaseBond(jobId, worker, slot);
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

    /// @notice Sets the challenger's share of a slashed bond.
    function setChallengeBounty(uint16 bountyBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bountyBps > 10_000) revert InvalidBounty(bountyBps);
        challengeBountyBps = bountyBps;
        emit ChallengeBountyUpdated(bountyBps);
    }

    /// @notice Sets how long arbiters have to decide a challenge.
    function setArbitrationPeriod(uint64 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (period < MIN_WINDOW || period > MAX_WINDOW) revert InvalidWindow(uint32(period > MAX_WINDOW ? MAX_WINDOW : period));
        arbitrationPeriod = period;
        emit ArbitrationPeriodUpdated(period);
    }

    /// @notice Stops job creation, joins and the round protocol (challenges stay open, so that
    ///         challenge windows running during a pause remain usable).
    function pause() external onlyRole(PAUSER_ROLE) {
        lastPausedAt = uint64(block.timestamp);
        _pause();
    }

    /// @notice Lifts a pause; absences in rounds it interrupted go unpenalised.
    function unpause() external onlyRole(PAUSER_ROLE) {
        lastUnpausedAt = uint64(block.timestamp);
        _unpause();
    }

    // =================================================================== views

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

    function roundOf(uint256 jobId, uint32 round) external view returns (Round memory) {
        return _rounds[jobId][round];
    }

    function workersOf(uint256 jobId) external view returns (address[] memory) {
        return _workers[jobId];
    }

    function workerSlot(uint256 jobId, address worker) external view returns (WorkerSlot memory) {
        return _slots[jobId][worker];
    }

    function challengeOf(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
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
        job.createdAt = uint64(block.timestamp);
        job.feePerReward = feePerReward;
        job.escrow = escrow;
        job.modelHash = p.initialModelHash;
        emit JobCreated(jobId, msg.sender, p.arbiter, p, escrow, feePerReward, uint64(block.timestamp) + p.joinWindow);
        _pull(msg.sender, escrow);
    }

    function _validate(JobParams calldata p) private pure {
        if (p.maxWorkers == 0 || p.maxWorkers > MAX_WORKERS || p.minWorkers == 0 || p.minWorkers > p.maxWorkers) {
            revert InvalidWorkerCount(p.minWorkers, p.maxWorkers, MAX_WORKERS);
        }
        if (p.rounds == 0 || p.rounds > MAX_ROUNDS) revert InvalidRounds(p.rounds);
        if (p.rewardPerRound == 0) revert ZeroReward();
        if (p.workerBond == 0 || p.challengeBond == 0) revert ZeroBond();
        if (p.specHash == bytes32(0) || p.initialModelHash == bytes32(0)) revert ZeroHash();
        if (p.arbiter == address(0)) revert ZeroAddress();
        if (p.quorumBps <= 5_000 || p.quorumBps > 10_000) revert InvalidQuorum(p.quorumBps);
        if (p.penaltyBps > 10_000) revert InvalidPenalty(p.penaltyBps);
        _checkWindow(p.joinWindow);
        _checkWindow(p.commitWindow);
        _checkWindow(p.voteWindow);
        _checkWindow(p.challengeWindow);
    }

    function _checkWindow(uint32 w) private pure {
        if (w < MIN_WINDOW || w > MAX_WINDOW) revert InvalidWindow(w);
    }

    function _start(uint256 jobId) private {
        JobState storage job = _jobs[jobId];
        JobParams storage p = _params[jobId];
        uint256 unused = uint256(p.maxWorkers - job.workerCount) * p.rounds * (uint256(p.rewardPerRound) + job.feePerReward);
        if (unused != 0) {
            job.escrow -= unused;
            _credit(job.poster, jobId, CreditKind.Refund, unused);
        }
        job.status = JobStatus.Running;
        emit JobStarted(jobId, job.workerCount, unused, job.escrow);
        _startRound(jobId, 0);
    }

    function _startRound(uint256 jobId, uint32 round) private {
        JobState storage job = _jobs[jobId];
        job.currentRound = round;
        uint64 deadline = uint64(block.timestamp) + _params[jobId].commitWindow;
        _rounds[jobId][round] = Round({
            commitDeadline: deadline,
            voteDeadline: 0,
            committedMask: 0,
            votedMask: 0,
            closedAt: 0,
            status: RoundStatus.Active
        });
        emit RoundStarted(jobId, round, job.modelHash, deadline);
    }

    function _finalize(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask, uint32 voters) private {
        Round storage rd = _rounds[jobId][round];
        uint32 active = _jobs[jobId].activeMask;
        uint32 dissenters = rd.votedMask & ~voters & active;
        rd.status = RoundStatus.Finalized;
        rd.closedAt = uint48(block.timestamp);
        _jobs[jobId].modelHash = modelHash;
        _settleRound(jobId, round, modelHash, includedMask, active & includedMask & ~dissenters);
        _penalizeRound(jobId, round, rd, active, dissenters, includedMask);
        _advance(jobId, round);
    }

    function _settleRound(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask, uint32 rewarded)
        private
    {
        uint256 paid = _payRewards(jobId, round, rewarded);
        emit RoundFinalized(jobId, round, modelHash, includedMask, rewarded, paid);
    }

    /// @dev Penalises a finalized round's dissenters, excluded committers and absentees (removed).
    function _penalizeRound(
        uint256 jobId,
        uint32 round,
        Round storage rd,
        uint32 active,
        uint32 dissenters,
        uint32 includedMask
    ) private {
        uint32 committed = rd.committedMask;
        if (dissenters != 0) _penalizeMask(jobId, round, dissenters, PenaltyReason.Dissent);
        uint32 excluded = active & committed & ~includedMask & ~dissenters;
        if (excluded != 0) _penalizeMask(jobId, round, excluded, PenaltyReason.Excluded);
        uint32 absent = active & ~committed;
        if (absent != 0) _penalizeMask(jobId, round, absent, PenaltyReason.Absent);
    }

    /// @dev After a round closed: complete the job, fail it, or start the next round.
    function _advance(uint256 jobId, uint32 round) private {
        JobState storage job = _jobs[jobId];
        JobParams storage p = _params[jobId];
        bool finalized = _rounds[jobId][round].status == RoundStatus.Finalized;
        if (round + 1 == p.rounds) {
            _end(jobId, finalized ? JobStatus.Completed : JobStatus.Failed);
        } else if (job.activeMask.count() < p.minWorkers) {
            _end(jobId, JobStatus.Failed);
        } else {
            _startRound(jobId, round + 1);
        }
    }

    /// @dev Ends a job: refunds the remaining escrow to the poster and closes the round in flight.
    function _end(uint256 jobId, JobStatus status) private {
        JobState storage job = _jobs[jobId];
        uint32 round = job.currentRound;
        Round storage rd = _rounds[jobId][round];
        if (rd.status == RoundStatus.Active) rd.status = RoundStatus.Aborted;
        if (rd.status != RoundStatus.None && rd.closedAt == 0) rd.closedAt = uint48(block.timestamp);
        uint256 refund = job.escrow;
        job.escrow = 0;
        job.status = status;
        job.endedAt = uint64(block.timestamp);
        if (refund != 0) _credit(job.poster, jobId, CreditKind.Refund, refund);
        if (status == JobStatus.Completed) emit JobCompleted(jobId, job.modelHash, refund);
        else if (status == JobStatus.Failed) emit JobFailed(jobId, round, refund);
    }

    // =================================================================== internals: money

    /// @dev Credits `rewardPerRound` to every worker in `mask` and the fee on each to the treasury.
    function _payRewards(uint256 jobId, uint32 round, uint32 mask) private returns (uint256 total) {
        if (mask == 0) return 0;
        JobState storage job = _jobs[jobId];
        uint256 reward = _params[jobId].rewardPerRound;
        uint256 fee = job.feePerReward;
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        uint256 count;
        for (uint256 i; i < n; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            _credit(workers[i], jobId, CreditKind.Reward, reward);
            ++count;
        }
        round; // the round is carried by RoundFinalized / JobCancelled
        uint256 fees = fee * count;
        if (fees != 0) _credit(treasury, jobId, CreditKind.Fee, fees);
        total = (reward + fee) * count;
        job.escrow -= total;
    }

    /// @dev Penalises every worker in `mask`. Absentees are also removed from the job, and are not
    ///      slashed when the round was interrupted by a pause (they may have been unable to act).
    function _penalizeMask(uint256 jobId, uint32 round, uint32 mask, PenaltyReason reason) private {
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        bool absent = reason == PenaltyReason.Absent;
        uint256 penalty = (uint256(_params[jobId].workerBond) * _params[jobId].penaltyBps) / 10_000;
        if ((absent || reason == PenaltyReason.NoVote) && _interruptedByPause(_rounds[jobId][round], _params[jobId])) {
            penalty = 0;
        }
        for (uint256 i; i < n; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            address worker = workers[i];
            WorkerSlot storage slot = _slots[jobId][worker];
            if (penalty != 0) {
                uint256 slashed = _slash(jobId, round, worker, slot, penalty, reason);
                if (slashed != 0) _credit(_jobs[jobId].poster, jobId, CreditKind.SlashProceeds, slashed);
            }
            if (absent) _remove(jobId, worker, slot, reason);
        }
    }

    /// @dev Slashes up to `amount` of a worker's bond in this job; the tokens arrive in this contract.
    function _slash(uint256 jobId, uint32 round, address worker, WorkerSlot storage slot, uint256 amount, PenaltyReason reason)
        private
        returns (uint256 slashed)
    {
        uint256 bond = slot.bond;
        if (amount > bond) amount = bond;
        if (amount == 0 || slot.bondReleased) return 0;
        slot.bond = uint128(bond - amount);
        slashed = registry.slash(worker, amount);
        emit WorkerPenalized(jobId, round, worker, reason, slashed);
    }

    function _remove(uint256 jobId, address worker, WorkerSlot storage slot, PenaltyReason reason) private {
        slot.active = false;
        slot.removedAt = uint64(block.timestamp);
        _jobs[jobId].activeMask &= ~Bitmask.bit(slot.index);
        emit WorkerRemoved(jobId, worker, reason);
    }

    function _releaseAllBonds(uint256 jobId) private {
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        for (uint256 i; i < n; ++i) {
            WorkerSlot storage slot = _slots[jobId][workers[i]];
            if (!slot.bondReleased) _releaseBond(jobId, workers[i], slot);
        }
    }

    function _releaseBond(uint256 jobId, address worker, WorkerSlot storage slot) private {
        uint256 amount = slot.bond;
        slot.bondReleased = true;
        slot.bond = 0;
        emit BondReleased(jobId, worker, amount);
        if (amount != 0) registry.releaseBond(worker, amount);
    }

    function _credit(address account, uint256 jobId, CreditKind kind, uint256 amount) private {
        if (amount == 0) return;
        balanceOf[account] += amount;
        emit Credited(account, jobId, kind, amount);
    }

    /// @dev Pulls tokens and rejects fee-on-transfer or otherwise non-standard tokens.
    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(amount, received);
    }

    // =================================================================== internals: checks

    function _job(uint256 jobId) private view returns (JobState storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobNotFound(jobId);
    }

    /// @dev Reverts unless `sig` over `structHash` is by the caller's current attestation key.
    function _verify(bytes32 structHash, bytes calldata sig) private view {
        address expected = registry.attestationSignerOf(msg.sender);
        if (expected == address(0)) revert NoAttestationKey(msg.sender);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), sig);
        if (err != ECDSA.RecoverError.NoError || recovered != expected) revert InvalidSignature(recovered, expected);
    }

    /// @dev True when the last pause overlapped the round's commit and vote windows.
    function _interruptedByPause(Round storage rd, JobParams storage p) private view returns (bool) {
        if (lastUnpausedAt == 0) return false;
        uint256 start = uint256(rd.commitDeadline) - p.commitWindow;
        uint256 end = rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + p.voteWindow;
        return lastUnpausedAt > start && lastPausedAt <= end;
    }

    function _openChallenge(uint256 challengeId) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.status == ChallengeStatus.None) revert ChallengeNotFound(challengeId);
        if (c.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
    }

    function _closeChallenge(Challenge storage c) private returns (WorkerSlot storage slot) {
        slot = _slots[c.jobId][c.worker];
        slot.openChallenges -= 1;
        delete openChallengeOf[keccak256(abi.encode(c.jobId, c.round, c.worker))];
    }
}
