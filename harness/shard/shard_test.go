package shard

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	s, err := Parse("2/4")
	require.NoError(t, err)
	assert.Equal(t, Shard{Index: 2, Count: 4}, s)
	for _, bad := range []string{"4/4", "-1/4", "1", "a/b", "0/0"} {
		_, err := Parse(bad)
		assert.ErrorContains(t, err, "i/n", bad)
	}
}

func TestFromEnvReadsTheIndexedJob(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	s, ok, err := FromEnv(env("JOB_COMPLETION_INDEX", "3", "JOB_COMPLETIONS", "8"))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, Shard{Index: 3, Count: 8}, s)
	_, ok, err = FromEnv(env())
	assert.False(t, ok)
	assert.NoError(t, err)
	_, _, err = FromEnv(env("JOB_COMPLETION_INDEX", "3"))
	assert.ErrorContains(t, err, "JOB_COMPLETIONS is not")
}

// Together the shards send every request once, and each holds its share of the slots.
func TestSharesPartitionTheLoad(t *testing.T) {
	for _, tc := range []struct{ n, c, shards int }{{100, 64, 4}, {10, 3, 4}, {7, 1, 2}, {10000, 10000, 7}} {
		var all []int
		slots := 0
		for i := range tc.shards {
			s := Shard{Index: i, Count: tc.shards}
			mine := s.ClosedLoop(tc.n, tc.c)
			all = append(all, mine...)
			slots += s.Slots(tc.c)
			if s.Slots(tc.c) == 0 {
				assert.Empty(t, mine, "a shard with no slot sends nothing")
			}
		}
		slices.Sort(all)
		assert.Equal(t, tc.n, len(all))
		assert.Equal(t, tc.n-1, all[len(all)-1])
		assert.Equal(t, len(slices.Compact(all)), tc.n, "no request twice")
		assert.Equal(t, tc.c, slots)

		var arrivals []int
		for i := range tc.shards {
			arrivals = append(arrivals, Shard{Index: i, Count: tc.shards}.Arrivals(tc.n)...)
		}
		slices.Sort(arrivals)
		assert.Equal(t, Shard{}.Arrivals(tc.n), arrivals)
	}
}

func TestBarrierStartsEveryShardAtOneInstant(t *testing.T) {
	dir := t.TempDir()
	starts := make([]time.Time, 4)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &Barrier{Dir: dir, Run: "job-1", Shard: Shard{Index: i, Count: 4}, Lead: 50 * time.Millisecond}
			at, err := b.Wait(context.Background(), Step{Point: "concurrent/c64", Trial: 1, Load: true})
			assert.NoError(t, err)
			starts[i] = at
		}()
	}
	wg.Wait()
	for _, s := range starts[1:] {
		assert.True(t, s.Equal(starts[0]), "%v vs %v", s, starts[0])
	}
	assert.False(t, starts[0].IsZero())

	late := &Barrier{Dir: dir, Run: "job-1", Shard: Shard{Index: 0, Count: 4}, NotBefore: starts[0].Add(time.Hour)}
	at, err := late.Wait(context.Background(), Step{Point: "concurrent/c64", Trial: 1, Load: true})
	require.NoError(t, err)
	assert.True(t, at.Equal(starts[0].Add(time.Hour)), "-start-at later than the barrier wins")
}

func TestBarrierNamesTheShardsThatNeverCame(t *testing.T) {
	b := &Barrier{Dir: t.TempDir(), Run: "job-2", Shard: Shard{Index: 1, Count: 3}, Lead: 20 * time.Millisecond, Timeout: 100 * time.Millisecond}
	_, err := b.Wait(context.Background(), Step{Point: "concurrent/c1", Trial: 2})
	require.Error(t, err)
	assert.ErrorContains(t, err, "concurrent/c1/t2/warm-up: shards [0 2] never became ready")
}

func TestAtStartsOneLoadOnly(t *testing.T) {
	when := time.Now().Add(time.Minute)
	a := &At{Time: when}
	at, err := a.Wait(context.Background(), Step{Point: "concurrent/c1", Trial: 1})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), at, time.Second, "a warm-up starts at once")
	at, err = a.Wait(context.Background(), Step{Point: "concurrent/c1", Trial: 1, Load: true})
	require.NoError(t, err)
	assert.Equal(t, when, at)
	_, err = a.Wait(context.Background(), Step{Point: "concurrent/c8", Trial: 1, Load: true})
	assert.ErrorContains(t, err, "-barrier")
}
