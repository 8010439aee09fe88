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

    enum ChallengeStatus {
        None,
        Open,
        Upheld,
        Rejected,
        Expired
    }

    /// @notice Why a worker lost (part of) its bond or its place. NoVote: committed but did not vote
    ///         in a round that expired without quorum.
    enum PenaltyReason {
        Absent,
        Dissent,
        Excluded,
        Fraud,
        NoVote
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
    /// @param arbiter Decides challenges for this job.
    /// @param rewardPerRound Paid to each accepted worker per finalized round.
    /// @param workerBond Stake each worker bonds for the job (slashable).
    /// @param challengeBond Bond a challenger posts (lost to the worker if rejected).
    /// @param rounds Number of rounds to run (≥ 1).
    /// @param maxWorkers Workers wanted; the job starts when this many joined (1..MAX_WORKERS).
    /// @param minWorkers Fewest workers to start after the join window, and to keep running.
    /// @param quorumBps Share of committed workers that must agree on a result (5001..10000).
    /// @param penaltyBps Share of `workerBond` slashed for an absence, a dissenting vote or an excluded update.
    /// @param joinWindow Seconds after creation during which workers may join.
    /// @param commitWindow Seconds a round's commit phase lasts.
    /// @param voteWindow Seconds the result vote lasts after the commit phase closes.
    /// @param challengeWindow Seconds after a round closes during which its commitments may be challenged.
    struct JobParams {
        bytes32 specHash;
        bytes32 initialModelHash;
        address arbiter;
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

    /// @notice A job's mutable state.
    struct JobState {
        address poster;
        JobStatus status;
        uint8 workerCount;
        uint32 activeMask;
        uint32 currentRound;
        uint64 createdAt;
        uint64 endedAt;
        uint128 feePerReward;
        uint256 escrow;
        bytes32 modelHash;
    }

    /// @notice One round's state; masks are indexed by a worker's join index.
    struct Round {
        uint64 commitDeadline;
        uint64 voteDeadline;
        uint32 committedMask;
        uint32 votedMask;
        uint48 closedAt;
        RoundStatus status;
    }

    /// @notice A worker's place in one job.
    struct WorkerSlot {
        uint8 index;
        bool joined;
        bool active;
        bool bondReleased;
        uint16 openChallenges;
        uint64 removedAt;
        uint128 bond;
    }

    struct Challenge {
        uint256 jobId;
        address worker;
        uint32 round;
        address challenger;
        uint64 openedAt;
        ChallengeStatus status;
        uint128 bond;
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
    error NotArbiter(uint256 jobId, address caller);
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
    error ChallengeWindowClosed(uint256 jobId, uint32 round);
    error ChallengeAlreadyOpen(uint256 jobId, uint32 round, address worker);
    error ChallengeNotFound(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error ArbitrationPeriodNotOver(uint64 until);
    error BondLockedUntil(uint64 until);
    error BondHasOpenChallenges(uint256 jobId, address worker, uint16 open);
    error BondAlreadyReleased(uint256 jobId, address worker);
    error WorkerStillActive(uint256 jobId, address worker);
    error NothingToWithdraw(address account);

    // ---- events (the indexer rebuilds all state from these) ----
    event JobCreated(
        uint256 indexed jobId,
        address indexed poster,
        address indexed arbiter,
        JobParams params,
        uint256 escrow,
        uint128 feePerReward,
        uint64 joinDeadline
    );
    event WorkerJoined(uint256 indexed jobId, address indexed worker, uint8 index, uint128 bond);
    event JobStarted(uint256 indexed jobId, uint8 workerCount, uint256 refundedUnusedSlots, uint256 escrow);
    event RoundStarted(uint256 indexed jobId, uint32 indexed round, bytes32 modelHash, uint64 commitDeadline);
    event UpdateCommitted(
        uint256 indexed jobId, uint32 indexed round, address indexed worker, bytes32 updateHash, uint64 trainLoss
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
    event ChallengeOpened(
        uint256 indexed challengeId,
        uint256 indexed jobId,
        uint32 round,
        address indexed worker,
        address challenger,
        uint128 bond
    );
    event ChallengeResolved(
        uint256 indexed challengeId, ChallengeStatus status, uint256 slashed, uint256 bounty, uint256 bondPaidOut
    );
    event BondReleased(uint256 indexed jobId, address indexed worker, uint256 amount);
    event TreasuryUpdated(address treasury);
    event ProtocolFeeUpdated(uint16 feeBps);
    event ChallengeBountyUpdated(uint16 bountyBps);
    event ArbitrationPeriodUpdated(uint64 period);
}
