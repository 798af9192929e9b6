// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Periods
/// @notice Calendar months in China Standard Time (UTC+8), numbered `year * 12 + (month - 1)`:
/// November 2026 is period 24,322. Monthly entitlements are due once per period.
library Periods {
    int256 private constant _CST_OFFSET = 8 hours;

    /// @notice The period that contains `timestamp`.
    function at(uint256 timestamp) internal pure returns (uint24) {
        (uint256 year, uint256 month) = _civilMonth((int256(timestamp) + _CST_OFFSET) / 1 days);
        return uint24(year * 12 + month - 1);
    }

    /// @notice The period `months` after `period`.
    function add(uint24 period, uint256 months) internal pure returns (uint24) {
        return uint24(uint256(period) + months);
    }

    /// @dev Days since 1970-01-01 to (year, month), Howard Hinnant's `civil_from_days`.
    function _civilMonth(int256 z) private pure returns (uint256 year, uint256 month) {
        z += 719_468;
        int256 era = z / 146_097;
        int256 doe = z - era * 146_097;
        int256 yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        int256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int256 mp = (5 * doy + 2) / 153;
        int256 m = mp < 10 ? mp + 3 : mp - 9;
        int256 y = yoe + era * 400 + (m <= 2 ? int256(1) : int256(0));
        return (uint256(y), uint256(m));
    }
}
