// The behaviour every Store adapter must share, as a vitest suite each adapter's test file runs.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredAnomaly, StoredRecord } from '../domain/types.js'
import { CommitConflictError, InvalidCursorError, type Store, seriesKey } from './port.js'
import { PURGE_STEP_ROWS } from './sql-store.js'
import {
  anomaly,
  answer,
  batch,
  collect,
  deadLetter,
  entry,
  LIVE,
  recordId,
  seriesState,
  utf8Compare,
  walk,
  window,
} from './store-fixtures.js'

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    const opened: Store[] = []
    const fresh = async (): Promise<Store> => {
      const store = await open()
      opened.push(store)
      return store
    }
    /** For property runs: a store per run, closed after it. */
    const withStore = async (run: (store: Store) => Promise<void>): Promise<void> => {
      const store = await open()
      try {
        await run(store)
      } finally {
        await store.close()
      }
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close()
    })

    it('reads back everything one commit wrote', async () => {
      const store = await fresh()
      const state = new Uint8Array([0, 1, 2, 255])
      await store.commitIngest(
        batch(5000, {
          records: [
            entry('dev-1', 100, { temp: 20 }, { level: 'info', score: 0.25, kinds: [] }),
            entry('dev-1', 200, { temp: 90 }, { level: 'error', score: 3.5, kinds: ['threshold', 'error'] }),
            entry('dev-2', 150, { msg: 'hello' }),
          ],
          anomalies: [
            anomaly('dev-1', 200, 'threshold'),
            anomaly('dev-1', 200, 'error', { metric: undefined, value: null, detail: undefined }),
          ],
          windows: [window('dev-1', 'temp', 60_000)],
          states: [seriesState('dev-1', 'temp', state, { lastTs: 200, sampleCount: 2 })],
          deadLetters: [deadLetter(5000)],
          idempotency: [answer('req-1', 202, '{"accepted":3}', 'abc123')],
        }),
      )

      const r = (id: number, e: ReturnType<typeof entry>): StoredRecord => ({
        id,
        deviceId: e.record.deviceId,
        ts: e.record.ts,
        ingestedAt: 5000,
        level: e.record.level,
        score: e.score,
        kinds: e.kinds,
        body: e.record.body,
      })
      expect(await collect(store.exportRecords({}))).toEqual([
        r(recordId(1, 0), entry('dev-1', 100, { temp: 20 }, { level: 'info', score: 0.25 })),
        r(recordId(1, 2), entry('dev-2', 150, { msg: 'hello' })),
        r(
          recordId(1, 1),
          entry('dev-1', 200, { temp: 90 }, { level: 'error', score: 3.5, kinds: ['threshold', 'error'] }),
        ),
      ])
      expect(await store.listAnomalies({ limit: 10 })).toEqual({
        items: [
          { ...anomaly('dev-1', 200, 'error', { metric: undefined, value: null, detail: undefined }), id: 2 },
          { ...anomaly('dev-1', 200, 'threshold'), id: 1 },
        ],
        next: null,
      })
      expect(await store.recentWindows('dev-1', 'temp', 10, 0)).toEqual([window('dev-1', 'temp', 60_000)])
      const states = await store.loadStates([{ deviceId: 'dev-1', metric: 'temp' }])
      expect([...states.keys()]).toEqual([seriesKey('dev-1', 'temp')])
      expect(states.get(seriesKey('dev-1', 'temp'))).toEqual({
        deviceId: 'dev-1',
        metric: 'temp',
        state,
        lastTs: 200,
        sampleCount: 2,
        version: 1,
      })
      expect(await store.listDeadLetters({ limit: 10 })).toEqual({
        items: [{ ...deadLetter(5000), id: 1 }],
        next: null,
      })
      expect(await store.findIdempotent('req-1', 0)).toEqual(answer('req-1', 202, '{"accepted":3}', 'abc123'))
      expect(await store.listDevices({ limit: 10, liveness: LIVE })).toEqual({
        items: [
          {
            deviceId: 'dev-1',
            firstSeen: 5000,
            lastSeen: 5000,
            lastTs: 200,
            recordCount: 2,
            anomalyCount: 2,
            status: 'unmanaged',
            labels: {},
          },
          {
            deviceId: 'dev-2',
            firstSeen: 5000,
            lastSeen: 5000,
            lastTs: 150,
            recordCount: 1,
            anomalyCount: 0,
            status: 'unmanaged',
            labels: {},
          },
        ],
        next: null,
      })
      await expect(store.ping()).resolves.toBeUndefined()
    })

    it('returns copies: changing what was passed in or read out changes nothing stored', async () => {
      const store = await fresh()
      const state = new Uint8Array([1, 2, 3])
      const kinds = ['spike']
      await store.commitIngest(
        batch(1, {
          records: [{ ...entry('d', 1), kinds }],
          states: [seriesState('d', 'm', state, { lastTs: 1 })],
        }),
      )
      state[0] = 99
      kinds.push('drift')
      const loaded = (await store.loadStates([{ deviceId: 'd', metric: 'm' }])).get(seriesKey('d', 'm'))!
      loaded.state[1] = 99
      const [record] = await collect(store.exportRecords({}))
      record!.kinds.push('x')
      expect(
        (await store.loadStates([{ deviceId: 'd', metric: 'm' }])).get(seriesKey('d', 'm'))!.state,
      ).toEqual(new Uint8Array([1, 2, 3]))
      expect((await collect(store.exportRecords({})))[0]!.kinds).toEqual(['spike'])
    })

    describe('anomalies', () => {
      it('pages newest first (ts, then id) with no gaps or duplicates, for any data and filter', async () => {
        const spec = fc.record({
          deviceId: fc.constantFrom('a', 'b', 'c'),
          ts: fc.integer({ min: 0, max: 6 }),
          kind: fc.constantFrom('spike', 'drift'),
        })
        const filter = fc.record(
          {
            deviceId: fc.constantFrom('a', 'b'),
            kind: fc.constantFrom('spike', 'drift', 'none'),
            since: fc.integer({ min: 0, max: 6 }),
            until: fc.integer({ min: 0, max: 7 }),
          },
          { requiredKeys: [] },
        )
        await fc.assert(
          fc.asyncProperty(
            fc.array(spec, { maxLength: 40 }),
            fc.integer({ min: 0, max: 40 }),
            fc.integer({ min: 1, max: 7 }),
            filter,
            (specs, split, limit, f) =>
              withStore(async (store) => {
                const all = specs.map((s) => anomaly(s.deviceId, s.ts, s.kind))
                // Two commits, so ids and timestamps interleave.
                await store.commitIngest(batch(1, { anomalies: all.slice(0, split) }))
                await store.commitIngest(batch(2, { anomalies: all.slice(split) }))
                const expected: StoredAnomaly[] = all
                  .map((a, i) => ({ ...a, id: i + 1 }))
                  .filter(
                    (a) =>
                      (f.deviceId === undefined || a.deviceId === f.deviceId) &&
                      (f.kind === undefined || a.kind === f.kind) &&
                      (f.since === undefined || a.ts >= f.since) &&
                      (f.until === undefined || a.ts < f.until),
                  )
                  .sort((x, y) => y.ts - x.ts || y.id - x.id)
                const got = await walk(limit, (cursor) => store.listAnomalies({ ...f, limit, cursor }))
                expect(got).toEqual(expected)
              }),
          ),
          { numRuns: 40 },
        )
      })

      it('filters by device, kind, since (inclusive) and until (exclusive)', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            anomalies: [
              anomaly('a', 10, 'spike'),
              anomaly('a', 20, 'drift'),
              anomaly('b', 20, 'spike'),
              anomaly('a', 30, 'spike'),
            ],
          }),
        )
        const ids = async (q: Parameters<Store['listAnomalies']>[0]) =>
          (await store.listAnomalies(q)).items.map((a) => a.id)
        expect(await ids({ limit: 10 })).toEqual([4, 3, 2, 1])
        expect(await ids({ limit: 10, deviceId: 'a' })).toEqual([4, 2, 1])
        expect(await ids({ limit: 10, kind: 'spike' })).toEqual([4, 3, 1])
        expect(await ids({ limit: 10, since: 20 })).toEqual([4, 3, 2])
        expect(await ids({ limit: 10, until: 20 })).toEqual([1])
        expect(await ids({ limit: 10, deviceId: 'a', kind: 'spike', since: 10, until: 30 })).toEqual([1])
        expect(await ids({ limit: 10, deviceId: 'nobody' })).toEqual([])
      })

      it('gives null next on the last page, even when it is exactly full', async () => {
        const store = await fresh()
        await store.commitIngest(batch(1, { anomalies: [anomaly('a', 1), anomaly('a', 2)] }))
        const first = await store.listAnomalies({ limit: 2 })
        expect(first.items).toHaveLength(2)
        expect(first.next).toBeNull()
        const one = await store.listAnomalies({ limit: 1 })
        expect(one.next).not.toBeNull()
        expect(await store.listAnomalies({ limit: 1, cursor: one.next! })).toMatchObject({ next: null })
      })
    })

    describe('cursors', () => {
      const listings = (store: Store) => ({
        anomalies: (cursor: string) => store.listAnomalies({ limit: 5, cursor }),
        devices: (cursor: string) => store.listDevices({ limit: 5, cursor, liveness: LIVE }),
        deadLetters: (cursor: string) => store.listDeadLetters({ limit: 5, cursor }),
      })
      const b64 = (text: string) => Buffer.from(text).toString('base64url')

      it('rejects malformed and hostile cursors with InvalidCursorError', async () => {
        const store = await fresh()
        const hostile = [
          '',
          'x',
          '!!!',
          '====',
          'a b',
          'abc=',
          '\u0000',
          '😀',
          'A'.repeat(1_000_000),
          b64('A'.repeat(10_000)),
          b64('not json'),
          b64('{"a":1}'),
          b64('null'),
          b64('[]'),
          b64('["a"]'),
          b64('["a","1",2]'),
          b64('["a",1,2.5]'),
          b64('["a",1,2,3]'),
          b64('["a",1e400,2]'),
          b64('["a",null,2]'),
          b64('["d",42]'),
          b64('["l","7"]'),
          b64('["zz",1]'),
          b64('{"__proto__":{"x":1}}'),
          Buffer.from([0xff, 0xfe, 0x5b]).toString('base64url'),
        ]
        for (const list of Object.values(listings(store))) {
          for (const cursor of hostile) await expect(list(cursor)).rejects.toBeInstanceOf(InvalidCursorError)
        }
      })

      it('rejects random strings', async () => {
        const store = await fresh()
        const list = listings(store)
        await fc.assert(
          fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 60 }), async (cursor) => {
            for (const fetch of Object.values(list)) {
              await expect(fetch(cursor)).rejects.toBeInstanceOf(InvalidCursorError)
            }
          }),
          { numRuns: 100 },
        )
      })

      it('rejects a cursor from another listing, and a non-canonical spelling of a real one', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            records: [entry('a', 1), entry('b', 1)],
            anomalies: [anomaly('a', 1), anomaly('a', 2)],
            deadLetters: [deadLetter(1), deadLetter(1)],
          }),
        )
        const a = (await store.listAnomalies({ limit: 1 })).next!
        const d = (await store.listDevices({ limit: 1, liveness: LIVE })).next!
        const l = (await store.listDeadLetters({ limit: 1 })).next!
        await expect(store.listAnomalies({ limit: 1, cursor: d })).rejects.toBeInstanceOf(InvalidCursorError)
        await expect(store.listDevices({ limit: 1, cursor: l, liveness: LIVE })).rejects.toBeInstanceOf(
          InvalidCursorError,
        )
        await expect(store.listDeadLetters({ limit: 1, cursor: a })).rejects.toBeInstanceOf(
          InvalidCursorError,
        )
        const spaced = Buffer.from(
          JSON.stringify(JSON.parse(Buffer.from(a, 'base64url').toString()), null, 1),
        )
        await expect(
          store.listAnomalies({ limit: 1, cursor: spaced.toString('base64url') }),
        ).rejects.toBeInstanceOf(InvalidCursorError)
      })

      it('rejects a limit that is not a positive integer', async () => {
        const store = await fresh()
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(store.listAnomalies({ limit })).rejects.toBeInstanceOf(RangeError)
          await expect(store.listDevices({ limit, liveness: LIVE })).rejects.toBeInstanceOf(RangeError)
          await expect(store.recentRecords('d', 'm', limit, 0)).rejects.toBeInstanceOf(RangeError)
          await expect(store.recentWindows('d', 'm', limit, 0)).rejects.toBeInstanceOf(RangeError)
        }
      })

      it('rejects a NaN time bound instead of matching nothing', async () => {
        const store = await fresh()
        await expect(store.recentRecords('d', 'm', 5, Number.NaN)).rejects.toBeInstanceOf(RangeError)
        await expect(store.recentWindows('d', 'm', 5, Number.NaN)).rejects.toBeInstanceOf(RangeError)
      })
    })

    describe('idempotency', () => {
      it('answers a committed key and nothing else', async () => {
        const store = await fresh()
        expect(await store.findIdempotent('k', 0)).toBeUndefined()
        await store.commitIngest(batch(1, { idempotency: [answer('k', 207, '{"a":1}', 'h1')] }))
        await store.commitIngest(batch(2))
        expect(await store.findIdempotent('k', 0)).toEqual(answer('k', 207, '{"a":1}', 'h1'))
        expect(await store.findIdempotent('K', 0)).toBeUndefined()
        expect(await store.findIdempotent('k ', 0)).toBeUndefined()
      })

      it('forgets an answer stored before notBefore, and a commit after that stores the key anew', async () => {
        const store = await fresh()
        await store.commitIngest(batch(100, { idempotency: [answer('k', 200, 'old')] }))
        expect(await store.findIdempotent('k', 100)).toBeDefined()
        expect(await store.findIdempotent('k', 101)).toBeUndefined()
        await store.commitIngest(
          batch(500, { idempotency: [answer('k', 200, 'new')], idempotencyNotBefore: 101 }),
        )
        expect(await store.findIdempotent('k', 101)).toEqual(answer('k', 200, 'new'))
      })

      it('refuses a second commit with the same key (CommitConflictError) and keeps nothing of it', async () => {
        const store = await fresh()
        const key = answer('k', 202, 'first')
        await store.commitIngest(batch(1, { records: [entry('a', 1)], idempotency: [key] }))
        const retry = batch(2, {
          records: [entry('a', 2), entry('b', 2)],
          anomalies: [anomaly('a', 2)],
          windows: [window('a', 'temp', 2)],
          states: [seriesState('a', 'temp', [7], { lastTs: 2 })],
          deadLetters: [deadLetter(2)],
          idempotency: [{ ...key, response: 'second' }],
        })
        await expect(store.commitIngest(retry)).rejects.toBeInstanceOf(CommitConflictError)
        expect(await store.findIdempotent('k', 0)).toEqual(answer('k', 202, 'first'))
        expect((await collect(store.exportRecords({}))).map((r) => r.ts)).toEqual([1])
        expect((await store.listAnomalies({ limit: 5 })).items).toEqual([])
        expect(await store.recentWindows('a', 'temp', 5, 0)).toEqual([])
        expect((await store.loadStates([{ deviceId: 'a', metric: 'temp' }])).size).toBe(0)
        expect((await store.listDeadLetters({ limit: 5 })).items).toEqual([])
        expect(await store.getDevice('a', LIVE)).toMatchObject({ recordCount: 1, lastSeen: 1 })
        expect(await store.getDevice('b', LIVE)).toBeUndefined()
      })
    })

    describe('series states', () => {
      it('round-trips the exact bytes and replaces them on the next commit', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ maxLength: 300 }),
            fc.uint8Array({ maxLength: 300 }),
            fc.string({ unit: 'binary', maxLength: 12 }),
            (first, second, metric) =>
              withStore(async (store) => {
                const series = [{ deviceId: 'd', metric }]
                const key = seriesKey('d', metric)
                await store.commitIngest(
                  batch(1, { states: [seriesState('d', metric, first, { lastTs: 10, sampleCount: 3 })] }),
                )
                expect((await store.loadStates(series)).get(key)).toEqual(
                  seriesState('d', metric, first, { lastTs: 10, sampleCount: 3, version: 1 }),
                )
                await store.commitIngest(
                  batch(2, {
                    states: [seriesState('d', metric, second, { lastTs: 20, sampleCount: 4, version: 1 })],
                  }),
                )
                const loaded = (await store.loadStates(series)).get(key)!
                expect(loaded.state).toBeInstanceOf(Uint8Array)
                expect([...loaded.state]).toEqual([...second])
                expect(loaded).toMatchObject({ lastTs: 20, sampleCount: 4, version: 2 })
              }),
          ),
          { numRuns: 25 },
        )
      })

      it('loads only the series asked for, across devices, leaving missing ones out', async () => {
        const store = await fresh()
        const s = (deviceId: string, metric: string, byte: number, version = 0) =>
          seriesState(deviceId, metric, [byte], { lastTs: byte, version })
        await store.commitIngest(batch(1, { states: [s('a', 'x', 1), s('a', 'y', 2), s('b', 'x', 3)] }))
        expect((await store.loadStates([])).size).toBe(0)
        const loaded = await store.loadStates([
          { deviceId: 'a', metric: 'x' },
          { deviceId: 'b', metric: 'x' },
          { deviceId: 'b', metric: 'y' },
          { deviceId: 'a', metric: 'x' },
        ])
        expect([...loaded.keys()].sort()).toEqual([seriesKey('a', 'x'), seriesKey('b', 'x')].sort())
        expect(loaded.get(seriesKey('b', 'x'))).toEqual(s('b', 'x', 3, 1))
      })

      it('refuses (CommitConflictError, nothing written) a state not read at the stored version', async () => {
        const store = await fresh()
        await store.commitIngest(batch(1, { states: [seriesState('d', 'm', [1])] }))
        const stale = (version: number) =>
          batch(2, {
            records: [entry('d', 2)],
            deadLetters: [deadLetter(2)],
            idempotency: [answer('stale')],
            states: [seriesState('d', 'm', [2], { version })],
          })
        // A second writer that also read the series before it existed, and one that read too late a version.
        await expect(store.commitIngest(stale(0))).rejects.toBeInstanceOf(CommitConflictError)
        await expect(store.commitIngest(stale(2))).rejects.toBeInstanceOf(CommitConflictError)
        expect(await collect(store.exportRecords({}))).toEqual([])
        expect((await store.listDeadLetters({ limit: 5 })).items).toEqual([])
        expect(await store.findIdempotent('stale', 0)).toBeUndefined()
        const kept = (await store.loadStates([{ deviceId: 'd', metric: 'm' }])).get(seriesKey('d', 'm'))!
        expect([...kept.state, kept.version]).toEqual([1, 1])
        await store.commitIngest(stale(1))
        expect(
          (await store.loadStates([{ deviceId: 'd', metric: 'm' }])).get(seriesKey('d', 'm'))!.version,
        ).toBe(2)
      })
    })

    describe('devices', () => {
      it('accumulates counters across commits', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1000, {
            records: [entry('a', 50), entry('a', 70), entry('b', 5)],
            anomalies: [anomaly('a', 70)],
          }),
        )
        // A late batch: older timestamps must not move lastTs back.
        await store.commitIngest(batch(2000, { records: [entry('a', 10)], anomalies: [anomaly('a', 10)] }))
        await store.commitIngest(batch(3000, { records: [entry('a', 90), entry('c', 1)] }))
        expect(await store.getDevice('a', LIVE)).toEqual({
          deviceId: 'a',
          firstSeen: 1000,
          lastSeen: 3000,
          lastTs: 90,
          recordCount: 4,
          anomalyCount: 2,
          status: 'unmanaged',
          labels: {},
        })
        expect(await store.getDevice('b', LIVE)).toEqual({
          deviceId: 'b',
          firstSeen: 1000,
          lastSeen: 1000,
          lastTs: 5,
          recordCount: 1,
          anomalyCount: 0,
          status: 'unmanaged',
          labels: {},
        })
        expect(await store.getDevice('nobody', LIVE)).toBeUndefined()
      })

      it('pages by device id in UTF-8 byte order, for any ids', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 5 }), { maxLength: 20 }),
            fc.integer({ min: 1, max: 6 }),
            (ids, limit) =>
              withStore(async (store) => {
                await store.commitIngest(batch(1, { records: ids.map((id) => entry(id, 1)) }))
                const got = await walk(limit, (cursor) =>
                  store.listDevices({ limit, cursor, liveness: LIVE }),
                )
                expect(got.map((d) => d.deviceId)).toEqual([...ids].sort(utf8Compare))
              }),
          ),
          { numRuns: 40 },
        )
      })
    })

    describe('recentRecords', () => {
      const awkward = [
        'temp',
        'a.b',
        'a"b',
        '"',
        "it's",
        'back\\slash',
        'x y',
        ' ',
        '',
        '$',
        '[0]',
        'a[0]',
        'metrics',
        'température',
        '温度',
        '😀',
        'tab\there',
        'nul\u0000byte',
        '\u2028',
      ]

      it('finds numeric metrics at top level and under `metrics`, whatever their name', async () => {
        const store = await fresh()
        for (const [i, name] of awkward.entries()) {
          await store.commitIngest(
            batch(i, {
              records: [
                entry(name, 1, { [name]: 1.5 }),
                entry(name, 2, { metrics: { [name]: -3 } }),
                entry(name, 3, { other: 1 }),
                entry(name, 4, { [name]: 'nope', metrics: { [name]: null } }),
              ],
            }),
          )
          const got = await store.recentRecords(name, name, 10, 0)
          expect(
            got.map((r) => r.ts),
            name,
          ).toEqual([2, 1])
        }
      })

      it('matches JSON numbers only', async () => {
        const store = await fresh()
        const bodies = [
          { x: '5' },
          { x: null },
          { x: true },
          { x: [1] },
          { x: { y: 1 } },
          { metrics: { x: '1' } },
          { metrics: 7 },
          { metrics: [1] },
          { nested: { x: 1 } },
          { X: 1 },
          // SQLite path labels stop at U+0000: these must not pass for `x`.
          { 'x\u0000y': 1 },
          { metrics: { 'x\u0000': 2 } },
        ]
        await store.commitIngest(batch(1, { records: bodies.map((b, i) => entry('d', i, b)) }))
        expect(await store.recentRecords('d', 'x', 50, 0)).toEqual([])
        expect(await store.recentRecords('d', '0', 50, 0)).toEqual([])
        await store.commitIngest(
          batch(2, { records: [entry('d', 99, { x: 0 }), entry('d', 98, { x: 1e300 })] }),
        )
        expect((await store.recentRecords('d', 'x', 50, 0)).map((r) => r.ts)).toEqual([99, 98])
      })

      it('returns the newest first (ts, then id), of that device only, up to the limit', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            records: [entry('d', 5, { m: 1 }), entry('d', 9, { m: 2 }), entry('e', 10, { m: 1 })],
          }),
        )
        await store.commitIngest(batch(2, { records: [entry('d', 9, { m: 3 }), entry('d', 1, { m: 4 })] }))
        const got = await store.recentRecords('d', 'm', 3, 0)
        expect(got.map((r) => [r.ts, r.id])).toEqual([
          [9, recordId(2, 0)],
          [9, recordId(1, 1)],
          [5, recordId(1, 0)],
        ])
        expect(got[0]).toMatchObject({ deviceId: 'd', ingestedAt: 2, kinds: [], level: undefined })
      })

      it('returns only records at or after since (inclusive), however few that leaves', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            records: [
              entry('d', 100, { m: 1 }),
              entry('d', 200, { m: 2 }),
              entry('e', 300, { m: 3 }),
              entry('d', 300, { m: 4 }),
              entry('d', 199, { m: 5 }),
            ],
          }),
        )
        const ts = async (since: number, limit = 10) =>
          (await store.recentRecords('d', 'm', limit, since)).map((r) => r.ts)
        expect(await ts(0)).toEqual([300, 200, 199, 100])
        expect(await ts(200)).toEqual([300, 200])
        expect(await ts(200, 1)).toEqual([300])
        expect(await ts(201)).toEqual([300])
        expect(await ts(301)).toEqual([])
        expect(await ts(Number.NEGATIVE_INFINITY)).toEqual([300, 200, 199, 100])
      })

      it('finds any metric name (property)', async () => {
        const store = await fresh()
        let run = 0
        await fc.assert(
          fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 10 }), async (name) => {
            const device = `run ${++run}`
            await store.commitIngest(
              batch(1, {
                records: [entry(device, 1, { [name]: 1 }), entry(device, 2, { metrics: { [name]: 2 } })],
              }),
            )
            expect((await store.recentRecords(device, name, 5, 0)).map((r) => r.ts)).toEqual([2, 1])
            expect(await store.recentRecords(device, name + '\u0001', 5, 0)).toEqual([])
            expect(await store.recentRecords(device, name + '\u0000', 5, 0)).toEqual([])
          }),
          { numRuns: 60 },
        )
      })
    })

    describe('exportWindows', () => {
      it('yields every window in end order, then stored order, across pages and commits, filtered', async () => {
        const store = await fresh()
        // 2,500 windows over three commits: ends repeat across series, and arrive out of end order.
        const all = Array.from({ length: 2500 }, (_, i) =>
          window(['a', 'b', 'c'][i % 3]!, i % 2 ? 'temp' : 'rpm', ((i * 7919) % 400) * 10_000, i),
        )
        await store.commitIngest(batch(1, { windows: all.slice(0, 1000) }))
        await store.commitIngest(batch(2, { windows: all.slice(1000, 1001) }))
        await store.commitIngest(batch(3, { windows: all.slice(1001) }))
        const stored = all.map((w, i) => ({ w, i })).sort((x, y) => x.w.end - y.w.end || x.i - y.i)
        expect(await collect(store.exportWindows({}))).toEqual(stored.map((x) => x.w))
        const q = { deviceId: 'b', since: 500_000, until: 3_000_000 }
        const some = stored
          .map((x) => x.w)
          .filter((w) => w.deviceId === 'b' && w.end >= q.since && w.end < q.until)
        expect(some.length).toBeGreaterThan(100)
        expect(await collect(store.exportWindows(q))).toEqual(some)
        expect(await collect(store.exportWindows({ deviceId: 'nobody' }))).toEqual([])
      })
    })

    describe('recentWindows', () => {
      it('returns the newest closed windows of one series first', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            windows: [
              window('d', 'temp', 60_000, 1),
              window('d', 'temp', 180_000, 3),
              window('d', 'hum', 240_000),
              window('e', 'temp', 240_000),
            ],
          }),
        )
        await store.commitIngest(
          batch(2, { windows: [window('d', 'temp', 120_000, 2), window('d', 'temp', 180_000, 4)] }),
        )
        const got = await store.recentWindows('d', 'temp', 3, 0)
        expect(got.map((w) => [w.end, w.mean])).toEqual([
          [180_000, 4],
          [180_000, 3],
          [120_000, 2],
        ])
      })

      it('returns only windows ending at or after since (inclusive)', async () => {
        const store = await fresh()
        await store.commitIngest(
          batch(1, {
            windows: [
              window('d', 'temp', 60_000),
              window('d', 'temp', 120_000),
              window('d', 'temp', 180_000),
              window('e', 'temp', 240_000),
              window('d', 'hum', 240_000),
            ],
          }),
        )
        const ends = async (since: number) =>
          (await store.recentWindows('d', 'temp', 10, since)).map((w) => w.end)
        expect(await ends(0)).toEqual([180_000, 120_000, 60_000])
        // A window that started before the bound but ended at it counts.
        expect(await ends(120_000)).toEqual([180_000, 120_000])
        expect(await ends(120_001)).toEqual([180_000])
        expect(await ends(180_001)).toEqual([])
      })

      it('keeps NaN features', async () => {
        const store = await fresh()
        const w = { ...window('d', 'temp', 60_000), std: Number.NaN, range: Number.NaN }
        await store.commitIngest(batch(1, { windows: [w] }))
        expect(await store.recentWindows('d', 'temp', 1, 0)).toEqual([w])
      })
    })

    describe('exportRecords', () => {
      it('yields every record in time order across devices (ts, then id) across pages', async () => {
        const store = await fresh()
        const devices = ['b', 'a', 'c', 'é', 'Z']
        const records = Array.from({ length: 2321 }, (_, i) =>
          entry(devices[i % devices.length]!, (i * 7919) % 50),
        )
        await store.commitIngest(batch(1, { records: records.slice(0, 1000) }))
        await store.commitIngest(batch(2, { records: records.slice(1000) }))
        const key = (e: { deviceId: string; ts: number; id: number }) => [e.deviceId, e.ts, e.id]
        const expected = records
          .map((e, i) => ({
            deviceId: e.record.deviceId,
            ts: e.record.ts,
            id: i < 1000 ? recordId(1, i) : recordId(2, i - 1000),
          }))
          .sort((x, y) => x.ts - y.ts || x.id - y.id)
        const all = await collect(store.exportRecords({}))
        expect(all.map(key)).toEqual(expected.map(key))
        const filtered = await collect(store.exportRecords({ deviceId: 'a', since: 10, until: 20 }))
        expect(filtered.map(key)).toEqual(
          expected.filter((e) => e.deviceId === 'a' && e.ts >= 10 && e.ts < 20).map(key),
        )
        expect(filtered.length).toBeGreaterThan(0)
        // More than a page, with runs of equal ts across page boundaries.
        const late = await collect(store.exportRecords({ since: 20 }))
        expect(late.map(key)).toEqual(expected.filter((e) => e.ts >= 20).map(key))
        expect(late.length).toBeGreaterThan(1000)
        const device = await collect(store.exportRecords({ deviceId: 'é', until: 40 }))
        expect(device.map(key)).toEqual(expected.filter((e) => e.deviceId === 'é' && e.ts < 40).map(key))
        expect(device.length).toBeGreaterThan(0)
        expect(await collect(store.exportRecords({ deviceId: 'nobody' }))).toEqual([])
      })

      it('reads lazily, page by page, while new records are committed', async () => {
        const store = await fresh()
        // 100 commits: 100 chunks of device m, one per hour of record time, ten records each.
        const hour = 3_600_000
        for (let c = 0; c < 100; c++) {
          const records = Array.from({ length: 10 }, (_, i) => entry('m', c * hour + i))
          await store.commitIngest(batch(1, { records }))
        }
        const iterator = store.exportRecords({})[Symbol.asyncIterator]()
        const first = await iterator.next()
        expect(first.value).toMatchObject({ deviceId: 'm', ts: 0 })
        // Behind the iteration point (the first page ends in the first hours): not seen. Ahead of
        // it: seen, since the next page is read later.
        await store.commitIngest(batch(2, { records: [entry('a', 1), entry('z', 90 * hour + 5)] }))
        const rest: StoredRecord[] = []
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value)
        expect(rest.map((r) => r.deviceId).filter((d) => d !== 'm')).toEqual(['z'])
        expect(rest).toHaveLength(1000)
        expect(rest.map((r) => r.ts).slice(903, 907)).toEqual([
          90 * hour + 4,
          90 * hour + 5,
          90 * hour + 5,
          90 * hour + 6,
        ])
      })

      it('gives time order, arrival order and filters exactly, over any commits and many pages', async () => {
        const hour = 3_600_000
        const commit = fc.array(
          fc.record({
            device: fc.constantFrom('a', 'b', 'c', 'd'),
            ts: fc.integer({ min: -hour, max: 5 * hour }),
          }),
          { minLength: 1, maxLength: 12 },
        )
        const query = fc.record(
          {
            deviceId: fc.constantFrom('a', 'c'),
            since: fc.integer({ min: -2 * hour, max: 5 * hour }),
            until: fc.integer({ min: 0, max: 6 * hour }),
          },
          { requiredKeys: [] },
        )
        await fc.assert(
          fc.asyncProperty(fc.array(commit, { minLength: 1, maxLength: 40 }), query, (commits, q) =>
            withStore(async (store) => {
              const all: { id: number; deviceId: string; ts: number }[] = []
              for (const [c, records] of commits.entries()) {
                await store.commitIngest(batch(c, { records: records.map((r) => entry(r.device, r.ts)) }))
                for (const [i, r] of records.entries())
                  all.push({ id: recordId(c + 1, i), deviceId: r.device, ts: r.ts })
              }
              const kept = all.filter(
                (r) =>
                  (q.deviceId === undefined || r.deviceId === q.deviceId) &&
                  (q.since === undefined || r.ts >= q.since) &&
                  (q.until === undefined || r.ts < q.until),
              )
              const key = (r: { id: number; deviceId: string; ts: number }) => [r.id, r.deviceId, r.ts]
              const byTime = [...kept].sort((x, y) => x.ts - y.ts || x.id - y.id)
              expect((await collect(store.exportRecords(q))).map(key)).toEqual(byTime.map(key))
              const arrival = await collect(store.exportRecords({ ...q, order: 'arrival' }))
              expect(arrival.map(key)).toEqual(kept.map(key))
            }),
          ),
          { numRuns: 30 },
        )
      })

      it('can be abandoned early', async () => {
        const store = await fresh()
        await store.commitIngest(batch(1, { records: [entry('a', 1), entry('a', 2)] }))
        for await (const record of store.exportRecords({})) {
          expect(record.ts).toBe(1)
          break
        }
        await store.commitIngest(batch(2, { records: [entry('a', 3)] }))
        expect(await collect(store.exportRecords({}))).toHaveLength(3)
      })
    })

    describe('dead letters', () => {
      it('pages newest first without gaps or duplicates', async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 1, max: 6 }), (n, limit) =>
            withStore(async (store) => {
              const letters = Array.from({ length: n }, (_, i) => deadLetter(i, `line ${i + 1}`))
              await store.commitIngest(batch(1, { deadLetters: letters.slice(0, 3) }))
              await store.commitIngest(batch(2, { deadLetters: letters.slice(3) }))
              const got = await walk(limit, (cursor) => store.listDeadLetters({ limit, cursor }))
              expect(got).toEqual(letters.map((d, i) => ({ ...d, id: i + 1 })).reverse())
            }),
          ),
          { numRuns: 25 },
        )
      })
    })

    describe('purge', () => {
      const none = {
        records: 0,
        anomalies: 0,
        windows: 0,
        deadLetters: 0,
        idempotency: 0,
        deviceEvents: 0,
        series: 0,
        devices: 0,
        expiredCredentials: 0,
      }
      const cut = (before: number, idempotencyBefore = before) => ({ before, idempotencyBefore, now: before })

      it('deletes what was ingested before the cutoff, counts it, and keeps the rest', async () => {
        const store = await fresh()
        let version = 0
        const commit = (at: number, records: number) =>
          store.commitIngest(
            batch(at, {
              records: Array.from({ length: records }, (_, i) => entry('d', at + i, { m: i })),
              anomalies: [anomaly('d', at)],
              windows: [window('d', 'm', at)],
              states: [seriesState('d', 'm', [at % 256], { lastTs: at, version: version++ })],
              deadLetters: [deadLetter(at), deadLetter(at)],
              idempotency: [answer(`k${at}`)],
            }),
          )
        await commit(1000, 3)
        await commit(2000, 2)
        await commit(3000, 1)

        expect(await store.purge(cut(2000))).toEqual({
          ...none,
          records: 3,
          anomalies: 1,
          windows: 1,
          deadLetters: 2,
          idempotency: 1,
        })
        expect(await store.purge(cut(2000))).toEqual(none)
        expect((await collect(store.exportRecords({}))).map((r) => r.ingestedAt)).toEqual([2000, 2000, 3000])
        expect((await store.listAnomalies({ limit: 10 })).items.map((a) => a.ts)).toEqual([3000, 2000])
        expect((await store.recentWindows('d', 'm', 10, 0)).map((w) => w.end)).toEqual([3000, 2000])
        expect((await store.listDeadLetters({ limit: 10 })).items.map((d) => d.receivedAt)).toEqual([
          3000, 3000, 2000, 2000,
        ])
        expect(await store.findIdempotent('k1000', 0)).toBeUndefined()
        expect(await store.findIdempotent('k2000', 0)).toBeDefined()
        // The device and its series had data since the cutoff: they stay.
        expect(await store.getDevice('d', LIVE)).toMatchObject({ recordCount: 6, anomalyCount: 3 })
        expect((await store.loadStates([{ deviceId: 'd', metric: 'm' }])).size).toBe(1)

        // Idempotency keys have their own cutoff.
        expect(await store.purge(cut(2000, 1e15))).toEqual({ ...none, idempotency: 2 })

        // Past everything: the device and its series go too (nothing of them is left).
        expect(await store.purge(cut(1e15))).toEqual({
          ...none,
          records: 3,
          anomalies: 2,
          windows: 2,
          deadLetters: 4,
          series: 1,
          devices: 1,
        })
        expect(await collect(store.exportRecords({}))).toEqual([])
        expect(await store.getDevice('d', LIVE)).toBeUndefined()
        // A writer still holding the purged series' state is refused; one that reads again starts afresh.
        await expect(commit(4000, 1)).rejects.toBeInstanceOf(CommitConflictError)
        version = 0
        await commit(4000, 1)
        expect((await collect(store.exportRecords({}))).map((r) => r.ingestedAt)).toEqual([4000])
      })

      it('deletes in bounded steps, however many rows there are', async () => {
        const store = await fresh()
        const n = PURGE_STEP_ROWS * 2 + 17
        await store.commitIngest(
          batch(1, { records: Array.from({ length: n }, (_, i) => entry(`d${i % 7}`, i)) }),
        )
        await store.commitIngest(batch(5, { records: [entry('late', 5)] }))
        expect(await store.purge(cut(2))).toEqual({ ...none, records: n, devices: 7 })
        expect((await collect(store.exportRecords({}))).map((r) => r.deviceId)).toEqual(['late'])
      })

      it('refuses a NaN cutoff instead of deleting everything', async () => {
        const store = await fresh()
        await store.commitIngest(batch(1, { records: [entry('d', 1)] }))
        await expect(store.purge(cut(Number.NaN))).rejects.toBeInstanceOf(RangeError)
        await expect(store.purge(cut(5, Number.NaN))).rejects.toBeInstanceOf(RangeError)
        expect(await collect(store.exportRecords({}))).toHaveLength(1)
      })

      it('deletes nothing from an empty store', async () => {
        const store = await fresh()
        expect(await store.purge(cut(Date.now()))).toEqual(none)
      })
    })

    describe('large commits and cut dead letters', () => {
      it('commits many rows and bodies of megabytes whole, exactly', async () => {
        const store = await fresh()
        // About 6 MB of bodies (several ~2 MB parameters on D1) with hostile text and extreme numbers.
        const text = 'é"\\\u0000😀\n'.repeat(4000)
        const records = Array.from({ length: 300 }, (_, i) =>
          entry(
            'big',
            i,
            { text },
            { score: i === 7 ? 1 - 2 ** -52 : i / 301, kinds: i % 2 ? ['spike'] : [] },
          ),
        )
        const w = {
          ...window('big', 'text', 10),
          min: Number.NEGATIVE_INFINITY,
          max: Number.POSITIVE_INFINITY,
          std: Number.NaN,
        }
        await store.commitIngest(batch(1, { records, windows: [w] }))
        const back = await collect(store.exportRecords({}))
        expect(back.map((r) => [r.body, r.score, r.kinds])).toEqual(
          records.map((e) => [e.record.body, e.score, e.kinds]),
        )
        // D1 answers queries in JSON, which has no infinities: they come back as NaN (null) there.
        const expected = name === 'd1' ? { ...w, min: Number.NaN, max: Number.NaN } : w
        expect(await store.recentWindows('big', 'text', 1, 0)).toEqual([expected])
      })

      it('keeps the size and sha256 of a dead letter whose raw input was cut', async () => {
        const store = await fresh()
        const cutLetter = {
          ...deadLetter(1),
          raw: 'head',
          truncated: { bytes: 9_000_000, sha256: 'ab'.repeat(32) },
        }
        await store.commitIngest(batch(1, { deadLetters: [cutLetter, deadLetter(1)] }))
        const items = (await store.listDeadLetters({ limit: 5 })).items
        expect(items).toEqual([
          { ...deadLetter(1), id: 2 },
          { ...cutLetter, id: 1 },
        ])
      })
    })

    describe('export in arrival order', () => {
      it('yields records in commit order (the order the detectors saw them), filtered', async () => {
        const store = await fresh()
        const ts = [50, 10, 40, 20, 30]
        for (const [i, t] of ts.entries())
          await store.commitIngest(batch(i + 1, { records: [entry(i % 2 ? 'a' : 'b', t)] }))
        const order = async (q: Parameters<Store['exportRecords']>[0]) =>
          (await collect(store.exportRecords(q))).map((r) => r.ts)
        expect(await order({ order: 'arrival' })).toEqual(ts)
        expect(await order({})).toEqual([...ts].sort((a, b) => a - b))
        expect(await order({ order: 'arrival', since: 20, until: 50 })).toEqual([40, 20, 30])
        expect(await order({ order: 'arrival', deviceId: 'a' })).toEqual([10, 20])
      })
    })
  })
}
