// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITrainingMarket
/// @notice Escrowed training jobs run in DiLoCoX rounds by staked, attested workers.
interface ITrainingMarket {
    enum JobStatus {
        None,
        Open,
        Running,
        Completed,
        Cancelled,
        Failed
    }

    enum RoundStatus {
        None,
        Active,
        Finalized,
        Expired,
        Aborted
    }

    /// @notice Why a worker lost (part of) its bond or its place. NoVote: committed but did not vote
    ///         in a round that expired without quorum. WrongResult: voted a round result that referees
    ///         showed is not the deterministic aggregate. LowBond: bond fell below the job's minimum.
    enum PenaltyReason {
        Absent,
        Dissent,
        Excluded,
        Fraud,
        NoVote,
        WrongResult,
        LowBond
    }

    /// @notice Why an account's pull-payment balance was credited.
    enum CreditKind {
        Reward,
        Fee,
        Refund,
        SlashProceeds,
        ChallengeBondReturn,
        ChallengeBounty,
        ChallengeBondForfeit
    }

    /// @notice Everything a poster chooses when creating a job; immutable afterwards.
    /// @param specHash keccak-256 of the job spec blob (model, data, hyper-parameters).
    /// @param initialModelHash keccak-256 of the initial model blob (round 0's global model).
    /// @param rewardPerRound Paid to each accepted worker per finalized round.
    /// @param workerBond Stake each worker bonds for the job (slashable).
    /// @param challengeBond Bond a challenger posts in the dispute game (lost if the referees reject it).
    /// @param rounds Number of rounds to run (≥ 1).
    /// @param maxWorkers Workers wanted; the job starts when this many joined (1..MAX_WORKERS).
    /// @param minWorkers Fewest workers to start after the join window, and to keep running.
    /// @param quorumBps Share of committed workers that must agree on a result (5001..10000).
    /// @param penaltyBps Share of `workerBond` slashed for an absence, a dissenting vote or an excluded update.
    /// @param joinWindow Seconds after creation during which workers may join.
    /// @param commitWindow Seconds a round's commit phase lasts.
    /// @param voteWindow Seconds the result vote lasts after the commit phase closes.
    /// @param challengeWindow Seconds after a round closes during which its commitments and its result
    ///        may be challenged; rewards and bonds stay slashable until it has passed.
    struct JobParams {
        bytes32 specHash;
        bytes32 initialModelHash;
        uint128 rewardPerRound;
        uint128 workerBond;
        uint128 challengeBond;
        uint32 rounds;
        uint8 maxWorkers;
        uint8 minWorkers;
        uint16 quorumBps;
        uint16 penaltyBps;
        uint32 joinWindow;
        uint32 commitWindow;
        uint32 voteWindow;
        uint32 challengeWindow;
    }

    /// @notice A job's mutable state. `bountyBps` is the challenger's share of a fraud slash,
    ///         snapshotted at creation (governance changes never apply to existing jobs).
    struct JobState {
        address poster;
        JobStatus status;
        uint8 workerCount;
        uint32 activeMask;
        uint32 currentRound;
        uint16 bountyBps;
        uint64 createdAt;
        uint64 endedAt;
        uint128 feePerReward;
        uint256 escrow;
        bytes32 modelHash;
    }

    /// @notice One round's state; masks are indexed by a worker's join index. Deadlines as returned by
    ///         `roundOf` already include every pause that happened since the round started.
    struct Round {
        uint64 commitDeadline;
        uint64 voteDeadline;
        uint32 committedMask;
        uint32 votedMask;
        uint48 closedAt;
        RoundStatus status;
    }

    /// @notice A worker's place in one job. `paidRounds` counts rounds it was rewarded for; the
    ///         rewards stay in the market (slashable) until its bond is released. `signer` is the
    ///         attestation key the market last verified for this worker in this job (set at join,
    ///         replaced by the registry's current key when a commitment is signed by another key), so
    ///         that a commitment's signature check reads no other contract. The first slot holds what a
    ///         commitment reads; bond and removal time live in the second.
    struct WorkerSlot {
        uint8 index;
        bool joined;
        bool active;
        bool bondReleased;
        uint32 paidRounds;
        address signer;
        uint64 removedAt;
        uint128 bond;
    }

    /// @notice Protocol bounds on job terms, set by governance and checked when a job is created (so a
    ///         job's terms, once accepted, never change). Windows in seconds.
    /// @param maxPenaltyBps Highest `penaltyBps` (absence / dissent / excluded penalty).
    /// @param minCommitWindow Shortest commit window.
    /// @param minVoteWindow Shortest vote window.
    /// @param minChallengeWindow Shortest challenge window.
    /// @param minBondToReward Smallest `workerBond / rewardPerRound`.
    /// @param maxBondToReward Largest `workerBond / rewardPerRound`.
    struct Limits {
        uint16 maxPenaltyBps;
        uint32 minCommitWindow;
        uint32 minVoteWindow;
        uint32 minChallengeWindow;
        uint32 minBondToReward;
        uint64 maxBondToReward;
    }

    // ---- errors ----
    error ZeroAddress();
    error InvalidWorkerCount(uint8 minWorkers, uint8 maxWorkers, uint8 cap);
    error InvalidRounds(uint32 rounds);
    error ZeroReward();
    error ZeroBond();
    error ZeroHash();
    error InvalidWindow(uint32 window);
    error InvalidQuorum(uint16 quorumBps);
    error InvalidPenalty(uint16 penaltyBps);
    error InvalidFee(uint16 feeBps);
    error InvalidBounty(uint16 bountyBps);
    error UnsupportedToken(uint256 expected, uint256 received);
    error JobNotFound(uint256 jobId);
    error JobNotOpen(uint256 jobId);
    error JobNotRunning(uint256 jobId);
    error JobAlreadyEnded(uint256 jobId);
    error JoinWindowClosed(uint256 jobId);
    error JoinWindowOpen(uint256 jobId);
    error JobFull(uint256 jobId);
    error AlreadyJoined(uint256 jobId, address worker);
    error NotEnoughWorkers(uint8 workers, uint8 minimum);
    error ProviderNotRegistered(address provider);
    error NoAttestationKey(address provider);
    error NotPoster(uint256 jobId, address caller);
    error NotDisputeGame(address caller);
    error DuplicateUpdate(uint256 jobId, uint32 round, bytes32 updateHash);
    error TermsOutOfBounds(uint8 term);
    error InvalidLimits();
    error CancelPending(uint256 jobId, uint64 effectiveAt);
    error DisputesOpen(uint256 jobId, uint32 open);
    error RoundNotSettleable(uint256 jobId, uint32 round);
    error NothingReserved(uint256 jobId, uint32 round);
    error NotActiveWorker(uint256 jobId, address caller);
    error NotAWorker(uint256 jobId, address account);
    error WrongRound(uint32 given, uint32 current);
    error CommitPhaseClosed(uint256 jobId, uint32 round);
    error CommitPhaseOpen(uint256 jobId, uint32 round);
    error AlreadyCommitted(uint256 jobId, uint32 round, address worker);
    error NotCommitted(uint256 jobId, uint32 round, address worker);
    error AlreadyVoted(uint256 jobId, uint32 round, address worker);
    error VoteWindowClosed(uint256 jobId, uint32 round);
    error InvalidIncludedMask(uint32 includedMask, uint32 committedMask);
    error InvalidSignature(address recovered, address expected);
    error RoundNotExpired(uint256 jobId, uint32 round);
    error NoQuorum(uint256 jobId, uint32 round);
    error BondLockedUntil(uint64 until);
    error BondAlreadyReleased(uint256 jobId, address worker);
    error WorkerStillActive(uint256 jobId, address worker);
    error NothingToWithdraw(address account);

    // ---- events (the indexer rebuilds all state from these) ----
    event JobCreated(
        uint256 indexed jobId,
        address indexed poster,
        JobParams params,
        uint256 escrow,
        uint128 feePerReward,
        uint64 joinDeadline
    );
    event WorkerJoined(uint256 indexed jobId, address indexed worker, uint8 index, uint128 bond);
    /// @notice Workers who joined the running job during the previous round became active as `round` started.
    event WorkersActivated(uint256 indexed jobId, uint32 indexed round, uint32 mask);
    event JobStarted(uint256 indexed jobId, uint8 workerCount, uint256 escrow);
    event RoundStarted(uint256 indexed jobId, uint32 indexed round, bytes32 modelHash, uint64 commitDeadline);
    event UpdateCommitted(
        uint256 indexed jobId,
        uint32 indexed round,
        address indexed worker,
        bytes32 updateHash,
        bytes32 traceRoot,
        uint64 trainLoss
    );
    event VotingStarted(uint256 indexed jobId, uint32 indexed round, uint32 committedMask, uint64 voteDeadline);
    event ResultSubmitted(
        uint256 indexed jobId, uint32 indexed round, address indexed worker, bytes32 modelHash, uint32 includedMask
    );
    event RoundFinalized(
        uint256 indexed jobId,
        uint32 indexed round,
        bytes32 modelHash,
        uint32 includedMask,
        uint32 rewardedMask,
        uint256 totalPaid
    );
    event RoundExpired(uint256 indexed jobId, uint32 indexed round, uint32 committedMask, uint32 votedMask);
    event WorkerPenalized(
        uint256 indexed jobId, uint32 indexed round, address indexed worker, PenaltyReason reason, uint256 amount
    );
    event WorkerRemoved(uint256 indexed jobId, address indexed worker, PenaltyReason reason);
    event JobCompleted(uint256 indexed jobId, bytes32 finalModelHash, uint256 refund);
    event JobCancelled(uint256 indexed jobId, uint32 round, uint256 paidInFlight, uint256 refund);
    event JobFailed(uint256 indexed jobId, uint32 round, uint256 refund);
    event Credited(address indexed account, uint256 indexed jobId, CreditKind indexed kind, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event BondReleased(uint256 indexed jobId, address indexed worker, uint256 amount);
    event TreasuryUpdated(address treasury);
    event ProtocolFeeUpdated(uint16 feeBps);
    event ChallengeBountyUpdated(uint16 bountyBps);
    event LimitsUpdated(Limits limits);
    event DisputeGameUpdated(address game);
    event CancelRequested(uint256 indexed jobId, uint32 round, uint64 effectiveAt);
    /// @notice An expired round with votes set aside `reserved` of the escrow until referees settle it.
    event RoundReserved(uint256 indexed jobId, uint32 indexed round, uint256 reserved);
    /// @notice Referees established the correct result of an expired round.
    event RoundSettled(
        uint256 indexed jobId, uint32 indexed round, bytes32 modelHash, uint32 includedMask, uint32 paidMask, uint32 wrongMask
    );
    /// @notice Referees showed a finalized round's result is not the deterministic aggregate.
    event RoundOverturned(
        uint256 indexed jobId, uint32 indexed round, bytes32 modelHash, uint32 includedMask, uint32 wrongMask, uint32 honestMask
    );
    event ReserveReleased(uint256 indexed jobId, uint32 indexed round, uint256 refund);
    /// @notice A worker's round reward was taken back (fraud or wrong result) and refunded to the poster.
    event RewardClawedBack(uint256 indexed jobId, uint32 indexed round, address indexed worker, uint256 amount);
    event DisputeLock(uint256 indexed jobId, uint32 openDisputes);
}
