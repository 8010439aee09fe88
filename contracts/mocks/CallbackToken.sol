// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receiver hook called by CallbackToken on every transfer to a contract (ERC-777 style).
interface ITokenReceiver {
    function onTokenTransfer(address from, uint256 amount) external;
}

/// @title CallbackToken
/// @notice Test-only ERC-20 that calls the recipient back on every transfer, to test reentrancy.
contract CallbackToken is ERC20 {
    constructor() ERC20("Callback Token", "CBT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to.code.length > 0) {
            // Best effort, like ERC-777 hooks on contracts that implement them: receivers without the
            // hook (the market, the registry) still accept tokens.
            try ITokenReceiver(to).onTokenTransfer(from, value) {} catch {}
        }
    }
}
