// Package shard splits one measurement across several client processes: each runs its
// share of every point's load (Shard) from a start they all share (Barrier, At), and
// writes its requests' records; servegate-merge pools the records into one result. It is
// what a Kubernetes Indexed Job needs: pod i of n runs shard i/n.
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one process's share of a measurement: Index of Count (0 ≤ Index < Count). The
// zero value, like Count 1, is the whole measurement.
type Shard struct {
	Index, Count int
}

// Whole reports whether s is the whole measurement (no sharding).
func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return "whole"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Parse reads "i/n": shard i of n.
func Parse(v string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4 for the first of four", v)
	}
	return check(i, n, "shard "+strconv.Quote(v))
}

// FromEnv reads the shard a Kubernetes Indexed Job gives a pod: JOB_COMPLETION_INDEX of
// JOB_COMPLETIONS (the Job's completions, passed to the pod by its manifest). ok is false
// when the index is not set.
func FromEnv(getenv func(string) string) (s Shard, ok bool, err error) {
	i, n := getenv("JOB_COMPLETION_INDEX"), getenv("JOB_COMPLETIONS")
	if i == "" {
		return Shard{}, false, nil
	}
	if n == "" {
		return Shard{}, true, fmt.Errorf("JOB_COMPLETION_INDEX=%s is set but JOB_COMPLETIONS is not: set it in the Job's pod template to the Job's completions", i)
	}
	s, err = check(i, n, fmt.Sprintf("JOB_COMPLETION_INDEX=%s, JOB_COMPLETIONS=%s", i, n))
	return s, true, err
}

func check(i, n, what string) (Shard, error) {
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
		return Shard{}, fmt.Errorf("%s: want i/n, whole numbers with 0 ≤ i < n", what)
	}
	return Shard{Index: idx, Count: cnt}, nil
}

// Slots is this shard's share of c concurrent slots: slot k belongs to shard k mod Count.
func (s Shard) Slots(c int) int {
	if s.Whole() {
		return c
	}
	n := c / s.Count
	if s.Index < c%s.Count {
		n++
	}
	return n
}

// ClosedLoop returns the requests (numbered 0..n-1 as one process would send them) this
// shard sends in a closed loop of concurrency c: request j is first sent by slot j mod c,
// so the shard owning that slot sends it. Each shard sends about its share of slots'
// worth of requests, and the shards together send each request once.
func (s Shard) ClosedLoop(n, c int) []int {
	c = max(c, 1)
	var out []int
	for j := range n {
		if s.Whole() || (j%c)%s.Count == s.Index {
			out = append(out, j)
		}
	}
	return out
}

// Arrivals returns the arrivals (numbered 0..n-1 in the schedule one process would
// follow) this shard sends in an open loop: every Count-th, from its Index. The schedule
// is drawn from the seed every shard shares, so together they send it whole.
func (s Shard) Arrivals(n int) []int {
	var out []int
	for j := range n {
		if s.Whole() || j%s.Count == s.Index {
			out = append(out, j)
		}
	}
	return out
}
