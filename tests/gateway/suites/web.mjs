// Websites: the subdomain gateway ({cidv1}.ipfs.{host}), `_redirects` files, custom domains (KV,
// set through the admin route) and DNSLink (TXT through DNS-over-HTTPS, cached).
// Ports TestGatewaySubdomains and TestRedirectsFileSupport (+ its DNSLink and SPA variants).
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { Fixture, GW_HOST, ADMIN_TOKEN, TRUSTED_PROXY } from '../lib/harness.mjs'
import { CID } from 'multiformats/cid'
import { base32 } from 'multiformats/bases/base32'

const v1 = (c) => CID.parse(String(c)).toV1().toString(base32)

export function web (world) {
  const at = (host, p, h = {}) => world.client.get(p, { Host: host, ...h })

  describe('TestGatewaySubdomains', () => {
    let f, dir, cidv1, cidv0, cidv0to1, tooLong, pct
    const wiki = 'QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco'
    before(async () => {
      f = await Fixture.open('subdomain_gateway/fixtures.car')
      dir = f.cid('testdirlisting').toString()
      cidv1 = f.cid('hello-CIDv1').toString()
      cidv0 = f.cid('hello-CIDv0').toString()
      cidv0to1 = f.cid('hello-CIDv0to1').toString()
      tooLong = f.cid('hello-CIDv1_TOO_LONG').toString()
      pct = (await Fixture.open('path_gateway_unixfs/dir-with-percent-encoded-filename.car')).roots[0].toString()
    })
    test('example.com/ipfs/{cid} redirects to {cid}.ipfs.example.com', async () => {
      const r = await at(GW_HOST, `/ipfs/${cidv1}/`)
      assert.equal(r.status, 301)
      assert.ok(r.headers.location.includes(`http://${cidv1}.ipfs.${GW_HOST}/`))
    })
    test('the path remainder is kept, percent-encoded', async () => {
      const r = await at(GW_HOST, `/ipfs/${pct}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt`)
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, `http://${pct}.ipfs.${GW_HOST}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt`)
    })
    test('a folder CID redirects to its subdomain', async () => {
      const r = await at(GW_HOST, `/ipfs/${dir}/`)
      assert.equal(r.status, 301)
      assert.ok(r.headers.location.includes(`http://${dir}.ipfs.${GW_HOST}/`))
    })
    test('CIDv0 redirects to the CIDv1 subdomain', async () => {
      const r = await at(GW_HOST, `/ipfs/${cidv0}/`)
      assert.equal(r.status, 301)
      assert.ok(r.headers.location.includes(`http://${cidv0to1}.ipfs.${GW_HOST}/`))
    })
    test('{cid}.ipfs.example.com serves the payload', async () => {
      const r = await at(`${cidv1}.ipfs.${GW_HOST}`, '/')
      assert.equal(r.status, 200)
      assert.ok(r.body.toString().includes('hello'))
    })
    test('/ipfs/ is not mounted on a subdomain', async () => {
      assert.equal((await at(`${cidv1}.ipfs.${GW_HOST}`, `/ipfs/${cidv1}/`)).status, 404)
    })
    test('a content folder named ipfs is served on a subdomain', async () => {
      const r = await at(`${dir}.ipfs.${GW_HOST}`, '/ipfs/file.txt')
      assert.equal(r.status, 200)
      assert.ok(r.body.toString().includes('I am a txt file'))
    })
    test('listing links on a subdomain', async () => {
      const r = await at(`${dir}.ipfs.${GW_HOST}`, '/')
      assert.equal(r.status, 200)
      assert.ok(r.body.toString().includes('<a href="/hello">hello</a>'))
      assert.ok(r.body.toString().includes('<a href="/ipfs">ipfs</a>'))
      const sub = await at(`${dir}.ipfs.${GW_HOST}`, '/ipfs/ipns/')
      const html = sub.body.toString()
      assert.ok(html.includes('<a href="/ipfs/ipns/..">..</a>'))
      assert.ok(html.includes('<a href="/ipfs/ipns/bar">bar</a>'))
      assert.ok(html.includes('Index of'))
      assert.ok(html.includes(`/ipfs/<a href="//${GW_HOST}/ipfs/${dir}">${dir}</a>/<a href="//${GW_HOST}/ipfs/${dir}/ipfs">ipfs</a>/<a href="//${GW_HOST}/ipfs/${dir}/ipfs/ipns">ipns</a>`))
    })
    test('a deep file on a subdomain', async () => {
      const r = await at(`${dir}.ipfs.${GW_HOST}`, '/ipfs/ipns/bar')
      assert.equal(r.status, 200)
      assert.ok(r.body.toString().includes('text-file-content'))
    })
    test('an invalid CID: a useful error before any redirect', async () => {
      const r = await at(GW_HOST, '/ipfs/QmInvalidCID')
      assert.ok(r.body.toString().includes('invalid path "/ipfs/QmInvalidCID"'))
    })
    test('X-Forwarded-Proto picks the scheme of the redirect', async () => {
      for (const proto of ['https', 'http']) {
        const r = await at(GW_HOST, `/ipfs/${cidv1}/`, { 'X-Forwarded-Proto': proto, 'CF-Connecting-IP': TRUSTED_PROXY })
        assert.equal(r.status, 301)
        assert.equal(r.headers.location, `${proto}://${cidv1}.ipfs.${GW_HOST}/`)
      }
    })
    test('?uri=ipfs://... redirects to the content path', async () => {
      const r = await at(GW_HOST, `/ipfs/?uri=${encodeURIComponent(`ipfs://${wiki}/wiki/Diego_Maradona.html`)}`)
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, `/ipfs/${wiki}/wiki/Diego_Maradona.html`)
    })
    test('a CID too long for a DNS label: 400, on the path and the subdomain', async () => {
      for (const [host, p] of [[GW_HOST, `/ipfs/${tooLong}/`], [`${tooLong}.ipfs.${GW_HOST}`, '/']]) {
        const r = await at(host, p)
        assert.equal(r.status, 400)
        assert.match(r.body.toString(), /CID incompatible with DNS label length limit of 63/)
      }
    })
    test('a host that is no gateway is served as a path gateway', async () => {
      assert.equal((await at('fake.domain.com', `/ipfs/${cidv1}`)).status, 200)
    })
    test('X-Forwarded-Host makes it the subdomain gateway', async () => {
      for (const proto of [undefined, 'https', 'http']) {
        const h = { 'X-Forwarded-Host': GW_HOST, 'CF-Connecting-IP': TRUSTED_PROXY }
        if (proto) h['X-Forwarded-Proto'] = proto
        const r = await at('fake.domain.com', `/ipfs/${cidv1}`, h)
        assert.equal(r.status, 301)
        assert.equal(r.headers.location, `${proto ?? 'http'}://${cidv1}.ipfs.${GW_HOST}/`)
      }
    })
  })

  describe('TestRedirectsFileSupport', () => {
    let f, host, c404, c410, c451, file
    before(async () => {
      f = await Fixture.open('redirects_file/redirects.car')
      host = (name) => `${v1(f.cid(name))}.ipfs.${GW_HOST}`
      c404 = f.cid('examples', '404.html')
      c410 = f.cid('examples', '410.html')
      c451 = f.cid('examples', '451.html')
      file = (c) => f.file(c).toString()
    })
    const redirect = (from, status, to) => test(`${from} → ${status} ${to}`, async () => {
      const r = await at(host('examples'), from)
      assert.equal(r.status, status)
      assert.equal(r.headers.location, to)
    })
    redirect('/redirect-one', 301, '/one.html')
    redirect('/301-redirect-one', 301, '/one.html')
    redirect('/302-redirect-two', 302, '/two.html')
    redirect('/posts/2022/01/01/hello-world', 301, '/articles/2022/01/01/hello-world')
    redirect('/splat/one.html', 301, '/redirected-splat/one.html')
    test('/200-index rewrites to index.html with 200', async () => {
      const r = await at(host('examples'), '/200-index')
      assert.equal(r.status, 200)
      assert.match(r.body.toString(), /my index/)
    })
    for (const [p, status, c] of [['/not-found/has-no-redirects-entry', 404, () => c404], ['/gone/has-no-redirects-entry', 410, () => c410], ['/unavail/has-no-redirects-entry', 451, () => c451]]) {
      test(`${p} returns the custom ${status} page`, async () => {
        const r = await at(host('examples'), p)
        assert.equal(r.status, status)
        assert.equal(r.headers['cache-control'], 'public, max-age=29030400, immutable')
        assert.equal(r.headers.etag, `"${c()}"`)
        assert.ok(r.body.toString().includes(file(c())))
      })
    }
    test('/catch-all returns 200 with index.html (the SPA rule)', async () => {
      const r = await at(host('examples'), '/catch-all')
      assert.equal(r.status, 200)
      assert.match(r.body.toString(), /my index/)
    })
    test('an existing file is served as is, not caught by /*', async () => {
      const r = await at(host('examples'), '/one.html')
      assert.equal(r.status, 200)
      assert.equal(r.body.toString(), file(f.cid('examples', 'one.html')))
    })
    test('invalid file ("301!"): 500 saying why', async () => {
      const r = await at(host('forced'), '/not-found')
      assert.equal(r.status, 500)
      assert.match(r.body.toString(), /could not parse _redirects:/)
    })
    test('too large file: 500 saying why', async () => {
      const r = await at(host('too-large'), '/not-found')
      assert.equal(r.status, 500)
      assert.match(r.body.toString(), /could not parse _redirects:/)
      assert.match(r.body.toString(), /redirects file size cannot exceed/)
    })
    test('CRLF line endings', async () => {
      const r = await at(host('newlines'), '/redirect-one')
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, '/one.html')
    })
    test('good codes', async () => {
      const r = await at(host('good-codes'), '/a301')
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, '/b301')
    })
    test('bad codes do not matter for a file that exists', async () => {
      const r = await at(host('bad-codes'), '/found.html')
      assert.equal(r.status, 200)
      assert.match(r.body.toString(), /my found/)
      assert.doesNotMatch(r.body.toString(), /unsupported redirect status/)
    })
    test('_redirects is not applied on a path gateway (no origin isolation)', async () => {
      const r = await world.client.get(`/ipfs/${f.cid('examples')}/redirect-one`)
      assert.equal(r.status, 404)
    })
  })

  describe('custom domains and DNSLink', () => {
    let ex, spa
    before(async () => {
      const f = await Fixture.open('redirects_file/redirects.car')
      ex = f.cid('examples').toString()
      spa = (await Fixture.open('redirects_file/redirects-spa.car')).roots[0].toString()
    })
    const admin = (method, host, body, token = ADMIN_TOKEN) => world.client.request(`/_admin/hosts/${host}`, { method, headers: { Authorization: `Bearer ${token}` }, body })
    test('the admin route needs the token', async () => {
      assert.equal((await admin('PUT', 'site.test', ex, 'wrong')).status, 401)
      assert.equal((await world.client.request('/_admin/hosts/site.test', { method: 'PUT', body: ex })).status, 401)
    })
    test('a host mapped to a CID in KV serves that site, with _redirects', async () => {
      assert.equal((await admin('PUT', 'site.test', ex)).status, 200)
      assert.match((await admin('GET', 'site.test')).body.toString(), new RegExp(ex))
      const r = await at('site.test', '/')
      assert.equal(r.status, 200)
      assert.match(r.body.toString(), /my index/)
      assert.notEqual(r.headers['cache-control'], 'public, max-age=29030400, immutable')
      const red = await at('site.test', '/redirect-one')
      assert.equal(red.status, 301)
      assert.equal(red.headers.location, '/one.html')
      assert.equal((await admin('DELETE', 'site.test')).status, 200)
      const gone = await at('site.test', '/')
      assert.equal(gone.status, 404)
    })
    test('DNSLink: _dnslink TXT through DNS-over-HTTPS', async () => {
      world.a.dns.set('_dnslink.dnslink-enabled-with-spa.example.org', `dnslink=/ipfs/${spa}`)
      const r = await at('dnslink-enabled-with-spa.example.org', '/')
      assert.equal(r.status, 200)
      const deep = await at('dnslink-enabled-with-spa.example.org', '/some/app/route')
      assert.equal(deep.status, 200)
      assert.deepEqual(deep.body, r.body)
      world.a.dns.set('_dnslink.dnslink-redirects-examples.example.org', `dnslink=/ipfs/${ex}`)
      const red = await at('dnslink-redirects-examples.example.org', '/redirect-one')
      assert.equal(red.status, 301)
      assert.equal(red.headers.location, '/one.html')
    })
    test('DNSLink answers are cached', async () => {
      world.a.dns.set('_dnslink.cached.example.org', `dnslink=/ipfs/${spa}`)
      const before = world.a.stats.dns
      await at('cached.example.org', '/')
      await at('cached.example.org', '/')
      await at('cached.example.org', '/index.html')
      assert.equal(world.a.stats.dns - before, 1)
    })
  })
}
