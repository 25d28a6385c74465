// A carport pool worker that starts as the real one does and then throws on its second task, as
// a worker that crashes mid-job: the job must fail with a clear error, not hang.
import '/npm/src/pool-worker.js'

let tasks = 0
self.addEventListener('message', ({ data }) => {
  if (data.type === 'task' && ++tasks === 2) {
    self.onmessage = null
    throw new Error('pool worker killed by the test')
  }
})
