// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title MerkleLog
/// @notice Inclusion proofs for Merkle trees laid out as in RFC 6962 / RFC 9162 section 2.1, with
/// keccak256 as the hash: `leaf = keccak256(0x00 ‖ data)`, `node = keccak256(0x01 ‖ left ‖ right)`.
/// A tree of n > 1 leaves splits at k, the largest power of two below n. The prefixes keep a leaf
/// from ever being read as a node (second-preimage attacks). `lib/merkle.ts` builds the same trees.
library MerkleLog {
    /// @notice The leaf hash of a 32-byte record digest.
    function leafHash(bytes32 data) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore8(0x00, 0x00)
            mstore(0x01, data)
            h := keccak256(0x00, 0x21)
        }
    }

    /// @notice The interior node hash of two children.
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            h := keccak256(ptr, 0x41)
        }
    }

    /// @notice Whether `proof` shows that the leaf at `index` of a tree of `size` leaves hashes to `root`.
    /// @dev RFC 9162 section 2.1.3.2: walk up from the leaf, taking siblings from the proof.
    function verifyInclusion(
        bytes32 root,
        uint256 size,
        uint256 index,
        bytes32 leaf,
        bytes32[] calldata proof
    ) internal pure returns (bool) {
        if (index >= size) return false;
        uint256 fn = index;
        uint256 sn = size - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn) {
                r = nodeHash(proof[i], r);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = nodeHash(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }
}
