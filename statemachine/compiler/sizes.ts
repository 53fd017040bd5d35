import type { StepSize } from '../language/model';

interface FargateSize {
  /** CPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  /** MiB. */
  readonly memory: number;
  /** Set when Fargate cannot give Bitbucket's figure exactly. */
  readonly note?: string;
}

// Bitbucket's sizes are memory multiples of 4 GB (1x = 4 GB, 2x = 8 GB, …). Each maps to the smallest
// Fargate CPU whose memory range holds that figure, so a step gets at least what Bitbucket gives it.
const FARGATE: Record<StepSize, FargateSize> = {
  '1x': { cpu: 1024, memory: 4096 },
  '2x': { cpu: 2048, memory: 8192 },
  '4x': { cpu: 4096, memory: 16384 },
  '8x': { cpu: 8192, memory: 32768 },
  '16x': { cpu: 16384, memory: 65536 },
  '32x': {
    cpu: 16384,
    memory: 122880,
    note: 'size 32x (128 GB) is more than Fargate offers; the step gets 16 vCPU and 120 GB',
  },
};

export function fargateSizeOf(size: StepSize): FargateSize {
  return FARGATE[size];
}
