package results

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/schema"
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
	// RecordsOnly writes the records file alone, not the result file: a shard's share of
	// a point is not a result until servegate-merge has pooled every shard's records.
	RecordsOnly bool
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
	mu      sync.Mutex
	path    string
	records string
	only    bool
	file    File
	added   []Point
	lock    *fileLock
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
	w, err := load(path, head, opt)
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
// *SettingsError when that happened, so the caller can say where the points went.
// opt.Fresh starts over the file of the run's own settings only: points measured under
// other settings are never discarded by it.
func OpenApart(ctx context.Context, dir string, head File, opt Options) (w *Writer, moved *SettingsError, err error) {
	if head.Settings == nil {
		head.Settings = &Settings{Preset: head.ModelPreset}
	}
	base := Path(dir, head.Framework, head.Settings.Preset)
	if opt.Fresh {
		// Open skips the settings check when it starts a file over: look first.
		if old, err := Read(base); err == nil {
			moved = mismatch(base, old, *head.Settings)
		}
	}
	if moved == nil {
		w, err = Open(ctx, base, head, opt)
		if !errors.As(err, &moved) {
			return w, nil, err
		}
	}
	w, err = Open(ctx, SettingsPath(dir, head.Framework, *head.Settings), head, opt)
	return w, moved, err
}

// mismatch says why the points of old, the file at path, cannot be mixed with a run's
// under s: it has points but records no settings, or its settings differ. nil when they
// can.
func mismatch(path string, old *File, s Settings) *SettingsError {
	switch {
	case old.Settings == nil && len(old.Results) > 0:
		return &SettingsError{Path: path}
	case old.Settings != nil && len(old.Settings.Differences(s)) > 0:
		return &SettingsError{Path: path, Differences: old.Settings.Differences(s)}
	}
	return nil
}

func load(path string, head File, opt Options) (*Writer, error) {
	fresh := opt.Fresh
	head.Schema = SchemaVersion
	if head.Settings == nil {
		head.Settings = &Settings{}
	}
	if head.Definitions == nil {
		head.Definitions = maps.Clone(metrics.Definitions)
	}
	head.Results = []Point{} // "results": [] before the first point, not null
	if !fresh && !opt.RecordsOnly {
		old, err := Read(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			if se := mismatch(path, old, *head.Settings); se != nil {
				return nil, se
			}
			if len(old.Results) > 0 {
				head.Results = old.Results
			}
		}
	}
	w := &Writer{path: path, records: RecordsPath(path), only: opt.RecordsOnly, file: head}
	if err := w.keepRecords(fresh); err != nil {
		return nil, err
	}
	if w.only {
		return w, nil
	}
	return w, WriteFile(path, &w.file)
}

// keepRecords makes the records file hold the records of the points kept, and no others:
// a point measured again, or records whose point never reached the result file (the run
// was stopped between the two writes), are dropped. With fresh it starts the file over.
// In RecordsOnly mode the file's own settings are checked, and the newest records of
// each point kept.
func (w *Writer) keepRecords(fresh bool) error {
	if fresh {
		if err := os.Remove(w.records); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("start %s over: %w", w.records, err)
		}
		return nil
	}
	groups, err := schema.ReadRecords(w.records)
	var ve *schema.VersionError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.As(err, &ve):
		return err
	case errors.Is(err, schema.ErrTruncated):
		// The points before the cut are whole; the one cut short is not in the result
		// file either (its records are written first).
	case err != nil:
		return fmt.Errorf("%w (-fresh starts it over)", err)
	}
	if w.only && len(groups) > 0 {
		if had := groups[len(groups)-1].Head.File.Settings; had == nil || len(had.Differences(*w.file.Settings)) > 0 {
			se := &SettingsError{Path: w.records}
			if had != nil {
				se.Differences = had.Differences(*w.file.Settings)
			}
			return se
		}
	}
	want := map[string]string{} // point key -> measured_at of the point kept
	for _, p := range w.file.Results {
		want[p.Key()] = p.MeasuredAt
	}
	last := map[string]int{}
	for i := range groups {
		last[groups[i].Head.Point.Key()] = i
	}
	var kept []schema.Group
	for i := range groups {
		p := &groups[i].Head.Point
		if w.only && last[p.Key()] == i || !w.only && want[p.Key()] == p.MeasuredAt && p.MeasuredAt != "" {
			kept = append(kept, groups[i])
		}
	}
	if len(kept) == len(groups) && err == nil {
		return nil
	}
	var buf bytes.Buffer
	for i := range kept {
		if err := schema.WriteGroup(&buf, &kept[i]); err != nil {
			return err
		}
	}
	return writeAtomic(w.records, buf.Bytes())
}

// Record computes the point of a measured group (Assemble), appends the group to the
// records file and then adds the point to the result file, so every point in the result
// file has its records on disk. In RecordsOnly mode only the records are written.
func (w *Writer) Record(g *schema.Group) (Point, error) {
	w.mu.Lock()
	if g.Head.Point.MeasuredAt == "" {
		g.Head.Point.MeasuredAt = time.Now().Format(TimeFormat)
	}
	g.Head.File = w.file
	g.Head.File.Results, g.Head.File.Definitions = nil, nil
	w.mu.Unlock()
	p, err := Assemble(g)
	if err != nil {
		return p, err
	}
	if err := appendGroup(w.records, g); err != nil {
		// The point is this run's all the same: its summary names it as not on disk.
		w.mu.Lock()
		w.remember(p)
		w.mu.Unlock()
		return p, err
	}
	if w.only {
		return p, nil
	}
	return p, w.Add(p)
}

// RecordsPath is the records file being written.
func (w *Writer) RecordsPath() string { return w.records }

// appendGroup appends g to the records file at path as one gzip member in one write,
// synced: a run stopped mid-write leaves the points before it whole (schema.ReadGroups).
func appendGroup(path string, g *schema.Group) error {
	var buf bytes.Buffer
	if err := schema.WriteGroup(&buf, g); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write records %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync records %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close records %s: %w", path, err)
	}
	return nil
}

// Add records a finished point (stamping MeasuredAt if unset) and rewrites the file.
func (w *Writer) Add(p Point) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.MeasuredAt == "" {
		p.MeasuredAt = time.Now().Format(TimeFormat)
	}
	w.remember(p)
	if w.only {
		return nil
	}
	return WriteFile(w.path, &w.file)
}

// remember puts p among the file's points and this run's, replacing an earlier
// measurement of the same point.
func (w *Writer) remember(p Point) {
	replace := func(pts []Point) []Point {
		for i, q := range pts {
			if q.Key() == p.Key() {
				pts[i] = p
				return pts
			}
		}
		return append(pts, p)
	}
	w.file.Results = replace(w.file.Results)
	w.added = replace(w.added)
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
