/** The replay's fleet: `SimulatedAgents` on the run's virtual clock. */
import type { FaultPreset, FaultRates } from '../adapters/agents/faults.js';
import { SimulatedAgents } from '../adapters/agents/simulated.js';
import type { Clock } from '../manager/ports.js';
import type { ReplayFleet } from './fleet.js';

/** A seeded simulated fleet with the default latencies and the given faults. */
export function simulatedFleet(
  clock: Clock,
  seed: number,
  faults: FaultPreset | FaultRates,
): ReplayFleet {
  return new SimulatedAgents({ clock, seed, faults });
}
