package shard

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Step is a moment of a measurement at which shards line up: before a trial's warm-up
// (once shard 0 has emptied the server's cache) and before its measured load.
type Step struct {
	// Point is the scenario point (scenario/point), Trial its trial.
	Point string
	Trial int
	// Load is the measured load; false is the warm-up.
	Load bool
}

func (s Step) String() string {
	phase := "warm-up"
	if s.Load {
		phase = "load"
	}
	return fmt.Sprintf("%s/t%d/%s", s.Point, s.Trial, phase)
}

// Sync lines the shards of a measurement up. Wait returns, once every shard has reached
// step, the instant they all start it; the caller waits for it (Until).
type Sync interface {
	Wait(ctx context.Context, step Step) (time.Time, error)
}

// At is a start time given to every shard (-start-at) without a directory they share:
// the measured load of one trial of one point starts then. Shards that cannot see each
// other cannot agree when a later point or trial starts, so a second is refused, and a
// warm-up starts at once (shard 0's cache reset may land after another shard's warm-up:
// give a Barrier for points that rely on a warm cache).
type At struct {
	Time time.Time
	mu   sync.Mutex
	used string
}

// Wait implements Sync.
func (a *At) Wait(ctx context.Context, step Step) (time.Time, error) {
	if !step.Load {
		return time.Now(), ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used != "" {
		return time.Time{}, fmt.Errorf("%s: shards given only a start time (-start-at) run one point's one trial, and %s started at it: "+
			"give them a directory they share (-barrier) to run more, or select one point (-run) and -trials=1", step, a.used)
	}
	a.used = step.String()
	return a.Time, nil
}
