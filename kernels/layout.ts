// The memory contract between the AssemblyScript kernel and every host.
// Plain constants only, so the same file compiles as AssemblyScript and as TypeScript.

/** Parameter slots (f64) in the params block. */
export const P_OUTLIER_ALPHA = 0
export const P_OUTLIER_Z = 1
export const P_OUTLIER_WARMUP = 2
export const P_SPIKE_ALPHA = 3
export const P_SPIKE_K = 4
export const P_SPIKE_WARMUP = 5
export const P_DRIFT_ALPHA = 6
export const P_DRIFT_K = 7
export const P_DRIFT_H = 8
export const P_DRIFT_WARMUP = 9
export const P_STUCK_N = 10
export const P_STUCK_MIN_RATE = 11
export const P_STUCK_ALPHA = 12
export const P_THRESHOLD_LO = 13
export const P_THRESHOLD_HI = 14
export const P_WINDOW_MS = 15
export const P_SLIDE_MS = 16
export const P_ENABLED = 17
/** Buckets per window (window.ms / window.slideMs), computed by the host. */
export const P_WINDOW_BUCKETS = 18
export const P_NOVELTY_TOL = 19
export const P_NOVELTY_WARMUP = 20
export const P_NOVELTY_DECAY = 21
export const P_CONTEXT_LEVELS = 22
export const P_CONTEXT_LAGS = 23
export const P_CONTEXT_HOURS = 24
export const P_CONTEXT_WEIGHT = 25
export const P_CONTEXT_WARMUP = 26
export const P_SHAPE_BLOCK = 27
export const P_SHAPE_VIGILANCE = 28
export const P_SHAPE_ALARM = 29
export const P_SHAPE_WARMUP = 30
export const P_SHAPE_MASK = 31
export const P_SHAPE_CATEGORIES = 32
export const P_REFRACTORY_SAMPLES = 33
export const P_REFRACTORY_RANK = 34
export const PARAM_COUNT = 40

/**
 * Verdict bits, one per detector kind (a verdict is one byte). WINDOW only enables window features,
 * so it lies above the byte.
 */
export const BIT_THRESHOLD = 1
export const BIT_OUTLIER = 2
export const BIT_SPIKE = 4
export const BIT_DRIFT = 8
export const BIT_STUCK = 16
export const BIT_SHAPE = 32
export const BIT_NOVELTY = 64
export const BIT_CONTEXT = 128
export const BIT_WINDOW = 256

/** State slots (f64). The whole block is the series' snapshot. */
export const S_VERSION = 0
export const S_COUNT = 1
export const S_PREV = 2
export const S_OUT_MEAN = 3
export const S_OUT_VAR = 4
export const S_SPIKE_SPREAD = 5
export const S_SPIKE_COUNT = 6
export const S_DRIFT_MEAN = 7
export const S_DRIFT_VAR = 8
export const S_DRIFT_POS = 9
export const S_DRIFT_NEG = 10
export const S_DRIFT_COUNT = 11
export const S_STUCK_RUN = 12
export const S_STUCK_RATE = 13
export const S_STUCK_RATE_AT_START = 14
export const S_NOV_LO = 15
export const S_NOV_HI = 16
export const S_NOV_ENV_LO = 17
export const S_NOV_ENV_HI = 18
/**
 * Context: running min and max; the last CONTEXT_LAGS_MAX levels, one byte each, most recent in the
 * low byte (raw bytes of one slot); the seen-context bitmap, CONTEXT_BITS bits as raw bytes.
 */
export const S_CTX_LO = 19
export const S_CTX_HI = 20
export const S_CTX_RECENT = 21
export const CONTEXT_LAGS_MAX = 4
export const S_CTX_BITS = 22
export const CONTEXT_SLOTS = 18
export const CONTEXT_BITS = 18 * 64
/** Samples left in the refractory period after a ranked alarm (see index.ts). */
export const S_REFRACTORY = 40
/**
 * Shape (kernels/assembly/shape.ts): the warm-up range, the open block's sum and sample count, blocks
 * completed, samples left masked after an alarm, categories in use; the last SHAPE_BLOCKS block
 * means quantised to a byte each (raw bytes of one slot, most recent in the low byte); then
 * SHAPE_CATEGORIES_MAX categories of SHAPE_WEIGHTS byte weights each (raw bytes).
 */
export const S_SHAPE_LO = 41
export const S_SHAPE_HI = 42
export const S_SHAPE_SUM = 43
export const S_SHAPE_FILL = 44
export const S_SHAPE_BLOCKS = 45
export const S_SHAPE_MASK = 46
export const S_SHAPE_USED = 47
export const S_SHAPE_RECENT = 48
export const S_SHAPE_WEIGHTS = 49
export const SHAPE_BLOCKS = 8
/** A category's weights: the box's low corner, then the complement of its high corner. */
export const SHAPE_WEIGHTS = 16
export const SHAPE_CATEGORIES_MAX = 32
export const SHAPE_SLOTS = (32 * 16) / 8
/** Window fields come last before the buckets: a snapshot restored with another window size keeps [0, S_WIN_CURRENT). */
export const S_WIN_CURRENT = 49 + 64
export const S_WIN_SLOT = 50 + 64
export const S_BUCKETS = 51 + 64
/**
 * Fields of one window bucket: its index (floor(ts / slide)), count, shift (its first value),
 * sum and sum of squares of (value - shift), min, max.
 */
export const B_INDEX = 0
export const B_COUNT = 1
export const B_SHIFT = 2
export const B_SUM = 3
export const B_SUMSQ = 4
export const B_MIN = 5
export const B_MAX = 6
export const B_FIELDS = 7
export const BUCKETS_MAX = 16
export const STATE_COUNT = 51 + 64 + 16 * 7
export const STATE_VERSION = 4

/** Window feature record (f64 fields) in the window output block. */
export const W_START = 0
export const W_END = 1
export const W_COUNT = 2
export const W_MEAN = 3
export const W_STD = 4
export const W_MIN = 5
export const W_MAX = 6
export const W_RANGE = 7
export const W_FIELDS = 8

/** Fixed regions of linear memory (bytes). */
export const PARAMS_PTR = 65536
export const STATE_PTR = 65536 + 1024
export const CAPACITY = 65536
export const TS_PTR = 131072
export const VALUE_PTR = 131072 + 65536 * 8
export const SCORE_PTR = 131072 + 65536 * 16
export const FLAGS_PTR = 131072 + 65536 * 24
export const WINDOW_PTR = 131072 + 65536 * 25
export const WINDOW_CAPACITY = 4096
/**
 * Kernel-private scratch, in no snapshot: each ring entry's mean and M2 (8 bytes each) once its
 * bucket is complete, and a byte per entry saying whether they are valid (see window.ts).
 */
export const BUCKET_STATS_PTR = 65536 + 4096
export const BUCKET_VALID_PTR = 65536 + 4096 + 16 * 16
export const MEMORY_END = 131072 + 65536 * 25 + 4096 * 8 * 8

// ---- The per-device `state` detector (kernels/assembly/state.ts): its own params, state and rows. ----
/** Metrics of one device the state detector models (the first seen). */
export const STATE_METRICS_MAX = 16
/** Parameter slots (f64) of the state detector's own params block. */
export const SP_BASELINE = 0
export const SP_MARGIN = 1
export const SP_RIDGE = 2
export const SP_FLOOR = 3
export const SP_ADAPT = 4
export const STATE_PARAM_COUNT = 8
/**
 * Device state slots (f64), the whole block being the device's snapshot: rows seen, the baseline's
 * length (fixed when the device starts), metrics learnt, metrics in the fitted model, the largest
 * distance of the baseline's second half and the bound; then per metric its count and mean, the fitted
 * spreads, the co-moment matrix and the Cholesky factor (STATE_METRICS_MAX² each, row-major), and
 * the reciprocals of the spreads and of the factor's diagonal.
 */
export const DS_VERSION = 0
export const DS_ROWS = 1
export const DS_BASELINE = 2
export const DS_COLUMNS = 3
export const DS_FITTED = 4
export const DS_CAL_MAX = 5
export const DS_BOUND = 6
export const DS_COUNT = 8
export const DS_MEAN = 8 + 16
export const DS_SPREAD = 8 + 32
export const DS_COMOMENT = 8 + 48
export const DS_CHOL = 8 + 48 + 256
/** Reciprocals of the spreads and of the Cholesky factor's diagonal: a row is scored without dividing. */
export const DS_SCALE = 8 + 48 + 512
export const DS_PIVOT = 8 + 48 + 512 + 16
export const DEVICE_STATE_COUNT = 8 + 48 + 512 + 32
export const DEVICE_STATE_VERSION = 1
/** Verdict word per row: byte 0 is 1 when flagged, bytes 1-3 the top metrics (NO_METRIC: none). */
export const NO_METRIC = 255
/** Fixed regions of the state detector, above the series kernel's MEMORY_END (bytes). */
export const DEV_PARAMS_PTR = 131072 + 65536 * 25 + 4096 * 8 * 8
/** Kernel-private scratch (4 vectors of STATE_METRICS_MAX), in no snapshot. */
export const DEV_SCRATCH_PTR = DEV_PARAMS_PTR + 64
export const DEV_STATE_PTR = DEV_PARAMS_PTR + 1024
/** Rows per call; each row is `d` f64 values (NaN: missing), rows one after another. */
export const DEV_CAPACITY = 4096
export const DEV_ROWS_PTR = DEV_STATE_PTR + 8192
export const DEV_SCORE_PTR = DEV_ROWS_PTR + 4096 * 16 * 8
export const DEV_VERDICT_PTR = DEV_SCORE_PTR + 4096 * 8
export const DEV_MEMORY_END = DEV_VERDICT_PTR + 4096 * 4
