// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAnchorLog
/// @notice The append-only log in which the gateway anchors batches of off-chain records. Each anchor commits
/// to a Merkle tree (RFC 6962 layout with keccak256, see {MerkleLog} and `lib/merkle.ts`) whose leaves are
/// keyed digests of encrypted records. Anchors are numbered 0, 1, 2, … without gaps, and together their
/// records form one global log: anchor `s` holds records `firstRecordIndex` to `firstRecordIndex +
/// recordCount - 1`.
interface IAnchorLog {
    /// @notice An anchor as stored, for readers. The batch's metadata digest is in its {RecordsAnchored} event
    /// only: keeping it in storage too would cost a third fresh slot (22,100 gas) per anchor.
    struct Anchor {
        bytes32 root; // Merkle tree head of the batch
        uint64 firstRecordIndex; // records anchored before this batch: its first index in the global log
        uint64 recordCount; // leaves in the tree
        uint64 region; // the region whose records the batch holds
        uint40 anchoredAt; // block timestamp
        uint40 blockNumber;
    }

    /// @notice Emitted when a batch of records is anchored as anchor number `sequence`.
    event RecordsAnchored(
        uint64 indexed sequence,
        uint64 indexed region,
        bytes32 root,
        uint64 recordCount,
        uint64 firstRecordIndex,
        bytes32 metadataDigest
    );

    /// @notice `expected` is not the number the next anchor gets (`next`): the batch was already anchored (a
    /// retry) or another anchor came first.
    error LedgerAnchorOutOfSequence(uint64 expected, uint64 next);
    /// @notice A Merkle root of zero was given.
    error LedgerAnchorZeroRoot();
    /// @notice A batch of zero records was given.
    error LedgerAnchorZeroRecordCount();
    /// @notice The region code is not a valid division code.
    error LedgerAnchorInvalidRegion(uint64 region);
    /// @notice No anchor has number `sequence`; `anchorCount` anchors exist.
    error LedgerUnknownAnchor(uint64 sequence, uint64 anchorCount);

    /// @notice Appends an anchor for a batch of `recordCount` records of `region` whose Merkle tree head is
    /// `root`. `expectedSequence` must be the number the anchor gets, which makes a retried call revert instead
    /// of anchoring twice. Active Anchorer whose region contains `region` only; reverts while paused.
    /// Emits a {RecordsAnchored} event.
    /// @return sequence The anchor's number, equal to `expectedSequence`.
    function anchor(
        uint64 expectedSequence,
        uint64 region,
        bytes32 root,
        uint64 recordCount,
        bytes32 metadataDigest
    ) external returns (uint64 sequence);

    /// @notice The number of anchors, which is also the number the next anchor gets.
    function anchorCount() external view returns (uint64);

    /// @notice The records anchored so far, over all anchors.
    function totalRecords() external view returns (uint64);

    /// @notice Anchor number `sequence`. Reverts with {LedgerUnknownAnchor} if there is none.
    function anchorAt(uint64 sequence) external view returns (Anchor memory);

    /// @notice Whether `proof` shows that `recordDigest` is the leaf at `index` of anchor `sequence`'s tree.
    /// `index` counts from the batch's first record (global index minus `firstRecordIndex`); `proof` is the
    /// audit path from the leaf upward, as `lib/merkle.ts` produces it. Reverts with {LedgerUnknownAnchor} if
    /// there is no anchor `sequence`.
    function verifyInclusion(
        uint64 sequence,
        uint256 index,
        bytes32 recordDigest,
        bytes32[] calldata proof
    ) external view returns (bool);
}
