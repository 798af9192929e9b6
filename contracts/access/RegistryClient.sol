// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";

/// @title RegistryClient
/// @notice What every ledger contract shares: the institution registry that authorises callers and the
/// administrator's pause switch. One external view call per transaction, never per item of a batch.
abstract contract RegistryClient {
    IInstitutionRegistry internal immutable _registry;

    constructor(IInstitutionRegistry registry_) {
        _registry = registry_;
    }

    /// @notice The registry this contract trusts for roles, regions and the pause.
    function registry() external view returns (IInstitutionRegistry) {
        return _registry;
    }

    /// @dev Reverts unless the caller holds `role`, is active, and its region contains `region`.
    function _authorize(IInstitutionRegistry.Role role, uint64 region) internal view returns (uint64 actorRegion) {
        (, actorRegion) = _registry.authorize(msg.sender, _bit(role), region);
    }

    /// @dev As {_authorize}, accepting either of two roles; returns the role held.
    function _authorizeEither(
        IInstitutionRegistry.Role a,
        IInstitutionRegistry.Role b,
        uint64 region
    ) internal view returns (IInstitutionRegistry.Role role, uint64 actorRegion) {
        return _registry.authorize(msg.sender, _bit(a) | _bit(b), region);
    }

    /// @dev For permissionless entry points: only the pause applies.
    function _requireNotPaused() internal view {
        if (_registry.paused()) revert IInstitutionRegistry.LedgerPausedError();
    }

    function _bit(IInstitutionRegistry.Role role) private pure returns (uint16) {
        return uint16(1) << uint8(role);
    }
}
