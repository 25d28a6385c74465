// A pool of hashing workers (Web Workers in browsers, worker_threads in Node) beside the thread
// that packs. Tasks wait in one queue that every worker pulls from when it is idle (up to DEPTH in
// flight each), so work is taken, not dealt out up front: a slow or busy worker takes fewer tasks
// and never holds the job back. A worker that fails to start is dropped (the work is done in the
// packing thread if none started); a worker that dies once started fails the job with a
// CarportError `Worker`, and closing the pool (end of the job, abort) ends every worker.

import { CarportError, abortError, deserializeError } from './errors.js'

/** Tasks each worker holds at most: the one it hashes and the next, so it never waits for a
 * message from a thread that is busy (helping, or packing). */
const DEPTH = 2

/** A worker that has not started after this long is left out. */
const START_MS = 10_000

/** Workers alive in this thread's pools (for tests: an aborted job leaves none). */
let live = 0
export function liveWorkers () {
  return live
}

/** The pool size when none is asked for: every core the platform reports. */
export function defaultPoolSize () {
  const n = globalThis.navigator?.hardwareConcurrency
  return typeof n === 'number' && n > 0 ? n : 1
}

/**
 * A worker as the pool sees it, over a Web Worker or a node:worker_threads Worker.
 * @param {any} w
 */
function adapt (w) {
  if (typeof w.on === 'function' && typeof w.addEventListener !== 'function') {
    return {
      post: (msg, transfer) => w.postMessage(msg, transfer),
      listen: (onMessage, onFail) => {
        w.on('message', (data) => onMessage(data))
        w.on('error', (e) => onFail(e?.message ?? String(e)))
        w.on('messageerror', () => onFail('a message could not be read'))
        w.on('exit', (code) => onFail(`it exited (code ${code})`))
      },
      terminate: () => { w.terminate() }
    }
  }
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    listen: (onMessage, onFail) => {
      w.onmessage = ({ data }) => onMessage(data)
      w.onerror = (e) => {
        e.preventDefault?.()
        onFail(e.message || 'an uncaught error')
      }
      w.onmessageerror = () => onFail('a message could not be read')
    },
    terminate: () => w.terminate()
  }
}

export class Pool {
  /**
   * @param {number} size workers to start
   * @param {() => any} start starts one worker (a Web Worker or a worker_threads Worker)
   * @param {any} init posted to each worker first (where its Wasm is); it answers `{ type: 'ready' }`
   */
  constructor (size, start, init) {
    this.queue = []
    this.workers = []
    this.failure = null
    this.closed = false
    const starting = []
    for (let i = 0; i < size; i++) {
      let w
      try {
        w = adapt(start())
      } catch {
        continue
      }
      live++
      const slot = { w, tasks: [], ready: false, gone: false }
      starting.push(new Promise((resolve) => {
        // A worker that never answers (its script missing, a bundler that left it out) is given
        // up after START_MS, so a job never waits for it.
        const timer = setTimeout(() => this.drop(slot), START_MS)
        slot.started = () => {
          clearTimeout(timer)
          resolve()
        }
        w.listen((data) => this.message(slot, data), (why) => this.failed(slot, why))
      }))
      try {
        w.post({ type: 'init', init })
      } catch {
        this.drop(slot)
      }
      this.workers.push(slot)
    }
    /** Resolves with the number of workers that started. */
    this.ready = Promise.all(starting).then(() => this.workers.filter((s) => s.ready).length)
  }

  /** Runs `task` on the first worker free; resolves with its answer. */
  run (task, transfer = []) {
    if (this.failure) return Promise.reject(this.failure)
    if (this.closed) return Promise.reject(abortError())
    return new Promise((resolve, reject) => {
      this.queue.push({ task, transfer, resolve, reject })
      this.pump()
    })
  }

  /** Hands waiting tasks to the workers with the fewest, up to DEPTH each. */
  pump () {
    for (let depth = 1; depth <= DEPTH; depth++) {
      for (const slot of this.workers) {
        if (!this.queue.length) return
        if (!slot.ready || slot.gone || slot.tasks.length >= depth) continue
        const job = this.queue.shift()
        slot.tasks.push(job)
        try {
          slot.w.post({ type: 'task', task: job.task }, job.transfer)
        } catch (e) {
          slot.tasks.pop()
          job.reject(e)
        }
      }
    }
  }

  /**
   * While `promise` is pending, this thread takes waiting tasks that `local` can run (it returns
   * undefined for the others) and runs them itself, yielding between tasks so the workers' answers
   * come in: the packing thread hashes too once it has nothing else to do.
   */
  async helpWhile (promise, local) {
    let settled = false
    promise.then(() => { settled = true }, () => { settled = true })
    while (!settled && !this.closed) {
      const i = this.queue.findIndex((j) => j.task.op === 'run')
      if (i < 0) break
      const [job] = this.queue.splice(i, 1)
      try {
        job.resolve(await local(job.task))
      } catch (e) {
        job.reject(e)
      }
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    return promise
  }

  message (slot, data) {
    if (data?.type === 'ready') {
      slot.ready = true
      slot.started()
      this.pump()
      return
    }
    if (data?.type === 'failed-start') {
      this.drop(slot)
      return
    }
    const job = slot.tasks.shift()
    if (job) {
      if (data.type === 'done') job.resolve(data.result)
      else job.reject(deserializeError(data.error))
    }
    this.pump()
  }

  /** A worker that could not start (its script or its Wasm) is left out; the others go on. */
  drop (slot) {
    if (slot.gone) return
    slot.gone = true
    live--
    slot.w.terminate()
    slot.started?.()
  }

  /** A worker died: before it started, it is dropped; after, the job fails. */
  failed (slot, why) {
    if (slot.gone) return
    if (!slot.ready) return this.drop(slot)
    this.fail(new CarportError(`a carport pool worker crashed: ${why}`, { code: 'Worker' }))
  }

  fail (error) {
    if (this.failure || this.closed) return
    this.failure = error
    this.end(error)
  }

  /** Ends every worker; waiting tasks are rejected. */
  close () {
    if (this.closed) return
    this.end(abortError('the pool was closed'))
  }

  end (error) {
    this.closed = true
    for (const slot of this.workers) {
      for (const job of slot.tasks.splice(0)) job.reject(error)
      if (!slot.gone) {
        slot.gone = true
        live--
        slot.w.terminate()
        slot.started?.()
      }
    }
    for (const job of this.queue.splice(0)) job.reject(error)
  }
}
