// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {TestBase} from "./utils/TestBase.sol";
import {Vm, vm} from "./utils/Vm.sol";

contract Counter {
    uint256 public n;
    event Bumped(uint256 n);
    function bump() external { n++; emit Bumped(n); vm.warp(block.timestamp + 100); }
    function t() external view returns (uint256) { return block.timestamp; }
}

contract ProbeTest is TestBase {
    Counter c;
    uint256 public lastT;
    function setUp() public { c = new Counter(); targetContract(address(c)); }
    function test_sign() public {
        address a = vm.addr(123);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(123, keccak256("x"));
        assertEq(ecrecover(keccak256("x"), v, r, s), a, "rec");
        vm.recordLogs();
        c.bump();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "logs");
        vm.warp(1000);
        assertEq(c.t(), 1000, "warp");
    }
    function testFuzz_bound(uint256 x) public pure { uint256 y = bound(x, 5, 10); assertTrue(y >= 5 && y <= 10, "b"); }
    uint256 start; function setStart() external {} 
 function invariant_time() public view { assertEq(c.t(), 1 + c.n() * 100, "t"); }
}
