// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IProviderRegistry
/// @notice Staking and attestation-key registry for GPU providers. Markets that hold the
///         MARKET_ROLE lock part of a provider's stake as a per-job bond, release it, or slash it.
interface IProviderRegistry {
    /// @notice A provider's record. All amounts are in the stake token's smallest unit.
    /// @param stake Tokens held for the provider (free + bonded + unbonding).
    /// @param bonded Part of `stake` locked by markets as job bonds.
    /// @param unbonding Part of `stake` requested for withdrawal, claimable at `unbondingReadyAt`.
    struct Provider {
        uint256 stake;
        uint256 bonded;
        uint256 unbonding;
        uint64 unbondingReadyAt;
        uint64 registeredAt;
        address attestationSigner;
        bytes32 attestationReportHash;
    }

    // ---- errors ----
    error ZeroAmount();
    error ZeroAddress();
    error ZeroReportHash();
    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error InsufficientFreeStake(address provider, uint256 requested, uint256 available);
    error InsufficientBond(address provider, uint256 requested, uint256 bonded);
    error SignerInUse(address signer, address provider);
    error NothingUnbonding(address provider);
    error UnbondingNotReady(uint64 readyAt, uint64 now_);
    error UnbondingDelayTooLong(uint64 delay, uint64 maximum);
    error UnsupportedToken(uint256 expected, uint256 received);
    error InvalidKeyProof(address signer, address recovered);

    // ---- events ----
    event ProviderRegistered(
        address indexed provider,
        address indexed attestationSigner,
        bytes32 attestationReportHash,
        uint256 stake,
        string metadataURI
    );
    event StakeAdded(address indexed provider, uint256 amount, uint256 newStake);
    event UnbondRequested(address indexed provider, uint256 amount, uint256 totalUnbonding, uint64 readyAt);
    event UnbondCancelled(address indexed provider, uint256 amount);
    event UnbondWithdrawn(address indexed provider, uint256 amount, uint256 newStake);
    event AttestationKeyRotated(
        address indexed provider, address indexed oldSigner, address indexed newSigner, bytes32 attestationReportHash
    );
    event MetadataUpdated(address indexed provider, string metadataURI);
    event BondLocked(address indexed provider, address indexed market, uint256 amount, uint256 totalBonded);
    event BondReleased(address indexed provider, address indexed market, uint256 amount, uint256 totalBonded);
    event StakeSlashed(
        address indexed provider, address indexed market, uint256 amount, uint256 newStake, uint256 totalBonded
    );
    event MinStakeUpdated(uint256 minStake);
    event UnbondingDelayUpdated(uint64 delay);

    // ---- provider actions ----
    function register(
        uint256 stake,
        address attestationSigner,
        bytes32 reportHash,
        string calldata metadataURI,
        bytes calldata keyProof
    ) external;
    function addStake(uint256 amount) external;
    function requestUnbond(uint256 amount) external;
    function cancelUnbond() external;
    function withdrawUnbonded() external;
    function rotateAttestationKey(address newSigner, bytes32 newReportHash, bytes calldata keyProof) external;
    function updateMetadata(string calldata metadataURI) external;

    // ---- market actions ----
    function lockBond(address provider, uint256 amount) external;
    function releaseBond(address provider, uint256 amount) external;
    function slash(address provider, uint256 amount) external returns (uint256 slashed);

    // ---- views ----
    function stakeToken() external view returns (address);
    function providerOf(address provider) external view returns (Provider memory);
    function attestationSignerOf(address provider) external view returns (address);
    function freeStakeOf(address provider) external view returns (uint256);
    function isRegistered(address provider) external view returns (bool);
    function bondedBy(address provider, address market) external view returns (uint256);
}
