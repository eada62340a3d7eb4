// libp2p 3.x calls Promise.withResolvers (Node >= 22). On Node 20 every Noise handshake would fail
// with "Promise.withResolvers is not a function", so supply it before libp2p is evaluated.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
