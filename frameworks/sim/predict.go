package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// ClosedLoop is a workload the simulator can predict: Users clients each send a request
// as soon as their previous one ends, Requests in all, every one InputTokens of unique
// prompt (no prefix-cache hits) and exactly OutputTokens of output (ignore_eos).
//
// Stagger spreads the users' first requests evenly over that long, as a closed loop with
// a ramp-up does (load.ClosedLoop.RampUp). Requests of equal length that start together
// end together, and clients that answer at once keep them in waves: a prefill step for
// all, then decode steps for all. Staggered users keep their own phases, each step
// prefilling a few arrivals while the rest decode; a real client, which answers one
// request after another, drifts from waves toward phases in a way Predict cannot know,
// so a measurement to compare with Predict ramps up.
type ClosedLoop struct {
	Users, InputTokens, OutputTokens, Requests int
	Stagger                                    time.Duration
}

// Predicted is one request's timings as the engine's step model makes them, from the
// request's arrival.
type Predicted struct {
	TTFT, E2E time.Duration
	// ITL is the mean time between tokens after the first: (E2E - TTFT) / (tokens - 1).
	ITL time.Duration
}

// Predict runs the profile's scheduler in virtual time on w and returns every request's
// timings in arrival order: the same admission (batch and KV limits, arrival order), the
// same step plan (chunked prefill, a token for every job whose prompt is prefilled) and
// the same stepTime as the engine that serves real requests, with no clock in between. A
// client's next request arrives just after the step that ended its last one, so it waits
// for the step the engine starts at once, unless the engine is idle. Real requests also
// pay the network and the client's own pace; the capacity tests hold a search within one
// of its steps of what Predict says.
func (p Profile) Predict(w ClosedLoop) ([]Predicted, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if w.Users < 1 || w.Requests < 1 || w.OutputTokens < 1 || w.InputTokens < 1 {
		return nil, fmt.Errorf("predict %+v: users, requests, input and output tokens must be at least 1", w)
	}
	if w.InputTokens+w.OutputTokens > p.KVTokens {
		return nil, fmt.Errorf("predict: a request needs %d KV-cache tokens; profile %s has %d", w.InputTokens+w.OutputTokens, p.Name, p.KVTokens)
	}
	type vjob struct {
		id                   int
		arrived, first, last time.Duration
		prefilled, generated int
	}
	out := make([]Predicted, w.Requests)
	var waiting, running []*vjob
	sent, done := 0, 0
	var now time.Duration
	send := func(at time.Duration) {
		if sent < w.Requests {
			waiting = append(waiting, &vjob{id: sent, arrived: at})
			sent++
		}
	}
	users := min(w.Users, w.Requests)
	for u := range users {
		send(w.Stagger * time.Duration(u) / time.Duration(users))
	}
	reserve := w.InputTokens + w.OutputTokens
	for done < w.Requests {
		// Admit, in arrival order, what has arrived and fits. (A staggered first request
		// may be due after an answer sent later.)
		slices.SortStableFunc(waiting, func(a, b *vjob) int { return cmp.Compare(a.arrived, b.arrived) })
		kv := len(running) * reserve
		i := 0
		for ; i < len(waiting) && waiting[i].arrived <= now; i++ {
			if len(running) >= p.MaxBatch || kv+reserve > p.KVTokens {
				break
			}
			kv += reserve
			running = append(running, waiting[i])
		}
		waiting = waiting[i:]
		if len(running) == 0 {
			now = waiting[0].arrived // idle until the next arrival
			continue
		}
		decoding, prefill := 0, 0
		budget := p.PrefillChunk
		grants := map[*vjob]int{}
		for _, j := range running {
			left := w.InputTokens - j.prefilled
			if left <= 0 {
				decoding++
				continue
			}
			n := left
			if p.PrefillChunk > 0 {
				if budget <= 0 {
					continue
				}
				n = min(n, budget)
				budget -= n
			}
			prefill += n
			grants[j] = n
		}
		now += p.stepTime(decoding, prefill)
		kept := running[:0]
		for _, j := range running {
			j.prefilled += grants[j]
			if j.prefilled < w.InputTokens {
				kept = append(kept, j)
				continue
			}
			j.generated++
			if j.generated == 1 {
				j.first = now
			}
			if j.generated < w.OutputTokens {
				kept = append(kept, j)
				continue
			}
			j.last = now
			pr := Predicted{TTFT: j.first - j.arrived, E2E: j.last - j.arrived}
			if w.OutputTokens > 1 {
				pr.ITL = (j.last - j.first) / time.Duration(w.OutputTokens-1)
			}
			out[j.id] = pr
			done++
			send(now + time.Nanosecond) // the client answers after the step has ended
		}
		running = kept
	}
	return out, nil
}
