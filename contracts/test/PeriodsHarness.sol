// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Periods} from "../libraries/Periods.sol";

/// @title PeriodsHarness
/// @notice Test only: exposes {Periods} so tests can compare it with `lib/periods.ts`.
contract PeriodsHarness {
    function at(uint256 timestamp) external pure returns (uint24) {
        return Periods.at(timestamp);
    }

    function add(uint24 period, uint256 months) external pure returns (uint24) {
        return Periods.add(period, months);
    }
}
