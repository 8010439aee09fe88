// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

/// @title DelayedRoles
/// @notice OpenZeppelin `AccessControlDefaultAdminRules` (the admin role itself changes hands only
///         through a two-step transfer after `defaultAdminDelay()`), plus a delay on every other role
///         grant once the contract is live: a grant must first be announced with `scheduleGrant`
///         and can only be executed `ROLE_GRANT_DELAY` later, so that everyone with funds at stake
///         sees it coming and can leave first. Before the contract is live (`_live()` false: nobody
///         has anything at stake yet) grants are immediate, which lets a deployment wire itself up.
abstract contract DelayedRoles is AccessControlDefaultAdminRules {
    /// @notice Delay between announcing a role grant and being able to execute it.
    uint48 public constant ROLE_GRANT_DELAY = 2 days;
    /// @notice Delay of a default-admin transfer (and of changing that delay).
    uint48 public constant ADMIN_TRANSFER_DELAY = 2 days;

    /// @notice keccak(role, account) => when the scheduled grant becomes executable (0: none).
    mapping(bytes32 key => uint48 readyAt) public grantReadyAt;

    error GrantNotScheduled(bytes32 role, address account);
    error GrantNotReady(bytes32 role, address account, uint48 readyAt);

    event RoleGrantScheduled(bytes32 indexed role, address indexed account, uint48 readyAt);
    event RoleGrantCancelled(bytes32 indexed role, address indexed account);

    constructor(address admin) AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, admin) {}

    /// @notice Announces that `account` will be granted `role` after `ROLE_GRANT_DELAY`.
    function scheduleGrant(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        uint48 readyAt = uint48(block.timestamp) + ROLE_GRANT_DELAY;
        grantReadyAt[keccak256(abi.encode(role, account))] = readyAt;
        emit RoleGrantScheduled(role, account, readyAt);
    }

    /// @notice Withdraws an announced grant.
    function cancelGrant(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        delete grantReadyAt[keccak256(abi.encode(role, account))];
        emit RoleGrantCancelled(role, account);
    }

    /// @inheritdoc AccessControlDefaultAdminRules
    /// @dev Once live, only a grant scheduled at least `ROLE_GRANT_DELAY` ago can be executed.
    function grantRole(bytes32 role, address account) public virtual override {
        if (_live() && role != DEFAULT_ADMIN_ROLE) {
            bytes32 key = keccak256(abi.encode(role, account));
            uint48 readyAt = grantReadyAt[key];
            if (readyAt == 0) revert GrantNotScheduled(role, account);
            if (block.timestamp < readyAt) revert GrantNotReady(role, account, readyAt);
            delete grantReadyAt[key];
        }
        super.grantRole(role, account);
    }

    /// @dev True once anyone has value at stake in the contract.
    function _live() internal view virtual returns (bool);
}
