// The few workerd types the Worker entry uses, declared here so the rest of the code keeps the
// standard DOM and Node types (the full @cloudflare/workers-types would replace them globally).

declare module '*.wasm' {
  const module: WebAssembly.Module
  export default module
}

declare module 'cloudflare:workers' {
  export interface DurableObjectState {
    storage: {
      getAlarm(): Promise<number | null>
      setAlarm(at: number): Promise<void>
      get<T>(key: string): Promise<T | undefined>
      put<T>(key: string, value: T): Promise<void>
    }
    blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
  }
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState
    protected env: Env
    constructor(ctx: DurableObjectState, env: Env)
  }
}
