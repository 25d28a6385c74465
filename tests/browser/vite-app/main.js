// An application that imports carport from npm and is built with `vite build` (../serve.mjs):
// Vite finds the worker and the .wasm through their `new URL(..., import.meta.url)`.
import * as carport from 'carport'

window.carport = carport
window.ready = true
