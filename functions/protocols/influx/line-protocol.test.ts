import { describe, expect, it } from 'vitest'
import { isSkipped, parseLine } from './line-protocol.js'

const ok = (line: string) => {
  const r = parseLine(line)
  if (!r.ok) throw new Error(`${line}: ${r.error}`)
  return r.point
}
const error = (line: string) => {
  const r = parseLine(line)
  if (r.ok) throw new Error(`${line} parsed: ${JSON.stringify(r.point)}`)
  return r.error
}

describe('parseLine', () => {
  it('reads measurement, tags, fields of every type and the timestamp', () => {
    const p = ok(
      'cpu,host=a,region=eu-west usage=1.5,procs=12i,big=7u,up=true,down=F,state="idle" 1700000000000000000',
    )
    expect(p.measurement).toBe('cpu')
    expect(p.tags).toEqual([
      ['host', 'a'],
      ['region', 'eu-west'],
    ])
    expect(p.fields).toEqual([
      ['usage', { type: 'float', value: 1.5 }],
      ['procs', { type: 'integer', value: 12 }],
      ['big', { type: 'unsigned', value: 7 }],
      ['up', { type: 'boolean', value: true }],
      ['down', { type: 'boolean', value: false }],
      ['state', { type: 'string', value: 'idle' }],
    ])
    expect(p.timestamp).toBe(1700000000000000000n)
  })

  it('takes a point without tags or timestamp, and blanks around parts', () => {
    expect(ok('cpu value=1')).toEqual({
      measurement: 'cpu',
      tags: [],
      fields: [['value', { type: 'float', value: 1 }]],
      timestamp: undefined,
    })
    expect(ok('  cpu  value=1   -5  ').timestamp).toBe(-5n)
    expect(ok('\tcpu value=1').measurement).toBe('cpu')
  })

  it('reads the number forms InfluxDB reads', () => {
    const value = (text: string) => (ok(`m v=${text}`).fields[0]![1] as { value: number }).value
    expect(value('.5')).toBe(0.5)
    expect(value('1.')).toBe(1)
    expect(value('1E3')).toBe(1000)
    expect(value('-0')).toBe(-0)
    expect(value('01')).toBe(1)
    expect(value('-1.5e-3')).toBe(-0.0015)
    expect(value('9223372036854775807i')).toBe(Number(2n ** 63n - 1n))
    expect(value('-9223372036854775808i')).toBe(-Number(2n ** 63n))
    expect(value('18446744073709551615u')).toBe(Number(2n ** 64n - 1n))
    for (const [text, b] of [
      ['t', true],
      ['T', true],
      ['true', true],
      ['True', true],
      ['TRUE', true],
      ['f', false],
      ['F', false],
      ['false', false],
      ['False', false],
      ['FALSE', false],
    ] as const)
      expect(ok(`m v=${text}`).fields[0]![1]).toEqual({ type: 'boolean', value: b })
  })

  it('unescapes names and strings as InfluxDB does', () => {
    const p = ok('c\\,p\\ u,t\\ a\\=g=v\\,a\\ l\\=ue f\\ i\\,e\\=ld=1')
    expect(p.measurement).toBe('c,p u')
    expect(p.tags).toEqual([['t a=g', 'v,a l=ue']])
    expect(p.fields[0]![0]).toBe('f i,e=ld')
    expect(ok('c=pu v=1').measurement).toBe('c=pu')
    expect(ok('cpu,t==x v=1').tags).toEqual([['t', '=x']])
    expect(ok('\t cpu v=1 \t5 ').timestamp).toBe(5n)
    expect(ok('cpu v="a\\"b\\\\c\\nd"').fields[0]![1]).toEqual({ type: 'string', value: 'a"b\\c\\nd' })
    expect(ok('cpu v="with space, comma=equals"').fields[0]![1]).toEqual({
      type: 'string',
      value: 'with space, comma=equals',
    })
    expect(ok('cpu v="",w=1').fields).toHaveLength(2)
    expect(ok('日本,地域=東京 温度=21.5').tags).toEqual([['地域', '東京']])
  })

  it('keeps the last value of a field sent twice, in its first place', () => {
    expect(ok('cpu v=1,w=2,v=3').fields).toEqual([
      ['v', { type: 'float', value: 3 }],
      ['w', { type: 'float', value: 2 }],
    ])
    const many = Array.from({ length: 20 }, (_, i) => `f${i}=${i}`).join(',')
    expect(ok(`m ${many},f3=99`).fields[3]).toEqual(['f3', { type: 'float', value: 99 }])
  })

  // Each message as InfluxDB 1.6 answers it for the same line (checked against influxd).
  it.each([
    ['cpu,host=a value=', 'missing field value'],
    ['bad line here', 'invalid field format'],
    ['foo', 'missing fields'],
    ['cpu value="unterminated', 'unbalanced quotes'],
    ['cpu,host= value=1', 'missing tag value'],
    ['cpu, value=1', 'missing tag key'],
    ['cpu,t=1, v=1', 'missing tag key'],
    ['cpu,=a v=1', 'missing tag key'],
    ['cpu,host value=1', 'missing tag value'],
    ['cpu,t=a\\ v=1', 'invalid tag format'],
    ['cpu,t=a=b v=1', 'invalid tag format'],
    ['cpu,a=1,a=2 v=1', 'duplicate tags'],
    ['cpu value=1 notatime', 'bad timestamp'],
    ['cpu v=1 1.5', 'bad timestamp'],
    ['cpu v=1 +5', 'bad timestamp'],
    ['cpu v=1 1e9', 'bad timestamp'],
    ['cpu value=1 1 extra', 'point is invalid'],
    ['cpu value=1i2', 'invalid number'],
    ['cpu v=1.5i', 'invalid number'],
    ['cpu v=1e5i', 'invalid number'],
    ['cpu v=-i', 'invalid number'],
    ['cpu v=-', 'invalid number'],
    ['cpu v=0x10', 'invalid number'],
    ['cpu v=1_0', 'invalid number'],
    ['cpu v=1=2', 'invalid number'],
    ['cpu v=1\\', 'invalid number'],
    ['cpu v=NaN', 'invalid number'],
    ['cpu value=1e999', 'invalid float'],
    ['cpu value=tru', 'invalid boolean'],
    ['cpu v=tRue', 'invalid boolean'],
    ['cpu v=+1', 'invalid boolean'],
    ['cpu v==1', 'invalid boolean'],
    ['cpu host=a', 'invalid boolean'],
    [',host=a value=1', 'missing measurement'],
    ['cpu =1', 'missing field key'],
    ['cpu v', 'invalid field format'],
    ['cpu v=1,', 'invalid field format'],
    ['cpu v=1, w=2', 'invalid field format'],
    ['cpu ', 'invalid field format'],
    ['cpu,t=1', 'missing fields'],
    ['cpu,t=1 ', 'invalid field format'],
    ['cpu\\ value=1', 'missing fields'],
    ['cpu\\\\ v=1', 'missing fields'],
    [
      'cpu value=99999999999999999999i',
      'unable to parse integer 99999999999999999999: strconv.ParseInt: parsing "99999999999999999999": value out of range',
    ],
    [
      'cpu v=9223372036854775808i',
      'unable to parse integer 9223372036854775808: strconv.ParseInt: parsing "9223372036854775808": value out of range',
    ],
    [
      'cpu value=1 99999999999999999999',
      'strconv.ParseInt: parsing "99999999999999999999": value out of range',
    ],
    // Found by fuzzing against influxd (test/influx/differential.test.ts).
    ['cpu\t', 'missing fields'],
    ['cpu,t=1\tv=1', 'invalid tag format'],
    ['cpu v=1\t', 'invalid number'],
    ['w v=T,x=1.5 -', 'strconv.ParseInt: parsing "-": invalid syntax'],
    ['cpu v=1e', 'invalid float'],
    ['cpu v=-e5', 'invalid float'],
    ['cpu v=1.5.5', 'invalid number'],
    ['cpu v=Inf', 'invalid boolean'],
    ['cpu v=nan', 'invalid number'],
    ['w v,=T,x=1.5', 'missing field key'],
    ['av=Tc=puav="s p,a=c"', 'invalid boolean'],
    ['m f="a""b,g=2i', 'unbalanced quotes'],
    ['m f="a"b,g=2i', 'invalid field format'],
  ])('%s: %s', (line, message) => {
    expect(error(line)).toBe(message)
  })

  it('refuses what InfluxDB 1.6 does not know and later versions do not take', () => {
    expect(error('cpu v=-1u')).toBe('invalid number')
    expect(error('cpu v=18446744073709551616u')).toMatch(/^unable to parse unsigned 18446744073709551616: /)
  })

  it('never throws, and takes time linear in the line', () => {
    for (const line of ['\\', '"', ',', '=', ' ', 'a,b', 'a b', 'a b=', 'a b="\\', 'a,b=\\', 'a\\'])
      parseLine(line)
    const long = `m ${Array.from({ length: 16_000 }, (_, i) => `f${i}=1`).join(',')}`
    const t0 = performance.now()
    expect(ok(long).fields).toHaveLength(16_000)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})

describe('isSkipped', () => {
  it('skips blank and comment lines only', () => {
    expect(isSkipped('')).toBe(true)
    expect(isSkipped('   \t')).toBe(true)
    expect(isSkipped('# cpu value=1')).toBe(true)
    expect(isSkipped('  #x')).toBe(true)
    expect(isSkipped('cpu value=1 # not a comment')).toBe(false)
    expect(isSkipped('c#pu value=1')).toBe(false)
  })
})
