// The demo: pack in a Web Worker (the carport npm package), upload shard by shard to the edge
// worker, link to the gateway, and follow the archive record until the deal is active, checking
// the inclusion proof here against the piece CIDs this page computed.
import { pack, verifyArchive, createName, exportName, importName, publish as publishName, resolve } from './carport/src/browser.js'

const $ = (id) => document.getElementById(id)
const STAGES = ['stored', 'aggregated', 'offered', 'accepted', 'processing', 'sealing', 'complete']
const config = await (await fetch('config.json')).json()
const mb = (n) => n < 1e4 ? `${n} bytes` : `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`
let busy = false

function fail (message) {
  $('error').textContent = message
  $('error').hidden = false
  busy = false
}

/** A message a person can act on, for what went wrong. */
function explain (e) {
  if (e?.code === 'NotReadable' || e?.name === 'NotReadableError' || e?.name === 'NotFoundError') {
    return 'A file changed or went away while it was being read. Pick it again.'
  }
  return e?.message ?? String(e)
}

// --- choosing -----------------------------------------------------------------------------------

// The inputs are cleared after each pick, so picking the same thing again (changed) works.
$('files').addEventListener('change', (ev) => {
  const files = [...ev.target.files]
  ev.target.value = ''
  if (files.length) publish(files.length === 1 ? files[0] : files)
})
$('folder').addEventListener('change', (ev) => {
  const files = [...ev.target.files]
  ev.target.value = ''
  if (files.length) publish(files)
})
const drop = $('drop')
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', async (ev) => {
  ev.preventDefault()
  drop.classList.remove('over')
  const items = [...ev.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean)
  try {
    if (items.length === 1 && items[0].isFile) return publish(await fileOf(items[0]))
    if (items.length === 1 && items[0].isDirectory) return publish(await entriesOf(items[0], ''))
    const all = []
    for (const item of items) all.push(...(item.isFile ? [{ path: item.name, content: await fileOf(item) }] : await entriesOf(item, item.name + '/')))
    publish(all)
  } catch (e) {
    fail(explain(e))
  }
})

const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject))

/** A dropped folder as `{ path, content }` entries, paths relative to it (as `carport pack DIR`). */
async function entriesOf (dir, prefix) {
  const out = []
  const reader = dir.createReader()
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject))
    if (!batch.length) break
    for (const e of batch) {
      if (e.isFile) out.push({ path: prefix + e.name, content: await fileOf(e) })
      else {
        out.push({ path: prefix + e.name, type: 'directory' })
        out.push(...await entriesOf(e, `${prefix}${e.name}/`))
      }
    }
  }
  return out
}

// --- publishing -----------------------------------------------------------------------------------

async function publish (input) {
  if (busy) return
  busy = true
  $('error').hidden = true
  for (const id of ['upload', 'archive', 'open', 'pack-result', 'name']) $(id).hidden = true
  $('pack').hidden = false
  let packed
  try {
    packed = await packIt(input)
  } catch (e) {
    return fail(`Packing failed: ${explain(e)}`)
  }
  try {
    await uploadIt(packed)
  } catch (e) {
    return fail(e.message)
  }
  showName(packed.root)
  followArchive(packed).catch((e) => fail(e.message))
}

async function packIt (input) {
  const progress = $('pack-progress')
  const job = pack(input, {
    piece: true,
    onProgress ({ bytesRead, bytesTotal, blocks }) {
      progress.max = bytesTotal || 1
      progress.value = bytesRead
      $('pack-status').textContent = `${mb(bytesRead)}${bytesTotal ? ` of ${mb(bytesTotal)}` : ''} read, ${blocks} blocks`
    }
  })
  const { root, shards, blocks, bytesRead } = await job.collect()
  progress.max = 1
  progress.value = 1
  $('pack-status').textContent = `${mb(bytesRead)} packed into ${shards.length} CAR shard${shards.length === 1 ? '' : 's'}`
  $('root-cid').textContent = root
  $('blocks').textContent = String(blocks)
  $('shards').textContent = `${shards.length} (${mb(shards.reduce((n, s) => n + s.size, 0))})`
  $('piece-cids').replaceChildren(...shards.map((s) => {
    const li = document.createElement('li')
    const code = document.createElement('code')
    code.textContent = s.piece.cid
    li.append(code)
    return li
  }))
  $('pack-result').hidden = false
  return { root, shards }
}

/** POSTs one shard with XMLHttpRequest (fetch cannot report upload progress). */
function send (shard, root, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `${config.worker}/upload`)
    xhr.setRequestHeader('Authorization', `Bearer ${config.token}`)
    xhr.setRequestHeader('X-Carport-Root', root)
    xhr.setRequestHeader('X-Carport-Piece', shard.piece.cid)
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded)
    xhr.onload = () => {
      let body
      try { body = JSON.parse(xhr.responseText) } catch { body = { error: xhr.responseText } }
      if (xhr.status >= 400) {
        reject(new Error(`Upload refused (${xhr.status}): ${body.error}${body.cid ? ` [${body.cid}]` : ''}`))
      } else resolve(body)
    }
    xhr.onerror = () => reject(new Error(`The edge worker at ${config.worker} is unreachable. Is \`./dev up\` running?`))
    xhr.send(shard.blob)
  })
}

async function uploadIt ({ root, shards }) {
  $('upload').hidden = false
  const total = shards.reduce((n, s) => n + s.size, 0)
  const progress = $('upload-progress')
  progress.max = total
  let done = 0
  for (const [n, s] of shards.entries()) {
    $('upload-status').textContent = `shard ${n + 1} of ${shards.length}`
    const answer = await send(s, root, (loaded) => { progress.value = done + loaded })
    if (answer.piece !== s.piece.cid) throw new Error(`The edge computed piece ${answer.piece} for shard ${n + 1}, this browser ${s.piece.cid}`)
    done += s.size
    progress.value = done
  }
  $('upload-status').textContent = `${mb(total)} in ${shards.length} shard${shards.length === 1 ? '' : 's'} uploaded; every block verified by the edge`
  const sub = new URL(config.gateway)
  sub.hostname = `${root}.ipfs.${sub.hostname}`
  $('gateway-link').href = $('gateway-link').textContent = sub.href
  $('path-link').href = $('path-link').textContent = `${config.worker}/ipfs/${root}/`
  $('open').hidden = false
}

// --- publishing to a name (IPNS) ------------------------------------------------------------------

const ipns = { createName, exportName, importName, publish: publishName, resolve }
let lastRoot = null

/** The demo's name key, kept in IndexedDB (`carport-demo` / `keys` / `name`) as exportName gives it. */
function keyStore (mode, f) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('carport-demo', 1)
    open.onupgradeneeded = () => open.result.createObjectStore('keys')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const tx = open.result.transaction('keys', mode)
      const req = f(tx.objectStore('keys'))
      tx.oncomplete = () => { open.result.close(); resolve(req.result) }
      tx.onerror = () => reject(tx.error)
    }
  })
}

async function myName () {
  const kept = await keyStore('readonly', (s) => s.get('name'))
  if (kept) return ipns.importName(kept)
  const made = await ipns.createName()
  await keyStore('readwrite', (s) => s.put(ipns.exportName(made), 'name'))
  return made
}

function showName (uploadedRoot) {
  lastRoot = uploadedRoot
  $('name').hidden = false
  $('name-status').textContent = `publish ${uploadedRoot} under your name`
}

$('publish-name').addEventListener('click', async () => {
  if (!lastRoot) return
  $('publish-name').disabled = true
  try {
    const n = await myName()
    $('name-status').textContent = `signing a record for ${n.name}…`
    // A short TTL: a demo's link should move within seconds of a republish.
    const p = await ipns.publish(n, lastRoot, { endpoint: config.worker, ttl: 5_000 })
    const link = new URL(config.gateway)
    link.hostname = `${n.name}.ipns.${link.hostname}`
    $('name-link').href = $('name-link').textContent = link.href
    $('name-open').hidden = false
    $('export-name').hidden = false
    $('name-status').textContent = `${n.name} → ${p.value} (sequence ${p.sequence}; key made by ${n.madeBy === 'import' ? 'this browser earlier' : n.madeBy})`
  } catch (e) {
    fail(`Publishing to your name failed: ${explain(e)}`)
  } finally {
    $('publish-name').disabled = false
  }
})

$('export-name').addEventListener('click', async () => {
  const kept = await keyStore('readonly', (s) => s.get('name'))
  const a = document.createElement('a')
  a.href = URL.createObjectURL(new Blob([JSON.stringify(kept, null, 2)], { type: 'application/json' }))
  a.download = `ipns-key-${kept.name}.json`
  a.click()
})

async function followArchive ({ root, shards }) {
  $('archive').hidden = false
  const pieces = shards.map((s) => s.piece.cid)
  let checked = null
  for (;;) {
    let record
    try {
      const r = await fetch(`${config.worker}/archive/${root}`)
      if (!r.ok) throw new Error(`archive record: ${r.status} ${await r.text()}`)
      record = await r.json()
    } catch (e) {
      $('archive-note').textContent = e instanceof TypeError ? `(the edge worker at ${config.worker} is unreachable; retrying)` : `(${e.message})`
      await new Promise((resolve) => setTimeout(resolve, 2000))
      continue
    }
    showStage(record)
    const s0 = record.shards[0]
    if (s0?.aggregate && record.shards.every((s) => s.inclusionProof) && checked !== s0.aggregate) {
      checked = s0.aggregate
      $('aggregate').textContent = s0.aggregate
      $('archive-result').hidden = false
      const verdict = $('proof-verdict')
      try {
        await verifyArchive(record, { pieceCid: pieces })
        verdict.className = 'ok'
        verdict.textContent = `✓ verified in this browser: every piece this page computed is in the aggregate (${pieces.length} proof${pieces.length === 1 ? '' : 's'})`
      } catch (e) {
        verdict.className = 'bad'
        verdict.textContent = `✗ the proof does not hold: ${e.message}`
      }
    }
    if (s0?.deal) {
      const d = s0.deal
      $('deal').textContent = `${d.dealId ? `deal ${d.dealId}, ` : ''}proposal ${d.proposal}${d.provider ? ` with provider ${d.provider}` : ''}`
    }
    if (record.stage === 'complete') {
      busy = false
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

function showStage (record) {
  const at = STAGES.indexOf(record.stage)
  $('archive-stage').textContent = record.stage === 'complete' ? 'deal active (complete)' : record.stage
  $('archive-stage').dataset.stage = record.stage
  $('archive-note').textContent = record.shards.find((s) => s.note)?.note ?? ''
  for (const li of $('stages').children) {
    const i = STAGES.indexOf(li.dataset.stage)
    li.className = i < at || record.stage === 'complete' ? 'done' : i === at ? 'now' : ''
  }
}

window.demoReady = true
