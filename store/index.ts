export { createDocumentClient, type DocumentClientOptions, prefixedTableNames } from './client';
export { ConditionFailedError } from './errors';
export { type LocksRepository, type LockWriteGuard, lockKeyOf } from './locks';
export * from './records';
export type {
  AuditRepository,
  CountersRepository,
  DeliveriesRepository,
  PlansRepository,
  SettingsRepository,
} from './repositories';
export type { Page, RunsRepository, StepResult } from './runs';
export { createStore, type Store, type StoreOptions, systemClock } from './store';
export * from './tables';
