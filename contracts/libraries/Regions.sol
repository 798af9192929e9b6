// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Regions
/// @notice China's administrative division codes and the subtree relation between them.
/// @dev A region is `0` (central), a six-digit GB/T 2260 code `PPCCDD` (province `PP0000`, city `PPCC00`,
/// county `PPCCDD`) or a twelve-digit statistical division code `PPCCDDTTTVVV` (township `PPCCDDTTT000`,
/// village otherwise). Six-digit codes are widened to twelve digits by appending `000000`; a code then
/// contains every code that shares its significant prefix.
library Regions {
    uint64 internal constant CENTRAL = 0;

    /// @notice Whether `code` is a well-formed region code.
    function isValid(uint64 code) internal pure returns (bool) {
        if (code == CENTRAL) return true;
        if (code >= 100_000_000_000) {
            // Twelve digits: a valid six-digit prefix (usually a county; cities without counties, such as
            // Dongguan 441900, have townships directly), then a township number from 001.
            return code <= 999_999_999_999 && _isValidSix(code / 1_000_000) && (code % 1_000_000) >= 1_000;
        }
        return _isValidSix(code);
    }

    function _isValidSix(uint64 code) private pure returns (bool) {
        // Province digits run 11..82; a code with no city digits has no county digits either.
        if (code < 110_000 || code > 829_999) return false;
        return (code / 100) % 100 != 0 || code % 100 == 0;
    }

    /// @notice Level of a region: 0 central, 1 province, 2 city, 3 county, 4 township, 5 village.
    function level(uint64 code) internal pure returns (uint8) {
        if (code == CENTRAL) return 0;
        uint64 wide = widen(code);
        if (wide % 10_000_000_000 == 0) return 1;
        if (wide % 100_000_000 == 0) return 2;
        if (wide % 1_000_000 == 0) return 3;
        if (wide % 1_000 == 0) return 4;
        return 5;
    }

    /// @notice Whether `inner` lies in the subtree rooted at `outer` (a region contains itself).
    function contains(uint64 outer, uint64 inner) internal pure returns (bool) {
        if (outer == CENTRAL) return true;
        if (inner == CENTRAL) return false;
        uint64 unit = _unit(level(outer));
        return widen(outer) / unit == widen(inner) / unit;
    }

    /// @notice Whether `child` is exactly one level below `parent` and inside it.
    function isChild(uint64 parent, uint64 child) internal pure returns (bool) {
        return level(child) == level(parent) + 1 && contains(parent, child);
    }

    /// @notice The twelve-digit form of a code (central stays 0).
    function widen(uint64 code) internal pure returns (uint64) {
        return code < 1_000_000 ? code * 1_000_000 : code;
    }

    function _unit(uint8 lvl) private pure returns (uint64) {
        if (lvl == 1) return 10_000_000_000;
        if (lvl == 2) return 100_000_000;
        if (lvl == 3) return 1_000_000;
        if (lvl == 4) return 1_000;
        return 1;
    }
}
