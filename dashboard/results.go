package dashboard

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/hypothesis"
	"github.com/servegate/servegate/reporter"
	"github.com/servegate/servegate/reporter/compare"
)

// resultSet is one directory of results as the suite writes it with -out DIR:
// DIR/<framework>/*_results.json. Sets are found under the dashboard's results root; a set's
// report holds its own files only, not those of sets nested inside it.
type resultSet struct {
	// Name is the directory relative to the results root ("." for the root itself), and
	// Label what the pages call it (the root by its own name).
	Name, Label string
	Dir         string
	Files       []string
	Modified    time.Time
}

// Frameworks lists the framework directories of the set's files.
func (s resultSet) Frameworks() string {
	var out []string
	for _, f := range s.Files {
		fw := filepath.Base(filepath.Dir(f))
		if len(out) == 0 || out[len(out)-1] != fw {
			out = append(out, fw)
		}
	}
	return strings.Join(out, ", ")
}

// setDepth bounds how deep under the root sets are looked for.
const setDepth = 4

// findSets lists the result sets under root, the root first, then by name.
func findSets(root string) ([]resultSet, error) {
	byDir := map[string]*resultSet{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // an unreadable corner does not hide the rest
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if path != root && (d.Name() == "summary" || strings.HasPrefix(d.Name(), ".") || strings.Count(rel, string(filepath.Separator)) >= setDepth) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_results.json") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		dir := filepath.Dir(filepath.Dir(path))
		if rel == d.Name() { // a file directly in the root belongs to no framework directory
			return nil
		}
		s := byDir[dir]
		if s == nil {
			name, _ := filepath.Rel(root, dir)
			s = &resultSet{Name: filepath.ToSlash(name), Label: filepath.ToSlash(name), Dir: dir}
			if name == "." {
				s.Label = filepath.Base(root) + " (the results root)"
			}
			byDir[dir] = s
		}
		s.Files = append(s.Files, path)
		if fi, err := d.Info(); err == nil && fi.ModTime().After(s.Modified) {
			s.Modified = fi.ModTime()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("results directory %s: %w", root, err)
	}
	sets := make([]resultSet, 0, len(byDir))
	for _, s := range byDir {
		sort.Strings(s.Files)
		sets = append(sets, *s)
	}
	sort.Slice(sets, func(i, j int) bool {
		if (sets[i].Name == ".") != (sets[j].Name == ".") {
			return sets[i].Name == "."
		}
		return sets[i].Name < sets[j].Name
	})
	return sets, nil
}

// lookupSet returns the set named name; only sets found under the root can be named, so a
// request cannot point the dashboard at any other directory.
func lookupSet(sets []resultSet, name string) (resultSet, error) {
	for _, s := range sets {
		if s.Name == name {
			return s, nil
		}
	}
	return resultSet{}, fmt.Errorf("no result set %q under the results directory", name)
}

// compareSets compares new against base with the regression comparison: files paired by
// their path inside the set (framework/file), or the two files when each set has one.
func compareSets(base, cur resultSet, opt compare.Options) ([]compare.Change, error) {
	rel := func(s resultSet) map[string]string {
		m := map[string]string{}
		for _, f := range s.Files {
			r, _ := filepath.Rel(s.Dir, f)
			m[filepath.ToSlash(r)] = f
		}
		return m
	}
	b, n := rel(base), rel(cur)
	var pairs [][2]string
	for _, k := range sortedNames(b) {
		if other, ok := n[k]; ok {
			pairs = append(pairs, [2]string{b[k], other})
		}
	}
	if len(pairs) == 0 && len(base.Files) == 1 && len(cur.Files) == 1 {
		pairs = append(pairs, [2]string{base.Files[0], cur.Files[0]})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%s and %s share no result file to compare (pair runs of the same framework and preset)", base.Name, cur.Name)
	}
	var out []compare.Change
	for _, p := range pairs {
		cs, err := compare.Files(p[0], p[1], opt)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// report renders a set's HTML report with the reporter, as index.html would hold it, with
// the changes against base when one is given.
func report(set resultSet, base *resultSet, opt compare.Options) ([]byte, error) {
	runs, problems := reporter.LoadFiles(set.Files)
	if len(runs) == 0 {
		return nil, fmt.Errorf("no readable result file in %s: %v", set.Name, problems)
	}
	verdicts, vp := reporter.LoadVerdicts(filepath.Join(set.Dir, "summary"))
	var changes []compare.Change
	if base != nil {
		var err error
		if changes, err = compareSets(*base, set, opt); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	if err := reporter.Page(&b, runs, append(problems, vp...), verdicts, changes); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// decide re-decides every hypothesis on a set's result files as the suite's -from does
// (harness/hypothesis: per preset, each single-framework claim per framework).
func decide(set resultSet, overrides string) ([]hypothesis.Result, error) {
	hs, err := hypothesis.Load(overrides)
	if err != nil {
		return nil, err
	}
	sets, err := hypothesis.LoadSets(set.Dir)
	if err != nil {
		return nil, err
	}
	var out []hypothesis.Result
	for _, h := range hs {
		if h.Skip != "" {
			continue
		}
		for _, s := range sets {
			out = append(out, s.Decide(h)...)
		}
	}
	return out, nil
}

// exists says whether path is there.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
