// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";
import {Bitmask} from "../libraries/Bitmask.sol";

/// @title MarketBase
/// @notice Storage layout, constants and shared internal accounting of the TrainingMarket. Both the
///         market and its dispute module (reached by `delegatecall` from the market's fallback, to keep
///         the market under the 24 KiB code limit) inherit it first, so they share one storage layout.
abstract contract MarketBase is ITrainingMarket, ReentrancyGuardTransient {
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
    /// @notice Highest challenger bounty: fraud always costs the cheater at least half its bond, even
    ///         when it challenges itself.
    uint16 public constant MAX_BOUNTY_BPS = 5_000;
    /// @notice Highest absence / dissent penalty governance may allow.
    uint16 public constant MAX_PENALTY_BPS = 5_000;

    /// @notice EIP-712 type of a worker's round commitment.
    bytes32 public constant ROUND_UPDATE_TYPEHASH = keccak256(
        "RoundUpdate(uint256 jobId,uint32 round,bytes32 updateHash,bytes32 traceRoot,uint64 trainLoss,address worker)"
    );

    /// @dev A round as stored: one slot holding everything a commitment or a vote reads. Deadlines
    ///      are before pause extension; `pauseBase` is the market's paused time when the round
    ///      started; `quorumBps` is the job's quorum. `roundOf` returns it as a `Round`.
    struct RoundSlot {
        uint40 commitDeadline;
        uint40 voteDeadline;
        uint32 committedMask;
        uint32 votedMask;
        uint40 closedAt;
        RoundStatus status;
        uint16 quorumBps;
        uint32 pauseBase;
    }

    IProviderRegistry public immutable registry;
    IERC20 public immutable token;

    /// @notice Receives protocol fees and the part of slashes that pays nobody.
    address public treasury;
    /// @notice Protocol fee on each reward paid, for jobs created from now on.
    uint16 public protocolFeeBps;
    /// @notice Challenger's share of a fraud slash, for jobs created from now on (≤ MAX_BOUNTY_BPS).
    uint16 public challengeBountyBps;
    /// @notice The contract that runs disputes (bisection, referees); set once by the admin.
    address public disputeGame;
    /// @notice Seconds the market has been paused in total (the current pause not included).
    /// @dev Declared after `disputeGame` so that both pause fields share its slot: the pause check
    ///      and a deadline's pause shift read one slot (uint32 seconds: 136 years of pauses; uint40
    ///      timestamps: beyond the year 30000).
    uint32 public pausedTotal;
    /// @notice When the current pause began (0 when not paused).
    uint40 public pausedSince;

    Limits internal _limits;

    uint256 public jobCount;

    mapping(uint256 jobId => JobParams) internal _params;
    mapping(uint256 jobId => JobState) internal _jobs;
    mapping(uint256 jobId => address[]) internal _workers;
    mapping(uint256 jobId => mapping(address worker => WorkerSlot)) internal _slots;
    mapping(uint256 jobId => mapping(uint32 round => RoundSlot)) internal _rounds;
    /// @dev Paused time already elapsed when the job started (for its join window).
    mapping(uint256 jobId => uint64) internal _jobPauseBase;
    /// @dev keccak(jobId, round, modelHash, includedMask) => mask of workers that voted for it.
    mapping(bytes32 voteKey => uint32 voterMask) internal _tally;
    /// @notice keccak(jobId, round, updateHash) => keccak(worker, traceRoot): one update hash per round,
    ///         and the trace root the dispute game bisects against.
    mapping(bytes32 key => bytes32 binding) public commitmentOf;
    /// @notice Escrow set aside for an expired round's voters until referees settle it.
    mapping(uint256 jobId => mapping(uint32 round => uint256)) public reservedFor;
    /// @notice Per job: rewards earned but not yet released, and tokens reserved for expired rounds.
    mapping(uint256 jobId => uint256) public accruedOf;
    mapping(uint256 jobId => uint256) public reservedOf;
    /// @notice Per job: disputes open in the dispute game (no bond or reward leaves while > 0).
    mapping(uint256 jobId => uint32) public openDisputesOf;
    /// @dev Per running job: workers who joined during the current round and become active with the next.
    mapping(uint256 jobId => uint32) internal _joiningMask;
    /// @notice When a poster's cancellation of a running job takes effect (end of the commit window).
    mapping(uint256 jobId => uint64) public cancelAt;
    /// @notice Pull-payment balances.
    mapping(address account => uint256) public balanceOf;

    event Paused(address account);
    event Unpaused(address account);

    error EnforcedPause();
    error ExpectedPause();

    modifier whenNotPaused() {
        if (pausedSince != 0) revert EnforcedPause();
        _;
    }

    modifier onlyDisputeGame() {
        if (msg.sender != disputeGame || msg.sender == address(0)) revert NotDisputeGame(msg.sender);
        _;
    }

    constructor(IProviderRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
        token = IERC20(registry_.stakeToken());
    }

    /// @notice Seconds the market has been paused in total, the current pause included.
    function pausedTime() public view returns (uint64) {
        uint64 since = pausedSince;
        return uint64(pausedTotal) + (since == 0 ? 0 : uint64(block.timestamp) - since);
    }

    /// @dev Ends a job: refunds the remaining escrow to the poster and closes the round in flight.
    function _end(uint256 jobId, JobStatus status) internal {
        JobState storage job = _jobs[jobId];
        uint32 round = job.currentRound;
        RoundSlot storage rd = _rounds[jobId][round];
        if (rd.status == RoundStatus.Active) rd.status = RoundStatus.Aborted;
        if (rd.status != RoundStatus.None && rd.closedAt == 0) rd.closedAt = uint40(block.timestamp);
        uint256 refund = job.escrow;
        job.escrow = 0;
        job.status = status;
        job.endedAt = uint64(block.timestamp);
        if (refund != 0) _credit(job.poster, jobId, CreditKind.Refund, refund);
        if (status == JobStatus.Completed) emit JobCompleted(jobId, job.modelHash, refund);
        else if (status == JobStatus.Failed) emit JobFailed(jobId, round, refund);
    }

    /// @dev Adds one round's reward to every worker in `mask` (no escrow movement); returns the count.
    function _accrue(uint256 jobId, uint32 mask) internal returns (uint256 count) {
        address[] storage workers = _workers[jobId];
        uint256 n = workers.length;
        for (uint256 i; i < n; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            _slots[jobId][workers[i]].paidRounds += 1;
            ++count;
        }
        if (count != 0) accruedOf[jobId] += count * _params[jobId].rewardPerRound;
    }

    /// @dev Takes back one round's reward from `worker` (not yet released) and refunds it to the poster.
    function _clawBack(uint256 jobId, uint32 round, address worker, WorkerSlot storage slot) internal {
        if (slot.paidRounds == 0 || slot.bondReleased) return;
        slot.paidRounds -= 1;
        uint256 reward = _params[jobId].rewardPerRound;
        accruedOf[jobId] -= reward;
        _credit(_jobs[jobId].poster, jobId, CreditKind.Refund, reward);
        emit RewardClawedBack(jobId, round, worker, reward);
    }

    /// @dev Voters of a wrong result: whole remaining bond slashed, the round's reward clawed back,
    ///      removed from the job. Returns the total slashed (to be distributed by the caller).
    function _slashWrong(uint256 jobId, uint32 round, uint32 mask) internal returns (uint256 pool) {
        address[] storage workers = _workers[jobId];
        for (uint256 i; i < workers.length; ++i) {
            if (mask & (uint32(1) << uint32(i)) == 0) continue;
            address worker = workers[i];
            WorkerSlot storage slot = _slots[jobId][worker];
            pool += _slash(jobId, round, worker, slot, slot.bond, PenaltyReason.WrongResult);
            _clawBack(jobId, round, worker, slot);
            if (slot.active) _remove(jobId, worker, slot, PenaltyReason.WrongResult);
        }
    }

    /// @dev Slashes up to `amount` of a worker's bond in this job; the tokens arrive in this contract.
    function _slash(uint256 jobId, uint32 round, address worker, WorkerSlot storage slot, uint256 amount, PenaltyReason reason)
        internal
        returns (uint256 slashed)
    {
        uint256 bond = slot.bond;
        if (amount > bond) amount = bond;
        if (amount == 0 || slot.bondReleased) return 0;
        slot.bond = uint128(bond - amount);
        slashed = registry.slash(worker, amount);
        emit WorkerPenalized(jobId, round, worker, reason, slashed);
    }

    function _remove(uint256 jobId, address worker, WorkerSlot storage slot, PenaltyReason reason) internal {
        slot.active = false;
        slot.removedAt = uint64(block.timestamp);
        _jobs[jobId].activeMask &= ~Bitmask.bit(slot.index);
        emit WorkerRemoved(jobId, worker, reason);
    }

    function _releaseBond(uint256 jobId, address worker, WorkerSlot storage slot) internal {
        uint256 amount = slot.bond;
        slot.bondReleased = true;
        slot.bond = 0;
        emit BondReleased(jobId, worker, amount);
        if (amount != 0) registry.releaseBond(worker, amount);
    }

    function _credit(address account, uint256 jobId, CreditKind kind, uint256 amount) internal {
        if (amount == 0) return;
        balanceOf[account] += amount;
        emit Credited(account, jobId, kind, amount);
    }

    function _job(uint256 jobId) internal view returns (JobState storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobNotFound(jobId);
    }

    /// @dev Seconds the market was paused since `round` started: every deadline of the round moves by it.
    function _shift(uint256 jobId, uint32 round) internal view returns (uint64) {
        uint64 since = pausedSince;
        uint64 total = pausedTotal;
        if (total == 0 && since == 0) return 0;
        return total + (since == 0 ? 0 : uint64(block.timestamp) - since) - _rounds[jobId][round].pauseBase;
    }

    /// @dev The round's vote deadline before pause extension.
    function _voteDeadline(uint256 jobId, RoundSlot storage rd) internal view returns (uint256) {
        return rd.voteDeadline != 0 ? rd.voteDeadline : uint256(rd.commitDeadline) + _params[jobId].voteWindow;
    }

    /// @dev End of the join window, extended by every pause since the job was created.
    function _joinDeadline(uint256 jobId) internal view returns (uint256) {
        return uint256(_jobs[jobId].createdAt) + _params[jobId].joinWindow + pausedTime() - _jobPauseBase[jobId];
    }
}
