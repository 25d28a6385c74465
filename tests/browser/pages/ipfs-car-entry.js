// ipfs-car 3.1.0 for the page (bundled by esbuild): its encoder streams and a CAR block reader.
export { createFileEncoderStream, createDirectoryEncoderStream, CAREncoderStream } from 'ipfs-car'
export { CarBlockIterator } from '@ipld/car/iterator'
