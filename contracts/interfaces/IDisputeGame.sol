// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDisputeGame
/// @notice Types, errors and events of the DisputeGame (bisection over round traces, referee panels).
interface IDisputeGame {
    enum Kind {
        Step,
        Round
    }

    /// @notice AwaitStart: the worker must open its trace; AwaitReveal: the worker must reveal the
    ///         midpoint; AwaitResponse: the challenger must agree or disagree; Refereeing: a panel votes.
    enum Phase {
        None,
        AwaitStart,
        AwaitReveal,
        AwaitResponse,
        Refereeing,
        Closed
    }

    enum Verdict {
        Upheld,
        Rejected,
        Dropped
    }

    /// @notice One dispute. Step disputes: `lo` is the last agreed leaf index + 1 (0: none agreed),
    ///         `hi` the first disputed leaf index, with their values `loLeaf` / `hiLeaf`.
    struct Dispute {
        uint256 jobId;
        uint32 round;
        Kind kind;
        Phase phase;
        uint8 panels;
        uint8 depth;
        uint32 lo;
        uint32 hi;
        uint32 votes;
        address worker;
        address challenger;
        uint64 deadline;
        uint64 pauseBase;
        uint128 bond;
        bytes32 traceRoot;
        bytes32 loLeaf;
        bytes32 hiLeaf;
        bytes32 midLeaf;
    }

    struct Referee {
        bool registered;
        uint32 listIndex;
        uint32 openPanels;
        uint128 stake;
    }

    struct Outcome {
        bytes32 modelHash;
        uint32 includedMask;
    }

    error ZeroAddress();
    error InvalidConfig();
    error UnsupportedToken();
    error AlreadyReferee(address account);
    error NotReferee(address account);
    error NotProvider(address account);
    error RefereeBusy(address referee, uint32 openPanels);
    error NoSuchCommitment(uint256 jobId, uint32 round, address worker);
    error WindowClosed(uint256 jobId, uint32 round);
    error NotChallengeable(uint256 jobId, uint32 round);
    error WrongPhase(uint256 id);
    error NotYourMove(uint256 id, address caller);
    error NotDue(uint256 id, uint64 deadline);
    error TooLate(uint256 id, uint64 deadline);
    error BadProof(uint256 id);
    error NotOnPanel(uint256 id, address caller);
    error AlreadyVoted(uint256 id, address referee);
    error NothingToWithdraw(address account);
    error NotAParty(uint256 id, address caller);
    error RoundDisputeOpen(uint256 jobId, uint32 round, uint256 id);

    event RefereeRegistered(address indexed referee, uint256 stake);
    event RefereeLeft(address indexed referee, uint256 stake);
    event StepChallenged(
        uint256 indexed id,
        uint256 indexed jobId,
        uint32 round,
        address indexed worker,
        address challenger,
        bytes32 updateHash,
        bytes32 traceRoot
    );
    event RoundChallenged(uint256 indexed id, uint256 indexed jobId, uint32 round, address challenger, bool settlement);
    event MoveRequested(uint256 indexed id, uint32 index, uint64 deadline);
    event MidpointRevealed(uint256 indexed id, uint32 index, bytes32 leaf);
    event MidpointAnswered(uint256 indexed id, uint32 index, bool agree);
    event BisectionDone(uint256 indexed id, int64 agreedIndex, uint32 disputedIndex, bytes32 agreedLeaf, bytes32 disputedLeaf);
    event PanelDrawn(uint256 indexed id, uint8 panel, address[] referees, uint64 deadline);
    event RefereeVoted(uint256 indexed id, address indexed referee, bytes32 vote);
    event RefereeSlashed(uint256 indexed id, address indexed referee, uint256 amount);
    event DisputeResolved(uint256 indexed id, Verdict verdict, uint32 paidMask, uint32 wrongMask);
    /// @notice The worker or the challenger of a step dispute published, for the panel, the blob id of
    ///         the full training state behind the agreed leaf (worker/diloco/trace/witness.ts).
    event WitnessPosted(uint256 indexed id, address indexed by, uint8 panel, bytes32 witness);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
}
