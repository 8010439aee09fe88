// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ITrainingMarket} from "./interfaces/ITrainingMarket.sol";
import {IMarketDisputes} from "./interfaces/IMarketDisputes.sol";
import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {TraceMerkle} from "./libraries/TraceMerkle.sol";
import {Bitmask} from "./libraries/Bitmask.sol";

/// @title DisputeGame
/// @notice Decides disputes about a TrainingMarket's rounds with evidence, by people who cannot profit:
///         - Step disputes (fraud): a challenger and the worker bisect on chain over the Merkle trace the
///           worker committed with its update (leaf 0: the round's start state; leaf i: the full
///           training state after inner step i; last leaf: the compressed update, which must equal the
///           committed update hash). Each move is due within `moveWindow`; a party that misses one
///           loses. Bisection ends on one transition (leaf lo agreed, leaf lo+1 disputed), which a
///           panel of referees recomputes.
///         - Round disputes: "the agreed result of a finalized round is not the deterministic aggregate
///           of its committed updates", and the settlement of rounds that expired without quorum. A
///           panel recomputes the aggregation and the outer step and votes the correct outcome.
///         Referees are registered providers that locked `refereeStake` here; a panel is drawn
///         pseudo-randomly among them, excluding the job's poster, its workers and the challenger;
///         it decides by majority of the panel; referees that vote with the minority, or do not vote,
///         lose `refereeSlashBps` of their referee stake (to the treasury). Referees are paid nothing
///         by outcomes: slashed bonds go to the challenger's bounty, the poster's refund and the
///         treasury (fixed rules in the market), never to whoever judged.
/// @dev Token flows: challenge bonds and referee stakes are held here and paid out as pull balances.
///      Invariant: token.balanceOf(this) == Σ open challenge bonds + Σ referee stakes + Σ balanceOf.
contract DisputeGame is IDisputeGame, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Bitmask for uint32;

    /// @notice Most bisection / panel redraws before a dispute without a referee majority is dropped.
    uint8 public constant MAX_PANELS = 3;

    IMarketReader public immutable market;
    IProviderRegistry public immutable registry;
    IERC20 public immutable token;
    /// @notice Stake a referee locks here.
    uint256 public immutable refereeStake;
    /// @notice Referees drawn per panel (odd).
    uint8 public immutable panelSize;
    /// @notice Seconds for each bisection move.
    uint32 public immutable moveWindow;
    /// @notice Seconds a panel has to vote.
    uint32 public immutable refereeWindow;
    /// @notice Share of a referee's stake lost for voting with the minority or not voting.
    uint16 public immutable refereeSlashBps;

    uint256 public disputeCount;
    mapping(uint256 id => Dispute) private _disputes;
    mapping(uint256 id => address[]) private _panel;
    /// @dev keccak(id, panelNo, referee) => vote (0 none, 1 step correct / 2 step wrong; round: outcome key).
    mapping(bytes32 key => bytes32 vote) private _votes;
    /// @dev keccak(id, panelNo, vote) => number of panel votes for it.
    mapping(bytes32 key => uint256 count) private _voteCount;

    address[] private _refereeList;
    mapping(address referee => Referee) private _referees;
    /// @notice Pull-payment balances (bond refunds, referee stakes, forfeited bonds to the treasury).
    mapping(address account => uint256) public balanceOf;
    /// @notice The open round dispute of keccak(jobId, round), if any: one panel settles a round at a
    ///         time (its verdict consumes the reserve or overturns the round; a second one could only
    ///         revert when applied and keep the job locked).
    mapping(bytes32 key => uint256 id) public openRoundDispute;

    /// @param market_ The market whose rounds this game judges (it must name this game its `disputeGame`).
    /// @param refereeStake_ Stake each referee locks.
    /// @param panelSize_ Referees per panel (odd, ≥ 1).
    /// @param moveWindow_ Seconds per bisection move.
    /// @param refereeWindow_ Seconds a panel has to vote.
    /// @param refereeSlashBps_ Share of stake a minority or absent referee loses.
    constructor(
        IMarketReader market_,
        uint256 refereeStake_,
        uint8 panelSize_,
        uint32 moveWindow_,
        uint32 refereeWindow_,
        uint16 refereeSlashBps_
    ) {
        if (address(market_) == address(0)) revert ZeroAddress();
        if (panelSize_ == 0 || panelSize_ % 2 == 0 || panelSize_ > 15) revert InvalidConfig();
        if (refereeStake_ == 0 || moveWindow_ == 0 || refereeWindow_ == 0 || refereeSlashBps_ > 10_000) revert InvalidConfig();
        market = market_;
        registry = IProviderRegistry(_marketRegistry(market_));
        token = IERC20(registry.stakeToken());
        refereeStake = refereeStake_;
        panelSize = panelSize_;
        moveWindow = moveWindow_;
        refereeWindow = refereeWindow_;
        refereeSlashBps = refereeSlashBps_;
    }

    // =================================================================== referees

    /// @notice Registers the caller (a registered provider) as a referee, locking `refereeStake`.
    function registerReferee() external nonReentrant {
        Referee storage r = _referees[msg.sender];
        if (r.registered) revert AlreadyReferee(msg.sender);
        if (!registry.isRegistered(msg.sender)) revert NotProvider(msg.sender);
        r.registered = true;
        r.stake = uint128(refereeStake);
        r.listIndex = uint32(_refereeList.length);
        _refereeList.push(msg.sender);
        emit RefereeRegistered(msg.sender, refereeStake);
        _pull(msg.sender, refereeStake);
    }

    /// @notice Leaves the referee set; the remaining stake is credited once the caller sits on no open panel.
    function leaveReferees() external nonReentrant {
        Referee storage r = _referees[msg.sender];
        if (!r.registered) revert NotReferee(msg.sender);
        if (r.openPanels != 0) revert RefereeBusy(msg.sender, r.openPanels);
        uint256 stake = r.stake;
        address last = _refereeList[_refereeList.length - 1];
        _refereeList[r.listIndex] = last;
        _referees[last].listIndex = r.listIndex;
        _refereeList.pop();
        delete _referees[msg.sender];
        emit RefereeLeft(msg.sender, stake);
        _credit(msg.sender, stake);
    }

    // =================================================================== step disputes (fraud)

    /// @notice Challenges `worker`'s commitment (`updateHash`, `traceRoot`, as in its UpdateCommitted
    ///         event) in `round`, posting the job's challenge bond. Allowed from the commitment until the
    ///         challenge window after the round closed. Several challenges of one commitment may be open.
    ///         The worker must then open its trace with `startBisection`.
    function challengeStep(uint256 jobId, uint32 round, address worker, bytes32 updateHash, bytes32 traceRoot)
        external
        nonReentrant
        returns (uint256 id)
    {
        bytes32 binding = IMarketDisputes(address(market)).commitmentOf(keccak256(abi.encode(jobId, round, updateHash)));
        if (binding == bytes32(0) || binding != keccak256(abi.encode(worker, traceRoot))) {
            revert NoSuchCommitment(jobId, round, worker);
        }
        _checkWindow(jobId, round);
        id = _open(jobId, round, Kind.Step);
        Dispute storage d = _disputes[id];
        d.worker = worker;
        d.traceRoot = traceRoot;
        d.hiLeaf = updateHash;
        d.phase = Phase.AwaitStart;
        emit StepChallenged(id, jobId, round, worker, msg.sender, updateHash, traceRoot);
    }

    /// @notice The worker opens its trace: it has `numLeaves` leaves (start state, one per inner step,
    ///         the update) in a tree of depth `proof.length`, and the last leaf is the committed update.
    function startBisection(uint256 id, uint32 numLeaves, bytes32[] calldata proof) external nonReentrant {
        Dispute storage d = _turn(id, Phase.AwaitStart, true);
        if (numLeaves < 2 || proof.length > 32 || uint256(numLeaves) > (uint256(1) << proof.length)) {
            revert BadProof(id);
        }
        if (!TraceMerkle.verify(d.traceRoot, numLeaves - 1, d.hiLeaf, proof)) revert BadProof(id);
        d.depth = uint8(proof.length);
        d.lo = 0; // lo is stored +1: 0 means "nothing agreed yet" (the start leaf itself is disputed)
        d.hi = numLeaves - 1;
        _nextMove(id, d);
    }

    /// @notice The worker reveals the leaf at the current midpoint with its Merkle proof.
    function revealMidpoint(uint256 id, bytes32 leaf, bytes32[] calldata proof) external nonReentrant {
        Dispute storage d = _turn(id, Phase.AwaitReveal, true);
        uint32 mid = _mid(d);
        if (proof.length != d.depth || !TraceMerkle.verify(d.traceRoot, mid, leaf, proof)) revert BadProof(id);
        d.midLeaf = leaf;
        d.phase = Phase.AwaitResponse;
        _setDeadline(d, moveWindow);
        emit MidpointRevealed(id, mid, leaf);
    }

    /// @notice The challenger says whether it agrees with the revealed midpoint leaf: the disputed
    ///         interval halves towards the first transition the two sides disagree on.
    function respondMidpoint(uint256 id, bool agree) external nonReentrant {
        Dispute storage d = _turn(id, Phase.AwaitResponse, false);
        uint32 mid = _mid(d);
        if (agree) {
            d.lo = mid + 1;
            d.loLeaf = d.midLeaf;
        } else {
            d.hi = mid;
            d.hiLeaf = d.midLeaf;
        }
        emit MidpointAnswered(id, mid, agree);
        _nextMove(id, d);
    }

    /// @notice A panel referee's verdict on the single disputed transition: `correct` when leaf `hi`
    ///         is what the step from leaf `lo` yields (or, with nothing agreed, when leaf 0 is the
    ///         round's correct start state).
    function voteStep(uint256 id, bool correct) external nonReentrant {
        Dispute storage d = _disputes[id];
        if (d.kind != Kind.Step) revert WrongPhase(id);
        _castVote(id, d, correct ? bytes32(uint256(1)) : bytes32(uint256(2)));
    }

    /// @notice The worker or the challenger publishes, while a panel judges a step dispute, the blob id
    ///         of the full training state behind the agreed leaf `lo`, from which the referees recompute
    ///         the disputed step. Nothing is stored: referees read the event, fetch the blob and use it
    ///         only if it hashes to the agreed leaf, so a wrong witness helps nobody.
    function postWitness(uint256 id, bytes32 witness) external {
        Dispute storage d = _disputes[id];
        if (d.kind != Kind.Step || d.phase != Phase.Refereeing) revert WrongPhase(id);
        if (msg.sender != d.worker && msg.sender != d.challenger) revert NotAParty(id, msg.sender);
        if (block.timestamp > _due(d)) revert TooLate(id, d.deadline);
        emit WitnessPosted(id, msg.sender, d.panels, witness);
    }

    // =================================================================== round disputes

    /// @notice Challenges a finalized round's result ("not the deterministic aggregate of the committed
    ///         updates"), or asks for the settlement of a round that expired with votes but no quorum.
    ///         Posts the job's challenge bond; a panel is drawn at once.
    function challengeRound(uint256 jobId, uint32 round) external nonReentrant returns (uint256 id) {
        ITrainingMarket.RoundStatus status = market.roundOf(jobId, round).status;
        if (status == ITrainingMarket.RoundStatus.Expired) {
            if (IMarketDisputesView(address(market)).reservedFor(jobId, round) == 0) revert NotChallengeable(jobId, round);
        } else if (status != ITrainingMarket.RoundStatus.Finalized) {
            revert NotChallengeable(jobId, round);
        }
        _checkWindow(jobId, round);
        bytes32 rk = keccak256(abi.encode(jobId, round));
        uint256 open = openRoundDispute[rk];
        if (open != 0) revert RoundDisputeOpen(jobId, round, open);
        id = _open(jobId, round, Kind.Round);
        openRoundDispute[rk] = id;
        emit RoundChallenged(id, jobId, round, msg.sender, status == ITrainingMarket.RoundStatus.Expired);
        _drawPanel(id, _disputes[id]);
    }

    /// @notice A panel referee's verdict on a round: the outcome it recomputed.
    function voteRound(uint256 id, bytes32 modelHash, uint32 includedMask) external nonReentrant {
        Dispute storage d = _disputes[id];
        if (d.kind != Kind.Round) revert WrongPhase(id);
        if (modelHash == bytes32(0)) revert WrongPhase(id);
        bytes32 v = keccak256(abi.encode(modelHash, includedMask));
        _castVote(id, d, v);
        _outcomes[keccak256(abi.encode(id, v))] = Outcome(modelHash, includedMask);
    }

    mapping(bytes32 key => Outcome) private _outcomes;

    // =================================================================== resolution

    /// @notice Settles dispute `id` once its current move or vote is overdue, or every panel member
    ///         voted. Anyone may call it.
    function resolve(uint256 id) external nonReentrant {
        Dispute storage d = _disputes[id];
        Phase ph = d.phase;
        if (ph == Phase.None || ph == Phase.Closed) revert WrongPhase(id);
        if (ph == Phase.Refereeing) {
            bool allVoted = d.votes == _panel[id].length;
            if (!allVoted && block.timestamp <= _due(d)) revert NotDue(id, d.deadline);
            _closePanel(id, d);
            return;
        }
        if (block.timestamp <= _due(d)) revert NotDue(id, d.deadline);
        // A missed bisection move loses: the worker (start / reveal) or the challenger (response).
        if (ph == Phase.AwaitResponse) _workerWins(id, d);
        else _workerLoses(id, d);
    }

    /// @notice Withdraws the caller's balance.
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // =================================================================== views

    function disputeOf(uint256 id) external view returns (Dispute memory) {
        return _disputes[id];
    }

    function panelOf(uint256 id) external view returns (address[] memory) {
        return _panel[id];
    }

    function refereeOf(address referee) external view returns (Referee memory) {
        return _referees[referee];
    }

    function referees() external view returns (address[] memory) {
        return _refereeList;
    }

    /// @notice The disputed index interval of a step dispute: `lo` agreed (or -1), `hi` disputed.
    function interval(uint256 id) external view returns (int64 lo, uint32 hi, uint32 mid) {
        Dispute storage d = _disputes[id];
        lo = int64(uint64(d.lo)) - 1;
        hi = d.hi;
        mid = d.hi > d.lo ? _mid(d) : d.hi;
    }

    // =================================================================== internals

    function _open(uint256 jobId, uint32 round, Kind kind) private returns (uint256 id) {
        id = ++disputeCount;
        Dispute storage d = _disputes[id];
        d.jobId = jobId;
        d.round = round;
        d.kind = kind;
        d.challenger = msg.sender;
        uint128 bond = market.jobParams(jobId).challengeBond;
        d.bond = bond;
        _setDeadline(d, moveWindow);
        IMarketDisputes(address(market)).disputeOpened(jobId);
        _pull(msg.sender, bond);
    }

    /// @dev Challenges are allowed until `challengeWindow` after the round closed.
    function _checkWindow(uint256 jobId, uint32 round) private view {
        uint256 closedAt = market.roundOf(jobId, round).closedAt;
        if (closedAt != 0 && block.timestamp > closedAt + market.jobParams(jobId).challengeWindow) {
            revert WindowClosed(jobId, round);
        }
    }

    /// @dev Loads a dispute in `phase` and checks the caller is the side to move, within time.
    function _turn(uint256 id, Phase phase, bool worker) private view returns (Dispute storage d) {
        d = _disputes[id];
        if (d.phase != phase) revert WrongPhase(id);
        if (msg.sender != (worker ? d.worker : d.challenger)) revert NotYourMove(id, msg.sender);
        if (block.timestamp > _due(d)) revert TooLate(id, d.deadline);
    }

    /// @dev lo is stored +1 (0 = nothing agreed). Midpoint strictly between lo and hi.
    function _mid(Dispute storage d) private view returns (uint32) {
        // indices: agreed = d.lo - 1 (or -1), disputed = d.hi; mid in (agreed, hi)
        return uint32((uint256(d.lo) + uint256(d.hi)) / 2);
    }

    /// @dev Next bisection move, or the referee panel once one transition remains.
    function _nextMove(uint256 id, Dispute storage d) private {
        // agreed index + 1 == d.lo; one transition remains when hi == agreed + 1, i.e. hi == d.lo
        if (d.hi == d.lo) {
            emit BisectionDone(id, int64(uint64(d.lo)) - 1, d.hi, d.loLeaf, d.hiLeaf);
            _drawPanel(id, d);
        } else {
            d.phase = Phase.AwaitReveal;
            _setDeadline(d, moveWindow);
            emit MoveRequested(id, _mid(d), d.deadline);
        }
    }

    function _drawPanel(uint256 id, Dispute storage d) private {
        d.panels += 1;
        d.votes = 0;
        d.phase = Phase.Refereeing;
        _setDeadline(d, refereeWindow);
        delete _panel[id];
        ITrainingMarket.JobState memory job = market.jobState(d.jobId);
        address[] memory workers = market.workersOf(d.jobId);
        uint256 n = _refereeList.length;
        bytes32 seed = keccak256(abi.encode(blockhash(block.number - 1), block.prevrandao, id, d.panels));
        address[] storage panel = _panel[id];
        // pseudo-random draws first, then a scan from a random offset, so that the panel is full
        // whenever enough eligible referees exist
        for (uint256 i; i < n * 3 && panel.length < panelSize; ++i) {
            uint256 k = i < n * 2 ? uint256(keccak256(abi.encode(seed, i))) % n : (uint256(seed) + i) % n;
            address r = _refereeList[k];
            if (r == job.poster || r == d.challenger || r == d.worker || _contains(workers, r)) continue;
            if (_containsStorage(panel, r)) continue;
            panel.push(r);
            _referees[r].openPanels += 1;
        }
        emit PanelDrawn(id, d.panels, panel, d.deadline);
        if (panel.length == 0) _drop(id, d);
    }

    function _castVote(uint256 id, Dispute storage d, bytes32 v) private {
        if (d.phase != Phase.Refereeing) revert WrongPhase(id);
        if (block.timestamp > _due(d)) revert TooLate(id, d.deadline);
        if (!_containsStorage(_panel[id], msg.sender)) revert NotOnPanel(id, msg.sender);
        bytes32 key = keccak256(abi.encode(id, d.panels, msg.sender));
        if (_votes[key] != bytes32(0)) revert AlreadyVoted(id, msg.sender);
        _votes[key] = v;
        _voteCount[keccak256(abi.encode(id, d.panels, v))] += 1;
        d.votes += 1;
        emit RefereeVoted(id, msg.sender, v);
    }

    /// @dev Tallies the panel: the verdict needs a majority of the whole panel. Minority and absent
    ///      referees are slashed; without a majority a new panel is drawn (up to MAX_PANELS).
    function _closePanel(uint256 id, Dispute storage d) private {
        address[] storage panel = _panel[id];
        uint256 size = panel.length;
        bytes32 winner;
        for (uint256 i; i < size; ++i) {
            bytes32 v = _votes[keccak256(abi.encode(id, d.panels, panel[i]))];
            if (v != bytes32(0) && _voteCount[keccak256(abi.encode(id, d.panels, v))] * 2 > size) winner = v;
        }
        for (uint256 i; i < size; ++i) {
            address r = panel[i];
            Referee storage ref = _referees[r];
            ref.openPanels -= 1;
            bytes32 v = _votes[keccak256(abi.encode(id, d.panels, r))];
            if (v != winner || v == bytes32(0)) {
                uint256 cut = (uint256(ref.stake) * refereeSlashBps) / 10_000;
                ref.stake -= uint128(cut);
                _credit(_treasury(), cut);
                emit RefereeSlashed(id, r, cut);
            }
        }
        if (winner == bytes32(0)) {
            if (d.panels >= MAX_PANELS) _drop(id, d);
            else _drawPanel(id, d);
            return;
        }
        if (d.kind == Kind.Step) {
            if (winner == bytes32(uint256(1))) _workerWins(id, d);
            else _workerLoses(id, d);
        } else {
            _roundVerdict(id, d, _outcomes[keccak256(abi.encode(id, winner))]);
        }
    }

    function _roundVerdict(uint256 id, Dispute storage d, Outcome memory o) private {
        IMarketDisputes m = IMarketDisputes(address(market));
        ITrainingMarket.Round memory rd = market.roundOf(d.jobId, d.round);
        bool upheld;
        if (rd.status == ITrainingMarket.RoundStatus.Finalized) {
            // The finalized outcome is the one with a quorum of the round's committed workers.
            uint32 voters = market.votersFor(d.jobId, d.round, o.modelHash, o.includedMask);
            uint256 quorum = market.jobParams(d.jobId).quorumBps;
            upheld = voters.count() * 10_000 < quorum * rd.committedMask.count();
        } else {
            upheld = true; // settlement of an expired round: always applied, the bond is returned
        }
        _close(id, d);
        if (upheld) {
            (uint32 paid, uint32 wrong) = m.applyRoundVerdict(d.jobId, d.round, o.modelHash, o.includedMask, d.challenger);
            _credit(d.challenger, d.bond);
            emit DisputeResolved(id, Verdict.Upheld, paid, wrong);
        } else {
            _credit(_treasury(), d.bond);
            emit DisputeResolved(id, Verdict.Rejected, 0, 0);
        }
    }

    /// @dev The worker's step was right (or the challenger missed a move): the bond goes to the worker.
    function _workerWins(uint256 id, Dispute storage d) private {
        _close(id, d);
        _credit(d.worker, d.bond);
        emit DisputeResolved(id, Verdict.Rejected, 0, 0);
    }

    /// @dev Fraud (wrong step, bad trace or missed move): the worker's whole bond is slashed in the
    ///      market (bounty to the challenger, reward refunded to the poster, rest to the treasury).
    function _workerLoses(uint256 id, Dispute storage d) private {
        _close(id, d);
        IMarketDisputes(address(market)).punishFraud(d.jobId, d.round, d.worker, d.challenger);
        _credit(d.challenger, d.bond);
        emit DisputeResolved(id, Verdict.Upheld, 0, 0);
    }

    /// @dev No referee majority after MAX_PANELS panels (or no referee available): nothing is decided,
    ///      nothing is slashed, the challenger gets its bond back.
    function _drop(uint256 id, Dispute storage d) private {
        _close(id, d);
        _credit(d.challenger, d.bond);
        emit DisputeResolved(id, Verdict.Dropped, 0, 0);
    }

    function _close(uint256, Dispute storage d) private {
        d.phase = Phase.Closed;
        if (d.kind == Kind.Round) delete openRoundDispute[keccak256(abi.encode(d.jobId, d.round))];
        IMarketDisputes(address(market)).disputeClosed(d.jobId);
    }

    /// @dev Sets the deadline of a move starting now, with the market's paused time at this moment
    ///      (so that later pauses extend it).
    function _setDeadline(Dispute storage d, uint32 window) private {
        d.deadline = uint64(block.timestamp) + window;
        d.pauseBase = IMarketDisputes(address(market)).pausedTime();
    }

    /// @dev A dispute's current deadline extended by every market pause since it was set.
    function _due(Dispute storage d) private view returns (uint256) {
        return uint256(d.deadline) + IMarketDisputes(address(market)).pausedTime() - d.pauseBase;
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        balanceOf[account] += amount;
        emit Credited(account, amount);
    }

    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        if (token.balanceOf(address(this)) - before != amount) revert UnsupportedToken();
    }

    function _treasury() private view returns (address) {
        return IMarketDisputesView(address(market)).treasury();
    }

    function _marketRegistry(IMarketReader m) private view returns (address) {
        return address(IMarketDisputesView(address(m)).registry());
    }

    function _contains(address[] memory list, address a) private pure returns (bool) {
        for (uint256 i; i < list.length; ++i) if (list[i] == a) return true;
        return false;
    }

    function _containsStorage(address[] storage list, address a) private view returns (bool) {
        for (uint256 i; i < list.length; ++i) if (list[i] == a) return true;
        return false;
    }
}

/// @dev Market getters the game reads.
interface IMarketReader {
    function jobParams(uint256 jobId) external view returns (ITrainingMarket.JobParams memory);
    function jobState(uint256 jobId) external view returns (ITrainingMarket.JobState memory);
    function roundOf(uint256 jobId, uint32 round) external view returns (ITrainingMarket.Round memory);
    function workersOf(uint256 jobId) external view returns (address[] memory);
    function votersFor(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask) external view returns (uint32);
}

/// @dev Market getters the game reads beyond the job views.
interface IMarketDisputesView {
    function reservedFor(uint256 jobId, uint32 round) external view returns (uint256);
    function treasury() external view returns (address);
    function registry() external view returns (IProviderRegistry);
}
