// Types of the WIT imports of the Spin component (componentize-js maps each interface to an ES
// module specifier; a `result` error is thrown as its variant value). See wit/ and
// kernels/component/wit/kernel.wit.
declare module 'edgewatch:kernel/detect' {
  export function run(
    state: Uint8Array,
    ts: Float64Array,
    values: Float64Array,
    params: Float64Array,
  ): [Uint8Array, Float64Array, Uint8Array, Float64Array]
  export function runState(
    state: Uint8Array,
    rows: Float64Array,
    width: number,
    params: Float64Array,
  ): [Uint8Array, Float64Array, Uint32Array]
}

declare module 'fermyon:spin/sqlite@2.0.0' {
  export type Value =
    | { tag: 'integer'; val: bigint }
    | { tag: 'real'; val: number }
    | { tag: 'text'; val: string }
    | { tag: 'blob'; val: Uint8Array }
    | { tag: 'null' }
  export interface QueryResult {
    columns: string[]
    rows: { values: Value[] }[]
  }
  export class Connection {
    static open(database: string): Connection
    execute(statement: string, parameters: Value[]): QueryResult
  }
}

declare module 'fermyon:spin/key-value@2.0.0' {
  export class Store {
    static open(label: string): Store
    get(key: string): Uint8Array | undefined
    set(key: string, value: Uint8Array): void
    delete(key: string): void
    exists(key: string): boolean
    getKeys(): string[]
  }
}

declare module 'fermyon:spin/variables@2.0.0' {
  export function get(name: string): string
}

declare module '@spinframework/build-tools/plugins/esbuild/index.js' {
  export function SpinEsbuildPlugin(): Promise<import('esbuild').Plugin>
}
