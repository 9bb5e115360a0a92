package results

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/servegate/servegate/harness/metrics"
)

// TimeFormat is how MeasuredAt and other run times are written: RFC 3339 with
// milliseconds, so two points finished within one second still differ.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Options configure Open.
type Options struct {
	// Fresh discards the points already in the file: the run starts it over.
	Fresh bool
	// Wait is how long to wait for another process writing the same file to finish;
	// 0 refuses at once.
	Wait time.Duration
	// Logf, when set, says that the run is waiting and for whom.
	Logf func(format string, args ...any)
}

// SettingsError says a file holds points measured under other settings than the run's.
type SettingsError struct {
	Path        string
	Differences []string
}

func (e *SettingsError) Error() string {
	if len(e.Differences) == 0 {
		return fmt.Sprintf("%s records no settings (written before servegate kept them): its points cannot be told apart from this run's", e.Path)
	}
	return fmt.Sprintf("%s holds points measured under other settings (%s): they would be mixed with this run's",
		e.Path, strings.Join(e.Differences, "; "))
}

// Writer keeps a result file current as points finish. The file accumulates: points of
// earlier runs with the same settings stay, and a point with the same scenario and point
// name as an earlier one replaces it. One process at a time writes a file (a lock beside
// it, held until Close).
type Writer struct {
	mu    sync.Mutex
	path  string
	file  File
	added []Point
	lock  *fileLock
}

// Open takes the lock on the result file at path and returns a Writer for a run described
// by head (whose Settings say what it measures under). The points already in the file are
// kept unless opt.Fresh; a file whose settings differ from head's is refused with a
// *SettingsError (unless opt.Fresh), and so is one that cannot be read. The file is
// written at once, so a run that dies before its first point still leaves one naming
// what was being measured.
func Open(ctx context.Context, path string, head File, opt Options) (*Writer, error) {
	lk, err := acquire(ctx, path+".lock", opt.Wait, opt.Logf)
	if err != nil {
		return nil, err
	}
	w, err := load(path, head, opt.Fresh)
	if err != nil {
		lk.release()
		return nil, err
	}
	w.lock = lk
	return w, nil
}

// OpenApart is Open for the file Path(dir, head.Framework, head.Settings.Preset), except
// that a file there holding points measured under other settings (another scale, simulator
// profile or engine version) is left alone and the run's points go to a file of their own
// beside it, named by every setting (SettingsPath). moved is the first file's
// *SettingsError when that happened, so the caller can say where the points went. With
// opt.Fresh the first file is started over, as Open does.
func OpenApart(ctx context.Context, dir string, head File, opt Options) (w *Writer, moved *SettingsError, err error) {
	if head.Settings == nil {
		head.Settings = &Settings{Preset: head.ModelPreset}
	}
	w, err = Open(ctx, Path(dir, head.Framework, head.Settings.Preset), head, opt)
	if !errors.As(err, &moved) {
		return w, nil, err
	}
	w, err = Open(ctx, SettingsPath(dir, head.Framework, *head.Settings), head, opt)
	return w, moved, err
}

func load(path string, head File, fresh bool) (*Writer, error) {
	head.Schema = SchemaVersion
	if head.Settings == nil {
		head.Settings = &Settings{}
	}
	if head.Definitions == nil {
		head.Definitions = maps.Clone(metrics.Definitions)
	}
	head.Results = []Point{} // "results": [] before the first point, not null
	if !fresh {
		old, err := Read(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		case old.Settings == nil && len(old.Results) > 0:
			return nil, &SettingsError{Path: path}
		case old.Settings != nil && len(old.Settings.differences(*head.Settings)) > 0:
			return nil, &SettingsError{Path: path, Differences: old.Settings.differences(*head.Settings)}
		case len(old.Results) > 0:
			head.Results = old.Results
		}
	}
	w := &Writer{path: path, file: head}
	return w, WriteFile(path, &w.file)
}

// Add records a finished point (stamping MeasuredAt if unset) and rewrites the file.
func (w *Writer) Add(p Point) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.MeasuredAt == "" {
		p.MeasuredAt = time.Now().Format(TimeFormat)
	}
	replace := func(pts []Point) []Point {
		for i, q := range pts {
			if q.Scenario == p.Scenario && q.Point == p.Point {
				pts[i] = p
				return pts
			}
		}
		return append(pts, p)
	}
	w.file.Results = replace(w.file.Results)
	w.added = replace(w.added)
	return WriteFile(w.path, &w.file)
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

// Points returns a copy of every point in the file: this run's and those kept from earlier
// runs.
func (w *Writer) Points() []Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Point(nil), w.file.Results...)
}

// Added returns a copy of the points this run wrote.
func (w *Writer) Added() []Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Point(nil), w.added...)
}

// Close releases the file to other runs. It is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lock == nil {
		return nil
	}
	err := w.lock.release()
	w.lock = nil
	return err
}
