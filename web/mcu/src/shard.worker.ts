// One shard of virtual MCUs (firmware/browser/mcu-shard.ts) in a Web Worker, driven by the page with comlink.
import * as Comlink from 'comlink'
import { createShard } from '../../../firmware/browser/mcu-shard.js'

Comlink.expose(createShard())
