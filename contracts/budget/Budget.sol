// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IBudget} from "../interfaces/IBudget.sol";
import {IPayouts} from "../interfaces/IPayouts.sol";
import {Programmes} from "../programmes/Programmes.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title Budget
/// @notice The fund trail. Each function moves money between exactly two places and emits one event, so
/// `appropriated == held + paidOut` holds after every transaction and an auditor can replay the trail.
abstract contract Budget is IBudget, Programmes {
    mapping(uint64 region => uint256) private _balances;
    mapping(uint32 programmeId => uint256) internal _pools;
    mapping(uint32 programmeId => uint256) internal _programmePaid;
    uint256 private _appropriated;
    uint256 internal _paidOut;
    mapping(bytes32 payoutId => uint256) private _clawedBack;

    /// @inheritdoc IBudget
    function appropriate(uint256 amount, bytes32 referenceDigest) external {
        _requireExactRegion(Regions.CENTRAL);
        if (amount == 0) revert LedgerZeroAmount();
        _appropriated += amount;
        _balances[Regions.CENTRAL] += amount;
        emit FundsAppropriated(amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function allocate(uint64 fromRegion, uint64 toRegion, uint256 amount, bytes32 referenceDigest) external {
        _requireExactRegion(fromRegion);
        if (!Regions.isValid(toRegion) || !Regions.isChild(fromRegion, toRegion) || Regions.level(toRegion) > 3) {
            revert LedgerNotAdjacentRegion(fromRegion, toRegion);
        }
        _move(fromRegion, toRegion, amount);
        emit FundsAllocated(fromRegion, toRegion, amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function returnFunds(uint64 fromRegion, uint64 toRegion, uint256 amount, bytes32 referenceDigest) external {
        _requireExactRegion(fromRegion);
        if (!Regions.isValid(toRegion) || !Regions.isChild(toRegion, fromRegion)) {
            revert LedgerNotAdjacentRegion(fromRegion, toRegion);
        }
        _move(fromRegion, toRegion, amount);
        emit FundsReturned(fromRegion, toRegion, amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function fundProgramme(uint32 programmeId, uint256 amount, bytes32 referenceDigest) external {
        uint64 region = _programme(programmeId).region;
        _requireExactRegion(region);
        if (amount == 0) revert LedgerZeroAmount();
        uint256 available = _balances[region];
        if (available < amount) revert LedgerInsufficientFunds(available, amount);
        _balances[region] = available - amount;
        _pools[programmeId] += amount;
        emit ProgrammeFunded(programmeId, region, amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function defundProgramme(uint32 programmeId, uint256 amount, bytes32 referenceDigest) external {
        uint64 region = _programme(programmeId).region;
        _requireExactRegion(region);
        if (amount == 0) revert LedgerZeroAmount();
        uint256 available = _pools[programmeId];
        if (available < amount) revert LedgerInsufficientFunds(available, amount);
        _pools[programmeId] = available - amount;
        _balances[region] += amount;
        emit ProgrammeDefunded(programmeId, region, amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function recordClawback(IPayouts.PayoutKey calldata key, uint256 amount, bytes32 referenceDigest) external {
        (bool settled, uint32 programmeId, uint64 paidAmount) = _settledPayout(key);
        if (programmeId == 0) revert LedgerPayoutNotSettled(key.caseId, key.period, key.eventId);
        _requireExactRegion(_programmes[programmeId].region);
        if (!settled) revert LedgerPayoutNotSettled(key.caseId, key.period, key.eventId);
        if (amount == 0) revert LedgerZeroAmount();
        bytes32 id = keccak256(abi.encode(key.caseId, key.period, key.eventId));
        uint256 left = paidAmount - _clawedBack[id];
        if (amount > left) revert LedgerClawbackExceedsPayout(key.caseId, key.period, key.eventId, left);
        _clawedBack[id] += amount;
        _programmePaid[programmeId] -= amount;
        _paidOut -= amount;
        _pools[programmeId] += amount;
        emit ClawbackRecorded(key.caseId, programmeId, key.eventId, key.period, amount, referenceDigest);
    }

    /// @inheritdoc IBudget
    function clawedBack(IPayouts.PayoutKey calldata key) external view returns (uint256) {
        return _clawedBack[keccak256(abi.encode(key.caseId, key.period, key.eventId))];
    }

    /// @inheritdoc IBudget
    function regionBalance(uint64 region) external view returns (uint256) {
        return _balances[region];
    }

    /// @inheritdoc IBudget
    function poolBalance(uint32 programmeId) external view returns (uint256) {
        return _pools[programmeId];
    }

    /// @inheritdoc IBudget
    function programmePaidOut(uint32 programmeId) external view returns (uint256) {
        return _programmePaid[programmeId];
    }

    /// @inheritdoc IBudget
    function fundTotals() external view returns (uint256 appropriated, uint256 held, uint256 paidOut) {
        return (_appropriated, _appropriated - _paidOut, _paidOut);
    }

    /// @dev Debits a programme pool for payouts already checked against it.
    function _recordPayouts(uint32 programmeId, uint256 total) internal {
        _pools[programmeId] -= total;
        _programmePaid[programmeId] += total;
        _paidOut += total;
    }

    /// @dev Credits a programme pool with a payout the bank could not make.
    function _recordFailedPayout(uint32 programmeId, uint256 amount) internal {
        _programmePaid[programmeId] -= amount;
        _paidOut -= amount;
        _pools[programmeId] += amount;
    }

    /// @dev Whether the payout is settled, its case's programme (zero for an unknown case) and its amount.
    function _settledPayout(
        IPayouts.PayoutKey calldata key
    ) internal view virtual returns (bool settled, uint32 programmeId, uint64 amount);

    function _move(uint64 fromRegion, uint64 toRegion, uint256 amount) private {
        if (amount == 0) revert LedgerZeroAmount();
        uint256 available = _balances[fromRegion];
        if (available < amount) revert LedgerInsufficientFunds(available, amount);
        _balances[fromRegion] = available - amount;
        _balances[toRegion] += amount;
    }

    /// @dev A finance bureau moves only the funds it holds itself: its region must be exactly `region`.
    function _requireExactRegion(uint64 region) private view {
        uint64 actorRegion = _authorize(IInstitutionRegistry.Role.Finance, region);
        if (actorRegion != region) revert IInstitutionRegistry.LedgerUnauthorizedRegion(msg.sender, region);
    }
}
