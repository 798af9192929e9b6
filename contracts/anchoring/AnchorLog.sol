// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IAnchorLog} from "../interfaces/IAnchorLog.sol";
import {RegistryClient} from "../access/RegistryClient.sol";
import {MerkleLog} from "../libraries/MerkleLog.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title AnchorLog
/// @notice The gateway's anchors: Merkle tree heads of batches of keyed record digests, numbered without gaps.
/// Only the tree head and counts are stored; records and their proofs stay off chain.
contract AnchorLog is IAnchorLog, RegistryClient {
    /// @dev Two slots per anchor: the root, and everything else packed into one (the metadata digest lives in the
    /// event). A valid region code is below 10^12 < 2^40; uint40 block numbers and timestamps last for millennia.
    struct StoredAnchor {
        bytes32 root;
        uint64 firstRecordIndex;
        uint64 recordCount;
        uint40 region;
        uint40 anchoredAt;
        uint40 blockNumber;
    }

    mapping(uint64 sequence => StoredAnchor) private _anchors;
    // One slot: an anchor updates both.
    uint64 private _anchorCount;
    uint64 private _totalRecords;

    constructor(IInstitutionRegistry registry_) RegistryClient(registry_) {}

    /// @inheritdoc IAnchorLog
    function anchor(
        uint64 expectedSequence,
        uint64 region,
        bytes32 root,
        uint64 recordCount,
        bytes32 metadataDigest
    ) external returns (uint64 sequence) {
        _authorize(IInstitutionRegistry.Role.Anchorer, region);
        if (!Regions.isValid(region)) revert LedgerAnchorInvalidRegion(region);
        if (root == bytes32(0)) revert LedgerAnchorZeroRoot();
        if (recordCount == 0) revert LedgerAnchorZeroRecordCount();
        sequence = _anchorCount;
        if (expectedSequence != sequence) revert LedgerAnchorOutOfSequence(expectedSequence, sequence);
        uint64 first = _totalRecords;
        _anchors[sequence] = StoredAnchor({
            root: root,
            firstRecordIndex: first,
            recordCount: recordCount,
            region: uint40(region),
            anchoredAt: uint40(block.timestamp),
            blockNumber: uint40(block.number)
        });
        _anchorCount = sequence + 1;
        _totalRecords = first + recordCount;
        emit RecordsAnchored(sequence, region, root, recordCount, first, metadataDigest);
    }

    /// @inheritdoc IAnchorLog
    function anchorCount() external view returns (uint64) {
        return _anchorCount;
    }

    /// @inheritdoc IAnchorLog
    function totalRecords() external view returns (uint64) {
        return _totalRecords;
    }

    /// @inheritdoc IAnchorLog
    function anchorAt(uint64 sequence) external view returns (Anchor memory) {
        StoredAnchor storage a = _stored(sequence);
        return
            Anchor({
                root: a.root,
                firstRecordIndex: a.firstRecordIndex,
                recordCount: a.recordCount,
                region: a.region,
                anchoredAt: a.anchoredAt,
                blockNumber: a.blockNumber
            });
    }

    /// @inheritdoc IAnchorLog
    function verifyInclusion(
        uint64 sequence,
        uint256 index,
        bytes32 recordDigest,
        bytes32[] calldata proof
    ) external view returns (bool) {
        StoredAnchor storage a = _stored(sequence);
        return MerkleLog.verifyInclusion(a.root, a.recordCount, index, MerkleLog.leafHash(recordDigest), proof);
    }

    function _stored(uint64 sequence) private view returns (StoredAnchor storage a) {
        uint64 count = _anchorCount;
        if (sequence >= count) revert LedgerUnknownAnchor(sequence, count);
        a = _anchors[sequence];
    }
}
