package sim

import "github.com/servegate/servegate/internal/truth"

// MonoTruth is RequestTruth on CLOCK_MONOTONIC: the form the simulator serves at
// GET /sim/truth/{id} (truth.Mono).
type MonoTruth = truth.Mono

// MonoEmit is Emit on CLOCK_MONOTONIC (truth.MonoEmit).
type MonoEmit = truth.MonoEmit
