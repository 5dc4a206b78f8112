// Rows to bytes, a row group at a time: Parquet (hyparquet-writer, pure JS, so the same code runs on
// Node, workerd and Spin) and CSV. Each call returns the bytes of the rows it was given; nothing is
// kept between calls but the Parquet footer's row-group list, so memory is one group's worth
// whatever the number of rows.
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js'
import { ParquetWriter } from 'hyparquet-writer/src/parquet-writer.js'

/** TIMESTAMP: epoch ms, written as Parquet INT64 TIMESTAMP(MILLIS, UTC) and as ISO-8601 in CSV. */
export type ColumnType = 'STRING' | 'DOUBLE' | 'INT64' | 'TIMESTAMP'
export type Cell = string | number | null

export interface Column {
  name: string
  type: ColumnType
  /** Whether the column may hold nulls (an empty CSV cell). */
  nullable: boolean
}

/** Rows per Parquet row group (and per CSV chunk) in exports and `detect --output x.parquet`. */
export const ROW_GROUP_ROWS = 10_000

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number]

function schemaElement({ name, type, nullable }: Column): SchemaElement {
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED'
  switch (type) {
    case 'STRING':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }
    case 'DOUBLE':
      return { name, type: 'DOUBLE', repetition_type }
    case 'INT64':
      return { name, type: 'INT64', repetition_type }
    case 'TIMESTAMP':
      return {
        name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      }
  }
}

/** A ByteWriter whose bytes are handed out (and forgotten) after each row group. */
class ChunkWriter extends ByteWriter {
  take(): Uint8Array {
    const out = new Uint8Array(this.buffer.slice(0, this.index))
    this.index = 0
    return out
  }
}

/**
 * A Parquet file written a row group at a time: `group(rows)` returns the bytes of one row group
 * (the first call also the `PAR1` header), `finish()` the footer. A file whose footer was never
 * written is not a Parquet file: readers refuse it, so a cut stream cannot pass for a whole one.
 */
export class ParquetRowGroups {
  private readonly out = new ChunkWriter(64 * 1024)
  private readonly writer: ParquetWriter

  constructor(private readonly columns: Column[]) {
    this.writer = new ParquetWriter({
      writer: this.out,
      schema: [{ name: 'root', num_children: columns.length }, ...columns.map(schemaElement)],
      codec: 'SNAPPY',
      createdBy: 'edgewatch',
    })
  }

  /** One row group of these rows (each an array of cells in column order). */
  group(rows: Cell[][]): Uint8Array {
    if (rows.length > 0) {
      const columnData = this.columns.map((c, i) => ({
        name: c.name,
        data: rows.map((r) => parquetValue(c, r[i] ?? null)),
      }))
      void this.writer.write({ columnData, rowGroupSize: rows.length })
    }
    return this.out.take()
  }

  finish(): Uint8Array {
    void this.writer.finish()
    return this.out.take()
  }
}

function parquetValue(c: Column, v: Cell): unknown {
  if (v === null) {
    if (!c.nullable) throw new Error(`column ${c.name} has no value`)
    return null
  }
  if (c.type === 'INT64') return BigInt(v)
  if (c.type === 'STRING') return String(v)
  return v
}

/** The CSV header line (RFC 4180, CRLF line ends). */
export function csvHeader(columns: Column[]): string {
  return columns.map((c) => csvCell(c.name)).join(',') + '\r\n'
}

/** CSV lines of these rows: timestamps as ISO-8601, null as an empty cell, numbers as JavaScript writes them. */
export function csvLines(columns: Column[], rows: Cell[][]): string {
  let out = ''
  for (const row of rows) {
    out +=
      columns
        .map((c, i) => {
          const v = row[i] ?? null
          if (v === null) return ''
          if (c.type === 'TIMESTAMP') return new Date(v as number).toISOString()
          return csvCell(String(v))
        })
        .join(',') + '\r\n'
  }
  return out
}

/** Quoted when empty (null is the unquoted empty cell), or holding a comma, a quote, a line break or edge space. */
function csvCell(s: string): string {
  return s === '' || /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
