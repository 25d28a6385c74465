// carport/worker is a Web Worker script: start it with
// `new Worker(new URL('carport/worker', import.meta.url), { type: 'module' })` and pass it as
// `{ worker: () => w }`, or let carport start it. It exports nothing.
export {}
