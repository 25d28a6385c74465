// What Helia and libp2p use and Node 20 lacks. A module of its own, imported first, so that it
// runs before any of their modules is evaluated.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
