package shard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Barrier lines shards up through files in a directory every shard sees (a volume they
// share): at each step a shard writes the time it became ready, waits until every shard
// has, and all start the step at the latest readiness plus Lead, each by its own clock
// (so the clocks must agree, as NTP keeps them, to well within Lead).
type Barrier struct {
	// Dir holds the readiness files, under Run: Dir/Run/<step>/<index>.
	Dir string
	// Run names this measurement, so a directory reused by a later run does not release
	// it early (a Job's controller uid, a start time).
	Run   string
	Shard Shard
	// Lead is how long after the last shard is ready the step starts: long enough for
	// every shard to see the last file. 0 means 2 s.
	Lead time.Duration
	// Timeout bounds the wait for the other shards; 0 means 30 minutes (a framework's
	// start-up and warm-up can take long).
	Timeout time.Duration
	// NotBefore, when set, is the earliest any step starts (-start-at).
	NotBefore time.Time
}

// Wait marks this shard ready for step and returns the instant every shard starts it,
// once every shard is ready. It does not wait for that instant (see Until).
func (b *Barrier) Wait(ctx context.Context, step Step) (time.Time, error) {
	at, err := b.wait(ctx, step.String())
	if err == nil && at.Before(b.NotBefore) {
		at = b.NotBefore
	}
	return at, err
}

func (b *Barrier) wait(ctx context.Context, step string) (time.Time, error) {
	if b.Dir == "" || b.Run == "" {
		return time.Time{}, errors.New("shard barrier: needs a directory and a run name every shard shares")
	}
	lead, timeout := b.Lead, b.Timeout
	if lead == 0 {
		lead = 2 * time.Second
	}
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	dir := filepath.Join(b.Dir, safe(b.Run), safe(step))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return time.Time{}, fmt.Errorf("shard barrier: %w", err)
	}
	if err := writeReady(dir, b.Shard.Index, time.Now()); err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	poll := 10 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("shard barrier at %s: shards %v never became ready (waited %v): %w", step, missing(dir, b.Shard.Count), timeout, ctx.Err())
		case <-t.C:
		}
		latest, n, err := readReady(dir, b.Shard.Count)
		if err != nil {
			return time.Time{}, err
		}
		if n == b.Shard.Count {
			return latest.Add(lead), nil
		}
		poll = min(2*poll, lead/10)
		t.Reset(poll)
	}
}

// Until waits until at (or ctx ends).
func Until(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// safe makes a step or run name one path element.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == 0 {
			return '_'
		}
		return r
	}, s)
}

func writeReady(dir string, index int, at time.Time) error {
	tmp, err := os.CreateTemp(dir, ".ready-*")
	if err != nil {
		return fmt.Errorf("shard barrier: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(at.UTC().Format(time.RFC3339Nano)); err != nil {
		tmp.Close()
		return fmt.Errorf("shard barrier: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("shard barrier: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, strconv.Itoa(index))); err != nil {
		return fmt.Errorf("shard barrier: %w", err)
	}
	return nil
}

// readReady returns the latest readiness among the shards that are ready, and how many are.
func readReady(dir string, count int) (time.Time, int, error) {
	var latest time.Time
	n := 0
	for i := range count {
		b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return time.Time{}, 0, fmt.Errorf("shard barrier: %w", err)
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
		if err != nil {
			return time.Time{}, 0, fmt.Errorf("shard barrier: %s/%d: %w", dir, i, err)
		}
		n++
		if at.After(latest) {
			latest = at
		}
	}
	return latest, n, nil
}

func missing(dir string, count int) []int {
	var out []int
	for i := range count {
		if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(i))); err != nil {
			out = append(out, i)
		}
	}
	return slices.Clip(out)
}
