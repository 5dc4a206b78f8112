// The simulated sensors in one import for the device agent: the port, the two sensors, fault injection
// and the command-line fault spec. Nothing here touches a runtime API: it runs in Node and in a browser worker.
export {
  createEnvironment,
  ENVIRONMENT_CHANNELS,
  Environment,
  type EnvironmentChannel,
  type EnvironmentOptions,
  type EnvironmentParams,
  type EnvironmentState,
  environmentParams,
} from './environment.js'
export {
  applyFaultPlans,
  type DeviceSelector,
  type FaultPlan,
  FaultSpecError,
  parseFaultSpec,
  parseTime,
} from './fault-spec.js'
export {
  DEFAULT_DURATION_MS,
  EQUIPMENT_CHANNELS,
  EQUIPMENT_FAULT_KINDS,
  type EquipmentFaultKind,
  FAULT_KINDS,
  type Fault,
  FaultError,
  type FaultKind,
  type FaultLabel,
  type FaultOptions,
  type FaultySensor,
  isEquipmentFault,
  isFaultKind,
  SENSOR_FAULT_KINDS,
  type SensorFaultKind,
  withFaults,
} from './faults.js'
export {
  createPump,
  PUMP_CHANNELS,
  Pump,
  type PumpChannel,
  type PumpCondition,
  type PumpOptions,
  type PumpParams,
  type PumpState,
  pumpParams,
} from './pump.js'
export { createRandom, type Random, seedFrom } from './random.js'
export {
  type ChannelSpec,
  ReadClock,
  type Reading,
  type Sensor,
  type SensorKind,
  TimeOrderError,
} from './sensor.js'
