// The one data-access module: every read and write of Finale's DynamoDB tables goes through the
// repositories created here.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../vocabulary/contract';
import { createLocksRepository, type LocksRepository } from './locks';
import {
  type AuditRepository,
  type CountersRepository,
  createAuditRepository,
  createCountersRepository,
  createDeliveriesRepository,
  createPlansRepository,
  createSettingsRepository,
  type DeliveriesRepository,
  type PlansRepository,
  type SettingsRepository,
} from './repositories';
import { createRunsRepository, type RunsRepository } from './runs';
import type { TableNames } from './tables';
import { createVariablesRepository, type VariablesRepository } from './variables';

export interface Store {
  readonly runs: RunsRepository;
  readonly counters: CountersRepository;
  readonly locks: LocksRepository;
  readonly settings: SettingsRepository;
  readonly audit: AuditRepository;
  readonly plans: PlansRepository;
  readonly deliveries: DeliveriesRepository;
  readonly variables: VariablesRepository;
}

interface StoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tables: TableNames;
  readonly clock: Clock;
}

export function createStore({ client, tables, clock }: StoreOptions): Store {
  return {
    runs: createRunsRepository(client, tables.runs),
    counters: createCountersRepository(client, tables.repositories),
    locks: createLocksRepository(client, tables.locks),
    settings: createSettingsRepository(client, tables.repositories),
    audit: createAuditRepository(client, tables.repositories),
    plans: createPlansRepository(client, tables.plans, clock),
    deliveries: createDeliveriesRepository(client, tables.deliveries, clock),
    variables: createVariablesRepository(client, tables.repositories),
  };
}

export const systemClock: Clock = { now: () => Date.now() };
