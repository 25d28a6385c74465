// The benchmark's npm peer for piece CIDs (bundled by bench.mjs with esbuild): FRC-0058 piece
// hashing from @web3-storage/data-segment 5.3.0 (what @filoz/synapse-core 0.5.2 depends on for
// its piece CIDs), streaming: create(), write(bytes), digest(); Piece.fromDigest names it.
export { create as pieceHasher } from '@web3-storage/data-segment/multihash'
export { fromDigest as pieceOfDigest, toString as pieceString } from '@web3-storage/data-segment/piece'
