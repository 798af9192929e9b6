// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BaselineToken
/// @notice Benchmark baseline only: a plain OpenZeppelin ERC-20, the usual way aid platforms move value.
contract BaselineToken is ERC20 {
    constructor(uint256 supply) ERC20("Baseline", "BASE") {
        _mint(msg.sender, supply);
    }
}
