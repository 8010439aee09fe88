// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestToken
/// @notice ERC-20 with EIP-2612 permit used as the payment and stake token on local networks.
contract TestToken is ERC20, ERC20Permit, Ownable {
    /// @param owner_ May mint.
    constructor(address owner_) ERC20("Training Credit", "TCRED") ERC20Permit("Training Credit") Ownable(owner_) {}

    /// @notice Mints `amount` to `to` (owner only).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
