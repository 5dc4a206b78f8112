// The host functions of the edgewatch app ABI v1, as the agent provides them. AssemblyScript imports a
// declared function from the module named after the file that declares it, so everything here is imported
// from "edgewatch" (no decorator needed): keep this file's name. Apps use the helpers of index.ts instead.

/** Epoch milliseconds. */
export declare function now_ms(): f64

/** How many sensor channels the device has. */
export declare function sensor_count(): i32

/** The current reading of a channel; NaN when there is no such channel. */
export declare function sensor_read(channel: i32): f64

/** Writes the channel's name (UTF-8, at most cap bytes) at ptr; returns the bytes written. */
export declare function sensor_name(channel: i32, ptr: i32, cap: i32): i32

/** Sends a metric named by UTF-8 bytes with the device's telemetry. */
export declare function emit(namePtr: i32, nameLen: i32, value: f64): void

/** Logs a UTF-8 message: level 0 debug, 1 info, 2 warn, 3 error. */
export declare function log(level: i32, ptr: i32, len: i32): void
