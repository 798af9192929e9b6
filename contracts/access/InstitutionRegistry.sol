// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title InstitutionRegistry
/// @notice The administrator's (系統管理員) register of institutions, roles, regions and SM2 keys, and the
/// single emergency switch for the whole ledger. Ownership moves in two steps so a typo cannot lose it.
contract InstitutionRegistry is IInstitutionRegistry, Ownable2Step {
    using EnumerableSet for EnumerableSet.AddressSet;

    struct KeyRecord {
        uint64 validFrom;
        bytes32 digest;
    }

    mapping(address account => Institution) private _institutions;
    mapping(Role role => EnumerableSet.AddressSet) private _members;
    mapping(address account => KeyRecord[]) private _keyHistory;
    bool private _paused;

    constructor(address admin) Ownable(admin) {}

    /// @inheritdoc IInstitutionRegistry
    function registerInstitution(address account, Role role, uint64 region, bytes32 keyDigest) external onlyOwner {
        if (account == address(0) || keyDigest == bytes32(0)) revert RegistryZeroValue();
        if (role == Role.None) revert RegistryInvalidRole(role);
        if (!Regions.isValid(region)) revert RegistryInvalidRegion(region);
        if (_institutions[account].role != Role.None) revert RegistryInstitutionExists(account);
        _institutions[account] = Institution({role: role, active: true, region: region, keyDigest: keyDigest});
        _members[role].add(account);
        _keyHistory[account].push(KeyRecord(uint64(block.timestamp), keyDigest));
        emit InstitutionRegistered(account, role, region, keyDigest);
    }

    /// @inheritdoc IInstitutionRegistry
    function setActive(address account, bool active) external onlyOwner {
        Institution storage inst = _known(account);
        inst.active = active;
        emit InstitutionActiveSet(account, active);
    }

    /// @inheritdoc IInstitutionRegistry
    function rotateKey(address account, bytes32 newKeyDigest) external onlyOwner {
        if (newKeyDigest == bytes32(0)) revert RegistryZeroValue();
        Institution storage inst = _known(account);
        bytes32 old = inst.keyDigest;
        inst.keyDigest = newKeyDigest;
        _keyHistory[account].push(KeyRecord(uint64(block.timestamp), newKeyDigest));
        emit InstitutionKeyRotated(account, old, newKeyDigest, uint64(block.timestamp));
    }

    /// @inheritdoc IInstitutionRegistry
    function pause() external onlyOwner {
        _paused = true;
        emit LedgerPaused(msg.sender);
    }

    /// @inheritdoc IInstitutionRegistry
    function unpause() external onlyOwner {
        _paused = false;
        emit LedgerUnpaused(msg.sender);
    }

    /// @notice Disabled: a ledger without an administrator could never be paused or have keys rotated again.
    function renounceOwnership() public view override onlyOwner {
        revert RegistryRenounceDisabled();
    }

    /// @inheritdoc IInstitutionRegistry
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IInstitutionRegistry
    function institution(address account) external view returns (Institution memory) {
        return _institutions[account];
    }

    /// @inheritdoc IInstitutionRegistry
    function authorize(
        address account,
        uint16 roles,
        uint64 region
    ) external view returns (Role role, uint64 actorRegion) {
        if (_paused) revert LedgerPausedError();
        Institution storage inst = _institutions[account];
        role = inst.role;
        if (role == Role.None || !inst.active || (roles & (uint16(1) << uint8(role))) == 0) {
            revert LedgerUnauthorizedRole(account, roles);
        }
        actorRegion = inst.region;
        if (!Regions.contains(actorRegion, region)) revert LedgerUnauthorizedRegion(account, region);
    }

    /// @inheritdoc IInstitutionRegistry
    function roleMemberCount(Role role) external view returns (uint256) {
        return _members[role].length();
    }

    /// @inheritdoc IInstitutionRegistry
    function roleMember(Role role, uint256 index) external view returns (address) {
        return _members[role].at(index);
    }

    /// @inheritdoc IInstitutionRegistry
    function keyDigestAt(address account, uint64 timestamp) external view returns (bytes32) {
        KeyRecord[] storage history = _keyHistory[account];
        // Key rotations are rare: a backward scan is cheaper to read than a binary search and as fast.
        for (uint256 i = history.length; i > 0; --i) {
            if (history[i - 1].validFrom <= timestamp) return history[i - 1].digest;
        }
        return bytes32(0);
    }

    function _known(address account) private view returns (Institution storage inst) {
        inst = _institutions[account];
        if (inst.role == Role.None) revert RegistryUnknownInstitution(account);
    }
}
