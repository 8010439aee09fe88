// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {DelayedRoles} from "./governance/DelayedRoles.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @title ProviderRegistry
/// @notice GPU providers register here with a stake and an attestation signer (in production a
///         TEE-born key whose report hash is recorded; locally a software key). Registering or
///         rotating a key proves possession of it: the key signs (provider, signer, report hash,
///         nonce) under this registry's EIP-712 domain (chain id + address). Markets holding
///         MARKET_ROLE lock bonds out of free stake, release them, and slash bonded stake; bonds are
///         accounted per market, so a market can release or slash only what it locked itself.
/// @dev Accounting invariant: `stakeToken.balanceOf(this) == Σ providers[p].stake`, and for every
///      provider `bonded + unbonding <= stake` and `bonded == Σ_market bondedBy[p][market]`. Pausing
///      stops new business (register, addStake, lockBond) but never traps funds: unbonding,
///      withdrawals, releases and slashes still work. Role grants are delayed once a provider has
///      registered (DelayedRoles), the admin role changes hands only after a delay.
contract ProviderRegistry is IProviderRegistry, DelayedRoles, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Role of markets allowed to lock, release and slash bonds.
    bytes32 public constant MARKET_ROLE = keccak256("MARKET_ROLE");
    /// @notice Role allowed to pause and unpause.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Upper bound on the unbonding delay an admin can set.
    uint64 public constant MAX_UNBONDING_DELAY = 90 days;

    /// @notice EIP-712 type of an attestation key's proof of possession.
    bytes32 public constant KEY_PROOF_TYPEHASH =
        keccak256("AttestationKeyProof(address provider,address signer,bytes32 reportHash,uint256 nonce)");

    IERC20 private immutable _token;

    /// @notice Minimum stake to register.
    uint256 public minStake;
    /// @notice Seconds between `requestUnbond` and `withdrawUnbonded`.
    uint64 public unbondingDelay;

    mapping(address provider => Provider) private _providers;
    /// @notice Which provider an attestation signer belongs to (a signer serves one provider at a time).
    mapping(address signer => address provider) public providerOfSigner;
    /// @notice Stake of a provider bonded by one market (only that market can release or slash it).
    mapping(address provider => mapping(address market => uint256)) public bondedBy;
    /// @notice Nonce a provider's next key proof must sign (incremented by every register / rotation).
    mapping(address provider => uint256) public keyNonce;
    /// @notice Number of providers ever registered.
    uint256 public providerCount;

    /// @param token_ The ERC-20 used for stakes (and by markets for payments).
    /// @param admin Receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE.
    /// @param minStake_ Minimum stake to register.
    /// @param unbondingDelay_ Seconds a provider waits between requesting and withdrawing unbonded stake.
    constructor(IERC20 token_, address admin, uint256 minStake_, uint64 unbondingDelay_)
        DelayedRoles(admin)
        EIP712("ProviderRegistry", "1")
    {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(unbondingDelay_, MAX_UNBONDING_DELAY);
        _token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        _grantRole(PAUSER_ROLE, admin);
        emit MinStakeUpdated(minStake_);
        emit UnbondingDelayUpdated(unbondingDelay_);
    }

    // ------------------------------------------------------------------ provider actions

    /// @notice Registers the caller as a provider, pulling `stake` tokens (approve first).
    /// @param stake Initial stake, at least `minStake` and non-zero.
    /// @param attestationSigner Address whose EIP-712 signatures attest this provider's round work.
    /// @param reportHash Hash of the attestation report that vouches for `attestationSigner`.
    /// @param metadataURI Free-form provider description (hardware, region, contact).
    /// @param keyProof EIP-712 `AttestationKeyProof{provider: caller, signer, reportHash, nonce: keyNonce(caller)}`
    ///        signed by `attestationSigner` (proves the caller holds the key; no one can squat it).
    function register(
        uint256 stake,
        address attestationSigner,
        bytes32 reportHash,
        string calldata metadataURI,
        bytes calldata keyProof
    )
        external
        nonReentrant
        whenNotPaused
    {
        Provider storage p = _providers[msg.sender];
        if (p.registeredAt != 0) revert AlreadyRegistered(msg.sender);
        if (stake == 0) revert ZeroAmount();
        if (stake < minStake) revert StakeBelowMinimum(stake, minStake);
        _claimSigner(attestationSigner, reportHash, keyProof);

        providerCount += 1;
        p.stake = stake;
        p.registeredAt = uint64(block.timestamp);
        p.attestationSigner = attestationSigner;
        p.attestationReportHash = reportHash;
        emit ProviderRegistered(msg.sender, attestationSigner, reportHash, stake, metadataURI);

        _pull(msg.sender, stake);
    }

    /// @notice Adds `amount` tokens to the caller's stake.
    function addStake(uint256 amount) external nonReentrant whenNotPaused {
        Provider storage p = _requireProvider(msg.sender);
        if (amount == 0) revert ZeroAmount();
        p.stake += amount;
        emit StakeAdded(msg.sender, amount, p.stake);
        _pull(msg.sender, amount);
    }

    /// @notice Moves `amount` of free stake into unbonding; it becomes withdrawable after
    ///         `unbondingDelay` (a new request restarts the delay for the whole unbonding amount).
    /// @dev Bonded stake cannot be unbonded: bonds stay slashable until the market releases them.
    function requestUnbond(uint256 amount) external nonReentrant {
        Provider storage p = _requireProvider(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 free = _free(p);
        if (amount > free) revert InsufficientFreeStake(msg.sender, amount, free);
        p.unbonding += amount;
        uint64 readyAt = uint64(block.timestamp) + unbondingDelay;
        p.unbondingReadyAt = readyAt;
        emit UnbondRequested(msg.sender, amount, p.unbonding, readyAt);
    }

    /// @notice Returns the whole unbonding amount to free stake.
    function cancelUnbond() external nonReentrant {
        Provider storage p = _requireProvider(msg.sender);
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        p.unbonding = 0;
        p.unbondingReadyAt = 0;
        emit UnbondCancelled(msg.sender, amount);
    }

    /// @notice Transfers the unbonding amount to the caller once the unbonding delay has passed.
    function withdrawUnbonded() external nonReentrant {
        Provider storage p = _requireProvider(msg.sender);
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < p.unbondingReadyAt) {
            revert UnbondingNotReady(p.unbondingReadyAt, uint64(block.timestamp));
        }
        p.unbonding = 0;
        p.unbondingReadyAt = 0;
        p.stake -= amount;
        emit UnbondWithdrawn(msg.sender, amount, p.stake);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Replaces the caller's attestation signer (e.g. after an enclave restart). Signatures by
    ///         the old signer stop being accepted for new commitments at once; bonds and open disputes
    ///         are unaffected. `keyProof` is the new key's proof of possession (see `register`).
    function rotateAttestationKey(address newSigner, bytes32 newReportHash, bytes calldata keyProof)
        external
        nonReentrant
    {
        Provider storage p = _requireProvider(msg.sender);
        address old = p.attestationSigner;
        delete providerOfSigner[old];
        _claimSigner(newSigner, newReportHash, keyProof);
        p.attestationSigner = newSigner;
        p.attestationReportHash = newReportHash;
        emit AttestationKeyRotated(msg.sender, old, newSigner, newReportHash);
    }

    /// @notice Updates the caller's metadata URI (only the event carries it).
    function updateMetadata(string calldata metadataURI) external {
        _requireProvider(msg.sender);
        emit MetadataUpdated(msg.sender, metadataURI);
    }

    // ------------------------------------------------------------------ market actions

    /// @notice Locks `amount` of the provider's free stake as a bond for the calling market.
    function lockBond(address provider, uint256 amount) external onlyRole(MARKET_ROLE) whenNotPaused {
        Provider storage p = _requireProvider(provider);
        if (amount == 0) revert ZeroAmount();
        uint256 free = _free(p);
        if (amount > free) revert InsufficientFreeStake(provider, amount, free);
        p.bonded += amount;
        bondedBy[provider][msg.sender] += amount;
        emit BondLocked(provider, msg.sender, amount, p.bonded);
    }

    /// @notice Returns `amount` of the stake the calling market bonded to the provider's free stake.
    function releaseBond(address provider, uint256 amount) external onlyRole(MARKET_ROLE) {
        Provider storage p = _requireProvider(provider);
        uint256 mine = bondedBy[provider][msg.sender];
        if (amount > mine) revert InsufficientBond(provider, amount, mine);
        bondedBy[provider][msg.sender] = mine - amount;
        p.bonded -= amount;
        emit BondReleased(provider, msg.sender, amount, p.bonded);
    }

    /// @notice Slashes up to `amount` of the stake the calling market bonded and transfers it to that
    ///         market, which credits the beneficiary in its own pull-payment ledger. Free stake and
    ///         stake bonded by other markets can never be slashed by it.
    /// @return slashed The amount actually slashed (at most what the caller bonded).
    function slash(address provider, uint256 amount) external onlyRole(MARKET_ROLE) nonReentrant returns (uint256 slashed) {
        Provider storage p = _requireProvider(provider);
        uint256 mine = bondedBy[provider][msg.sender];
        slashed = amount < mine ? amount : mine;
        if (slashed == 0) return 0;
        bondedBy[provider][msg.sender] = mine - slashed;
        p.bonded -= slashed;
        p.stake -= slashed;
        emit StakeSlashed(provider, msg.sender, slashed, p.stake, p.bonded);
        _token.safeTransfer(msg.sender, slashed);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Sets the minimum stake for new registrations.
    function setMinStake(uint256 minStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minStake = minStake_;
        emit MinStakeUpdated(minStake_);
    }

    /// @notice Sets the unbonding delay for future unbonding requests.
    function setUnbondingDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (delay > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(delay, MAX_UNBONDING_DELAY);
        unbondingDelay = delay;
        emit UnbondingDelayUpdated(delay);
    }

    /// @notice Stops registrations, stake additions and new bonds.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProviderRegistry
    function stakeToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IProviderRegistry
    function providerOf(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @inheritdoc IProviderRegistry
    function attestationSignerOf(address provider) external view returns (address) {
        return _providers[provider].attestationSigner;
    }

    /// @inheritdoc IProviderRegistry
    function freeStakeOf(address provider) external view returns (uint256) {
        return _free(_providers[provider]);
    }

    /// @inheritdoc IProviderRegistry
    function isRegistered(address provider) external view returns (bool) {
        return _providers[provider].registeredAt != 0;
    }

    // ------------------------------------------------------------------ internals

    function _requireProvider(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (p.registeredAt == 0) revert NotRegistered(provider);
    }

    function _free(Provider storage p) private view returns (uint256) {
        return p.stake - p.bonded - p.unbonding;
    }

    /// @dev Checks the key's proof of possession, then binds the signer to the caller.
    function _claimSigner(address signer, bytes32 reportHash, bytes calldata keyProof) private {
        if (signer == address(0)) revert ZeroAddress();
        if (reportHash == bytes32(0)) revert ZeroReportHash();
        uint256 nonce = keyNonce[msg.sender];
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(KEY_PROOF_TYPEHASH, msg.sender, signer, reportHash, nonce)));
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, keyProof);
        if (err != ECDSA.RecoverError.NoError || recovered != signer) revert InvalidKeyProof(signer, recovered);
        keyNonce[msg.sender] = nonce + 1;
        address owner = providerOfSigner[signer];
        if (owner != address(0)) revert SignerInUse(signer, owner);
        providerOfSigner[signer] = msg.sender;
    }

    /// @dev Live (role grants delayed) once any provider has registered.
    function _live() internal view override returns (bool) {
        return providerCount != 0;
    }

    /// @dev Pulls tokens and rejects fee-on-transfer or otherwise non-standard tokens.
    function _pull(address from, uint256 amount) private {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(amount, received);
    }
}
