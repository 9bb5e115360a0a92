package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// owner is what a lock file says about the process holding it.
type owner struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Host    string `json:"host,omitempty"`
	Since   string `json:"since"`
}

func (o owner) String() string {
	if o.PID == 0 {
		return "another process (its lock file names none)"
	}
	s := fmt.Sprintf("pid %d (%s)", o.PID, o.Command)
	if o.Host != "" {
		s += " on " + o.Host
	}
	return s + " since " + o.Since
}

// BusyError says another process holds a result file.
type BusyError struct {
	Path  string
	Owner string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s is being written by %s", strings.TrimSuffix(e.Path, ".lock"), e.Owner)
}

// fileLock is an exclusive flock(2) on a lock file beside a result file. The kernel drops
// it when its holder dies, so a crashed run never leaves a file locked.
type fileLock struct {
	f    *os.File
	path string
}

// acquire takes the lock at path, waiting up to wait (polling with backoff) while another
// process holds it; logf hears once whom it waits for.
func acquire(ctx context.Context, path string, wait time.Duration, logf func(string, ...any)) (*fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	deadline := time.Now().Add(wait)
	backoff := 50 * time.Millisecond
	told := false
	for {
		l, holder, err := tryLock(path)
		if err != nil || l != nil {
			return l, err
		}
		busy := &BusyError{Path: path, Owner: holder.String()}
		if !time.Now().Before(deadline) {
			return nil, busy
		}
		if !told && logf != nil {
			logf("%v; waiting up to %v for it to finish", busy, wait)
			told = true
		}
		t := time.NewTimer(min(backoff, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%v: stopped waiting: %w", busy, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// tryLock takes the lock without waiting: the lock, or the holder's description.
func tryLock(path string) (*fileLock, owner, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, owner{}, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, owner{}, fmt.Errorf("lock %s: %w", path, err)
		}
		var o owner
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &o)
		}
		return nil, o, nil
	}
	// The previous holder removes the file as it lets go: a lock taken on the removed
	// file guards nothing, so take the one now at path instead.
	held, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return tryLock(path)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(owner{PID: os.Getpid(), Command: strings.Join(os.Args, " "), Host: host, Since: time.Now().Format(TimeFormat)})
	// Who holds the file is for the message a second run prints; failing to say so does
	// not weaken the lock.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &fileLock{f: f, path: path}, owner{}, nil
}

// release removes the lock file and lets go of the lock.
func (l *fileLock) release() error {
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, l.f.Close())
}

// Update runs fn while holding the lock beside path, waiting up to wait for another process
// that holds it: for a file several runs read, change and write back (the verdict file).
func Update(ctx context.Context, path string, wait time.Duration, fn func() error) error {
	l, err := acquire(ctx, path+".lock", wait, nil)
	if err != nil {
		return err
	}
	defer l.release()
	return fn()
}
