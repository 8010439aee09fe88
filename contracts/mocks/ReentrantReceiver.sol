// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITokenReceiver} from "./CallbackToken.sol";

/// @title ReentrantReceiver
/// @notice Test-only attacker: on receiving tokens it calls back into `target` with `payload`
///         (e.g. TrainingMarket.withdraw()) and records whether the reentrant call succeeded.
contract ReentrantReceiver is ITokenReceiver {
    address public target;
    bytes public payload;
    uint256 public attempts;
    uint256 public successes;
    bytes public lastRevert;

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    /// @notice Forwards an arbitrary call (so the attacker can act as a market participant).
    function call(address to, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function onTokenTransfer(address, uint256) external {
        if (target == address(0) || attempts > 0) return;
        attempts += 1;
        (bool ok, bytes memory ret) = target.call(payload);
        if (ok) successes += 1;
        else lastRevert = ret;
    }
}
