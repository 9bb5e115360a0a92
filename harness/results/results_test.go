package results

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The original's readers index gpu_info without a check (data['gpu_info']['memory_used_mb']):
// without a GPU it is an object whose figures are null, and input_tokens is defined.
func TestFileKeepsTheOriginalShapeWithoutAGPU(t *testing.T) {
	b, err := json.Marshal(File{Framework: "sim", Definitions: map[string]string{}})
	require.NoError(t, err)
	var f map[string]any
	require.NoError(t, json.Unmarshal(b, &f))
	gpu, ok := f["gpu_info"].(map[string]any)
	require.True(t, ok, "gpu_info is an object: %s", b)
	for _, k := range []string{"memory_used_mb", "memory_total_mb", "gpu_utilization_pct"} {
		assert.Contains(t, gpu, k)
		assert.Nil(t, gpu[k], k)
	}
	w := open(t, Path(t.TempDir(), "sim", "p"), quick, Options{})
	written, err := Read(w.Path())
	require.NoError(t, err)
	assert.NotEmpty(t, written.Definitions["input_tokens"], "input_tokens is defined in every file")
}

// open opens a writer on path for a run with settings, closed when the test ends.
func open(t *testing.T, path string, set Settings, opt Options) *Writer {
	t.Helper()
	w, err := Open(context.Background(), path, File{Framework: "sim", ModelPreset: set.Preset, Settings: &set}, opt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

var quick = Settings{Scale: "quick", Preset: "gpt-oss-20b", Profile: "batching", TargetVersion: "sim-batching"}

func pt(sc, name string, ttft float64) Point {
	return Point{Scenario: sc, Point: name, Metrics: map[string]float64{"avg_ttft_ms": ttft}}
}

func TestWriterRewritesAtomicallyAfterEachPoint(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "sim", "gpt-oss-20b")
	assert.Equal(t, filepath.Join(dir, "sim", "sim_gpt-oss-20b_results.json"), path)
	w := open(t, path, quick, Options{})
	f, err := Read(path)
	require.NoError(t, err, "the file exists before the first point")
	assert.Empty(t, f.Results)
	assert.NotEmpty(t, f.Definitions["itl_ms"])
	assert.Equal(t, quick, *f.Settings)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"results": []`, "no point yet: an empty list, not null")

	require.NoError(t, w.Add(pt("concurrent", "c1", 1)))
	require.NoError(t, w.Add(pt("concurrent", "c8", 2)))
	require.NoError(t, w.Add(pt("concurrent", "c1", 3)))
	f, err = Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 2)
	assert.Equal(t, 3.0, f.Results[0].Metrics["avg_ttft_ms"], "a re-run point replaces its row")
	assert.NotEmpty(t, f.Results[0].MeasuredAt)
	require.NoError(t, w.Close())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary or lock files left behind")
}

// Two runs sharing a results directory keep each other's points (the TestSingle then
// TestKorean reproduction of the issue); -fresh starts over.
func TestRunsAccumulate(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	first := open(t, path, quick, Options{})
	require.NoError(t, first.Add(pt("single_request", "in128", 1)))
	require.NoError(t, first.Close())

	second := open(t, path, quick, Options{})
	require.NoError(t, second.Add(pt("korean", "ko", 2)))
	require.NoError(t, second.Add(pt("single_request", "in128", 3)))
	require.NoError(t, second.Close())
	f, err := Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 2, "both runs' points are kept")
	assert.Equal(t, "single_request", f.Results[0].Scenario)
	assert.Equal(t, 3.0, f.Results[0].Metrics["avg_ttft_ms"], "the newer measurement of a point replaces the older")
	assert.Len(t, second.Added(), 2)
	assert.Len(t, second.Points(), 2)

	fresh := open(t, path, quick, Options{Fresh: true})
	require.NoError(t, fresh.Add(pt("korean", "en", 4)))
	f, err = Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 1, "-fresh starts the file over")
}

func TestOtherSettingsAreNeverMixedIn(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	w := open(t, path, quick, Options{})
	require.NoError(t, w.Add(pt("concurrent", "c1", 1)))
	require.NoError(t, w.Close())
	for _, tc := range []struct {
		change func(*Settings)
		field  string
	}{
		{func(s *Settings) { s.Scale = "full" }, "scale"},
		{func(s *Settings) { s.Profile = "single-slot" }, "profile"},
		{func(s *Settings) { s.TargetVersion = "0.10.2" }, "target_version"},
	} {
		set := quick
		tc.change(&set)
		_, err := Open(context.Background(), path, File{Settings: &set}, Options{})
		var se *SettingsError
		require.ErrorAs(t, err, &se, tc.field)
		assert.ErrorContains(t, err, tc.field)
		f, err := Read(path)
		require.NoError(t, err)
		assert.Len(t, f.Results, 1, "the refused run left the file alone")
	}
	full := quick
	full.Scale = "full"
	w = open(t, path, full, Options{Fresh: true})
	require.NoError(t, w.Close())
	f, err := Read(path)
	require.NoError(t, err)
	assert.Empty(t, f.Results, "with -fresh the run replaces the file")
}

func TestARunUnderOtherSettingsGetsItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	base := Path(dir, "sim", "gpt-oss-20b")
	w := open(t, base, quick, Options{})
	require.NoError(t, w.Add(pt("concurrent", "c1", 1)))
	require.NoError(t, w.Close())

	full := quick
	full.Scale = "full"
	apart := func(set Settings, opt Options) (*Writer, *SettingsError) {
		t.Helper()
		w, moved, err := OpenApart(context.Background(), dir, File{Framework: "sim", ModelPreset: set.Preset, Settings: &set}, opt)
		require.NoError(t, err)
		t.Cleanup(func() { _ = w.Close() })
		return w, moved
	}
	for run := range 2 {
		w, moved := apart(full, Options{})
		require.NotNil(t, moved, "the quick file holds other settings")
		assert.ErrorContains(t, moved, `scale "quick" in the file, "full" in this run`)
		assert.Equal(t, filepath.Join(dir, "sim", "sim_gpt-oss-20b_full_batching_sim-batching_results.json"), w.Path())
		require.NoError(t, w.Add(pt("concurrent", fmt.Sprintf("c%d", 8*(run+1)), 2)))
		require.NoError(t, w.Close())
	}
	f, err := Read(SettingsPath(dir, "sim", full))
	require.NoError(t, err)
	assert.Len(t, f.Results, 2, "the full runs accumulate in their own file")
	f, err = Read(base)
	require.NoError(t, err)
	require.Len(t, f.Results, 1, "the quick file is left as it was")
	assert.Equal(t, "c1", f.Results[0].Point)

	w, moved := apart(quick, Options{})
	assert.Nil(t, moved)
	assert.Equal(t, base, w.Path(), "a run with the file's own settings adds to it")
	require.NoError(t, w.Close())
	w, moved = apart(full, Options{Fresh: true})
	assert.NotNil(t, moved)
	assert.Equal(t, SettingsPath(dir, "sim", full), w.Path(), "-fresh starts over the file of the run's own settings")
	require.NoError(t, w.Close())
	f, err = Read(SettingsPath(dir, "sim", full))
	require.NoError(t, err)
	assert.Empty(t, f.Results, "the earlier full runs' points are gone")
	f, err = Read(base)
	require.NoError(t, err)
	assert.Len(t, f.Results, 1, "the quick file is never started over by a full run")

	odd := Settings{Scale: "quick", Preset: "p", TargetVersion: "v1.0 (build/7)"}
	assert.Equal(t, filepath.Join(dir, "x", "x_p_quick_v1.0--build-7-_results.json"), SettingsPath(dir, "x", odd))
}

func TestAFileWithoutSettingsIsNotMixedIn(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	require.NoError(t, WriteFile(path, File{Framework: "sim", Results: []Point{pt("concurrent", "c1", 1)}}))
	_, err := Open(context.Background(), path, File{Settings: &quick}, Options{})
	var se *SettingsError
	require.ErrorAs(t, err, &se)
	assert.ErrorContains(t, err, "records no settings")
}

func TestASecondWriterIsRefusedNamingTheFirst(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	first := open(t, path, quick, Options{})
	_, err := Open(context.Background(), path, File{Settings: &quick}, Options{})
	var busy *BusyError
	require.ErrorAs(t, err, &busy)
	assert.ErrorContains(t, err, fmt.Sprintf("pid %d", os.Getpid()))
	assert.ErrorContains(t, err, path)
	require.NoError(t, first.Close())
	second := open(t, path, quick, Options{})
	require.NoError(t, second.Close())
}

func TestASecondWriterWaitsForTheFirst(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	first := open(t, path, quick, Options{})
	waiting := make(chan string, 1)
	got := make(chan error, 1)
	go func() {
		w, err := Open(context.Background(), path, File{Settings: &quick}, Options{Wait: time.Minute,
			Logf: func(format string, args ...any) { waiting <- fmt.Sprintf(format, args...) }})
		if err == nil {
			err = w.Close()
		}
		got <- err
	}()
	msg := <-waiting // said before the first lets go
	assert.Contains(t, msg, fmt.Sprintf("pid %d", os.Getpid()))
	require.NoError(t, first.Add(pt("concurrent", "c1", 1)))
	require.NoError(t, first.Close())
	require.NoError(t, <-got)
}

func TestWaitingStopsWithItsContext(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	open(t, path, quick, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, path, File{Settings: &quick}, Options{Wait: time.Hour})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestWriteFileIsReadableByAllAndFailsLoudly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	path := filepath.Join(dir, "sim_p_results.json")
	require.NoError(t, WriteFile(path, map[string]int{"a": 1}))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "like any file a user writes, not 0600")

	// The directory is replaced by a file: every write fails, for root too.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o644))
	err = WriteFile(path, map[string]int{"a": 2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
}

func TestReadNamesTheBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"results": [`), 0o644))
	_, err := Read(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}

func TestUpdateWaitsForTheFilesLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary", "hypotheses.json")
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Update(context.Background(), path, time.Second, func() error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err := Update(context.Background(), path, 0, func() error { return nil })
	var busy *BusyError
	require.ErrorAs(t, err, &busy, "the lock is held: no waiting allowed")
	ran := false
	go func() { close(release) }()
	require.NoError(t, Update(context.Background(), path, time.Minute, func() error { ran = true; return nil }))
	assert.True(t, ran)
	require.NoError(t, <-done)
}
