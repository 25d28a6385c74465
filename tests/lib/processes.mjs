// What the suites that start local servers share (no dependencies, so the npm package's own tests
// can use it too): a free port on 127.0.0.1, the environment wrangler runs quietly and offline in,
// and stopping a detached process group.
import net from 'node:net'

export function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

export function wranglerEnv () {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0'
  }
}

/** Stops a child started with `detached: true` and its whole group: SIGTERM, SIGKILL after 5 s. */
export async function stopGroup (child) {
  if (child.exitCode !== null) return
  const done = new Promise((resolve) => child.once('exit', resolve))
  try { process.kill(-child.pid, 'SIGTERM') } catch {}
  const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch {} }, 5000)
  await done
  clearTimeout(t)
}
