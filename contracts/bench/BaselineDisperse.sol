// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title BaselineDisperse
/// @notice Benchmark baseline only: one ERC-20 transfer per recipient inside a single transaction.
contract BaselineDisperse {
    error BaselineTransferFailed(address recipient);

    function disperse(IERC20 token, address[] calldata recipients, uint256 amount) external {
        for (uint256 i = 0; i < recipients.length; ++i) {
            if (!token.transfer(recipients[i], amount)) revert BaselineTransferFailed(recipients[i]);
        }
    }
}
