// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Regions} from "../libraries/Regions.sol";

/// @title RegionsHarness
/// @notice Test only: exposes {Regions} so tests can compare it with `lib/regions.ts`.
contract RegionsHarness {
    function isValid(uint64 code) external pure returns (bool) {
        return Regions.isValid(code);
    }

    function level(uint64 code) external pure returns (uint8) {
        return Regions.level(code);
    }

    function contains(uint64 outer, uint64 inner) external pure returns (bool) {
        return Regions.contains(outer, inner);
    }

    function isChild(uint64 parent, uint64 child) external pure returns (bool) {
        return Regions.isChild(parent, child);
    }
}
