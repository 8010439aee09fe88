// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, vm} from "./Vm.sol";

/// @title TestBase
/// @notice Minimal stand-in for forge-std's Test (not installable here; see contracts/test/README.md).
///         Hardhat 3's Solidity test runner (EDR, Foundry's runner) treats a contract as a suite when
///         it has `test*` / `invariant*` functions, calls `setUp()` first, runs functions with
///         parameters as fuzz tests, and reads the invariant targets through the `target*()` /
///         `exclude*()` getters below. A test fails when it reverts, so the assertions revert with
///         a message naming both values.
abstract contract TestBase {
    bool public IS_TEST = true;

    /// @notice Invariant target: a contract and the selectors to call on it.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    address[] private _excludeContracts;
    address[] private _targetSenders;
    address[] private _excludeSenders;
    FuzzSelector[] private _targetSelectors;

    // ------------------------------------------------------------------ invariant targets

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludeContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetContract(address a) internal {
        _targetContracts.push(a);
    }

    function excludeContract(address a) internal {
        _excludeContracts.push(a);
    }

    function targetSender(address a) internal {
        _targetSenders.push(a);
    }

    function excludeSender(address a) internal {
        _excludeSenders.push(a);
    }

    function targetSelector(FuzzSelector memory s) internal {
        _targetSelectors.push(s);
    }

    // ------------------------------------------------------------------ fuzz helpers

    /// @notice Maps `x` into [min, max]: values already inside are kept, the few smallest and
    ///         largest inputs land on the edges (so boundary cases get hit), others wrap around.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: max < min");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1; // size == 0 only for the full range, caught above
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        return min + (x % size);
    }

    // ------------------------------------------------------------------ assertions

    function fail(string memory what) internal pure {
        revert(string.concat("assertion failed: ", what));
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) fail(what);
    }

    function assertFalse(bool c, string memory what) internal pure {
        if (c) fail(what);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", _u(a), " != ", _u(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", _h(uint256(uint160(a))), " != ", _h(uint256(uint160(b)))));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", _h(uint256(a)), " != ", _h(uint256(b))));
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", a ? "true" : "false", " != ", b ? "true" : "false"));
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) fail(string.concat(what, ": ", _u(a), " > ", _u(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) fail(string.concat(what, ": ", _u(a), " < ", _u(b)));
    }

    function assertLt(uint256 a, uint256 b, string memory what) internal pure {
        if (a >= b) fail(string.concat(what, ": ", _u(a), " >= ", _u(b)));
    }

    // ------------------------------------------------------------------ formatting

    function _u(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) ++len;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + (v % 10)));
        return string(b);
    }

    function _h(uint256 v) internal pure returns (string memory) {
        bytes memory b = new bytes(66);
        b[0] = "0";
        b[1] = "x";
        for (uint256 i = 65; i > 1; --i) {
            b[i] = bytes1(uint8(bytes("0123456789abcdef")[v & 15]));
            v >>= 4;
        }
        return string(b);
    }
}
