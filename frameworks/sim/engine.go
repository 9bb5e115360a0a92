package sim

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// token is one generated output token waiting to be written to its stream.
type token struct {
	text      string
	reasoning bool
}

// job is one request inside the engine.
type job struct {
	keys      []uint64 // prefix-cache block keys of the prompt
	promptLen int
	maxTokens int // output length the job will produce (early EOS already decided)
	reserve   int // KV tokens held while admitted
	korean    bool
	rng       *rand.Rand

	// Scheduler-owned state.
	cached    int // prompt tokens found in the prefix cache
	prefilled int // uncached prompt tokens prefilled so far
	generated int

	cancelled atomic.Bool

	mu       sync.Mutex
	pending  []token
	finished bool
	reason   string
	notify   chan struct{}
	truth    *RequestTruth
}

func (j *job) uncached() int { return j.promptLen - j.cached }

// push hands generated tokens to the job's writer without ever blocking the engine.
func (j *job) push(ts []token, at time.Time, finished bool, reason string) {
	j.mu.Lock()
	if j.cancelled.Load() { // the writer has gone; its truth is final
		j.mu.Unlock()
		return
	}
	j.pending = append(j.pending, ts...)
	for range ts {
		j.truth.Generated = append(j.truth.Generated, at)
	}
	if finished {
		j.finished, j.reason = true, reason
	}
	j.mu.Unlock()
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// cancel marks the job abandoned by its client; the engine drops it at its next step.
func (j *job) cancel() {
	j.mu.Lock()
	j.cancelled.Store(true)
	j.mu.Unlock()
}

// take returns the tokens generated since the last call and whether the job is done.
func (j *job) take(buf []token) ([]token, bool, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	buf = append(buf[:0], j.pending...)
	j.pending = j.pending[:0]
	return buf, j.finished, j.reason
}

// catchUp is how far behind its timeline the engine may fall and still catch up: a
// scheduling delay on a loaded machine, not a stall that would release a burst of steps.
const catchUp = 50 * time.Millisecond

// engine is the continuous-batching scheduler: one goroutine that admits queued jobs
// within the batch and KV limits, then runs steps that prefill new prompts and decode one
// token for every running job, taking the profile's time for each.
type engine struct {
	p     Profile
	cache *prefixCache

	mu      sync.Mutex
	waiting []*job
	wake    chan struct{}
	resetCh chan chan struct{}

	running []*job
	kvUsed  int

	stats engineStats
}

// engineStats are the counters the simulator exposes on /metrics.
type engineStats struct {
	promptTokens, generationTokens, cacheQueries, cacheHits atomic.Int64
	running, waiting, kvUsed                                atomic.Int64
	requests                                                atomic.Int64
	ttftNanos, ttftCount                                    atomic.Int64
}

func newEngine(p Profile) *engine {
	e := &engine{p: p, wake: make(chan struct{}, 1), resetCh: make(chan chan struct{})}
	if p.PrefixCache {
		e.cache = newPrefixCache(p.BlockSize, p.CacheBlocks)
	}
	return e
}

// submit queues a job.
func (e *engine) submit(j *job) {
	e.mu.Lock()
	e.waiting = append(e.waiting, j)
	e.stats.waiting.Store(int64(len(e.waiting)))
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// resetCache empties the prefix cache between steps and returns when done.
func (e *engine) resetCache(ctx context.Context) {
	done := make(chan struct{})
	select {
	case e.resetCh <- done:
		<-done
	case <-ctx.Done():
	}
}

// reset empties the prefix cache for a resetCache caller, between steps.
func (e *engine) reset(done chan struct{}) {
	if e.cache != nil {
		e.cache.reset()
	}
	close(done)
}

// admit moves waiting jobs into the batch, in arrival order, while they fit.
func (e *engine) admit() {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := 0
	for ; i < len(e.waiting); i++ {
		j := e.waiting[i]
		if j.cancelled.Load() {
			continue
		}
		if len(e.running) >= e.p.MaxBatch || e.kvUsed+j.reserve > e.p.KVTokens {
			break
		}
		e.kvUsed += j.reserve
		if e.cache != nil {
			j.cached = e.cache.match(j.keys, j.promptLen)
			e.stats.cacheQueries.Add(int64(j.promptLen))
			e.stats.cacheHits.Add(int64(j.cached))
		}
		j.truth.Admitted = time.Now()
		j.truth.CachedTokens = j.cached
		e.running = append(e.running, j)
	}
	e.waiting = append(e.waiting[:0], e.waiting[i:]...)
	e.stats.waiting.Store(int64(len(e.waiting)))
	e.stats.running.Store(int64(len(e.running)))
	e.stats.kvUsed.Store(int64(e.kvUsed))
}

func (e *engine) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]token, 0, 4)
	// Steps end on a timeline of their own: each ends its step time after the previous
	// one ended, not after the engine finished its bookkeeping, so the simulator's own CPU
	// time (hundreds of jobs' tokens handed out per step) and a busy machine that runs the
	// engine late do not stretch the steps: the steps after a delay run at once until the
	// timeline is met. Idle, or further behind than catchUp, it starts again from now.
	var ended time.Time
	for {
		select {
		case done := <-e.resetCh:
			e.reset(done)
		default:
		}
		e.admit()
		if len(e.running) == 0 {
			ended = time.Time{}
			select {
			case <-e.wake:
				continue
			case done := <-e.resetCh:
				e.reset(done)
				continue
			case <-ctx.Done():
				return
			}
		}
		// Plan the step: decode every job past prefill; prefill the rest within the budget.
		decoding, prefill := 0, 0
		budget := e.p.PrefillChunk
		type grant struct {
			j *job
			n int
		}
		var grants []grant
		for _, j := range e.running {
			left := j.uncached() - j.prefilled
			if left <= 0 {
				decoding++
				continue
			}
			n := left
			if e.p.PrefillChunk > 0 {
				if budget <= 0 {
					continue
				}
				n = min(n, budget)
				budget -= n
			}
			prefill += n
			grants = append(grants, grant{j, n})
		}
		step := e.p.stepTime(decoding, prefill)
		if e.p.NonASCIISlowdown > 0 && slices.ContainsFunc(e.running, func(j *job) bool { return j.korean }) {
			step += time.Duration(float64(step) * e.p.NonASCIISlowdown)
		}
		if start := time.Now(); ended.IsZero() || start.Sub(ended) > catchUp {
			ended = start
		}
		ended = ended.Add(step)
		if wait := time.Until(ended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		now := time.Now()
		for _, g := range grants {
			g.j.prefilled += g.n
		}
		// Every job whose prompt is now fully prefilled produces one token this step.
		kept := e.running[:0]
		for _, j := range e.running {
			if j.cancelled.Load() {
				e.kvUsed -= j.reserve
				continue
			}
			if j.prefilled < j.uncached() {
				kept = append(kept, j)
				continue
			}
			if j.generated == 0 {
				e.stats.promptTokens.Add(int64(j.promptLen))
				if e.cache != nil {
					e.cache.insert(j.keys)
				}
			}
			batch = append(batch[:0], j.nextToken(e.p))
			j.generated++
			e.stats.generationTokens.Add(1)
			done := j.generated >= j.maxTokens
			reason := ""
			if done {
				reason = "length"
				if j.truth.EarlyStop {
					reason = "stop"
				}
			}
			j.push(batch, now, done, reason)
			if done {
				e.kvUsed -= j.reserve
				continue
			}
			kept = append(kept, j)
		}
		clear(e.running[len(kept):])
		e.running = kept
		e.stats.running.Store(int64(len(e.running)))
		e.stats.kvUsed.Store(int64(e.kvUsed))
	}
}

var (
	englishWords = []string{" the", " model", " serves", " tokens", " quickly", " and", " every",
		" request", " waits", " its", " turn", " while", " batch", " grows", " cache", " warm"}
	koreanSyllables = []string{"모", "델", "이", "토", "큰", "을", "빠", "르", "게", "생", "성",
		"합", "니", "다", " ", "요"}
)

// nextToken draws the job's next output token.
func (j *job) nextToken(p Profile) token {
	words := englishWords
	if j.korean {
		words = koreanSyllables
	}
	return token{text: words[j.rng.IntN(len(words))], reasoning: j.generated < p.ReasoningTokens}
}
