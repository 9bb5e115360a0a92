package hypothesis

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/servegate/servegate/harness/results"
)

// Set is the result files of one model preset under a results directory: what a verdict is
// decided on when it is decided from files (the suite's -from, the dashboard).
type Set struct {
	Preset  string
	Results Results
	// Scale and Source are by framework: the scale its points were measured at and the file
	// they came from.
	Scale, Source map[string]string
}

// LoadSets reads every <dir>/<framework>/*_results.json (summary/ excepted: it holds the
// report's merged copy) and groups the files by preset and scale: a verdict compares runs
// of one shape. Two files of one framework in a group (another simulator profile or engine
// version beside it) are an error naming both: which to decide on is the user's choice.
func LoadSets(dir string) ([]Set, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*_results.json"))
	if err != nil {
		return nil, err
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return filepath.Base(filepath.Dir(p)) == "summary" })
	if len(paths) == 0 {
		return nil, fmt.Errorf("no result files under %s (expected %s/<framework>/<framework>_<preset>_results.json)", dir, dir)
	}
	byPreset := map[string]*Set{}
	for _, path := range paths {
		f, err := results.Read(path)
		if err != nil {
			return nil, err
		}
		if f.Framework == "" {
			return nil, fmt.Errorf("%s names no framework: not a servegate result file", path)
		}
		scale := f.Provenance.Scale
		if f.Settings != nil {
			scale = f.Settings.Scale
		}
		key := f.ModelPreset + "\x00" + scale
		set := byPreset[key]
		if set == nil {
			set = &Set{Preset: f.ModelPreset, Results: Results{}, Scale: map[string]string{}, Source: map[string]string{}}
			byPreset[key] = set
		}
		if prev, dup := set.Source[f.Framework]; dup {
			return nil, fmt.Errorf("%s and %s both hold %s results for preset %s at scale %q (another profile or engine version): "+
				"move one of them out of %s, or give its run its own -out", prev, path, f.Framework, f.ModelPreset, scale, dir)
		}
		set.Results[f.Framework] = f.Results
		set.Scale[f.Framework] = scale
		set.Source[f.Framework] = path
	}
	var out []Set
	for _, set := range byPreset {
		out = append(out, *set)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Preset != out[j].Preset {
			return out[i].Preset < out[j].Preset
		}
		return out[i].scale() < out[j].scale()
	})
	return out, nil
}

// scale is the scale of the set's runs (one: LoadSets groups by it).
func (s Set) scale() string {
	for _, v := range s.Scale {
		return v
	}
	return ""
}

// Frameworks lists the set's frameworks, sorted.
func (s Set) Frameworks() []string {
	fws := make([]string, 0, len(s.Results))
	for fw := range s.Results {
		fws = append(fws, fw)
	}
	sort.Strings(fws)
	return fws
}

// Decide decides h on the set: a cross-framework claim once; a single-framework claim for
// each framework of the set it is about, or once, as missing evidence, when there is
// none. Each verdict is stamped with the preset, the scale (several joined by "+", which a
// cross-framework claim must not mix) and the files it was decided on.
func (s Set) Decide(h Hypothesis) []Result {
	fws := s.Frameworks()
	stamp := func(res Result, fws ...string) Result {
		res.Preset = s.Preset
		var scales []string
		for _, fw := range fws {
			res.Sources = append(res.Sources, s.Source[fw])
			if !slices.Contains(scales, s.Scale[fw]) {
				scales = append(scales, s.Scale[fw])
			}
		}
		res.Scale = strings.Join(scales, "+")
		return res
	}
	if h.CrossFramework {
		return []Result{stamp(Evaluate(h, s.Results), fws...)}
	}
	about := slices.DeleteFunc(slices.Clone(fws), func(fw string) bool { return !h.About(fw) })
	if len(about) == 0 {
		res := stamp(Evaluate(h, Results{}))
		res.Framework = strings.Join(h.Frameworks, ",")
		res.Details += " among " + strings.Join(fws, ", ")
		return []Result{res}
	}
	out := make([]Result, 0, len(about))
	for _, fw := range about {
		res := stamp(Evaluate(h, Results{fw: s.Results[fw]}), fw)
		res.Framework = fw
		out = append(out, res)
	}
	return out
}
