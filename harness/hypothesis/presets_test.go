package hypothesis

import (
	"sync"
	"testing"

	"github.com/servegate/servegate/harness/scenario"
	"github.com/stretchr/testify/assert"
)

// At each preset's published speed (what make bench measures), with the suite's quick
// shapes, the default profile lets every gate decide and the profiles that flip it on the
// fast test engine still flip it: the thresholds are no artefact of the test engine, whose
// prefill is far cheaper against decode than any model's. H1, H3 and H4 weigh prefill
// against decode, so they run at both presets' speeds; H2 and H5 compare decode with
// decode, and run at the default preset's. (A uniformly faster engine would decide alike in
// less time, but below about 2 ms a step is dominated by timer overhead: decode-only ratios
// then stop flipping.)
func TestDefaultsDecideAtEveryPresetSpeed(t *testing.T) {
	type flip struct {
		id, sc     string
		points     []string
		shape      func(*scenario.Point) // both sides
		failShape  func(*scenario.Point) // the failing side, after shape
		pass, fail string                // profiles
		failFlags  []string              // more servegate-sim flags for the failing side
		trials     int
		presets    []string
		// acrossEngine: the claim compares two engines (H2), the passing profile against
		// itself and against the failing one.
		acrossEngine bool
	}
	both := []string{"gpt-oss-20b", "llama3.1-8b"}
	flips := []flip{
		// One wave at c64 with the quick shape's 32 output tokens: at a real prefill cost, 64
		// prompts prefilled at once outweigh 8 tokens of decode (3.5x at gpt-oss-20b's speed:
		// a fail), so shorter answers would test the shape, not the engine. The single-slot
		// engine serves one request at a time whatever the shape: 8 tokens show it sooner.
		{id: "H1", sc: "concurrent", points: []string{"c1", "c64"}, pass: "batching", fail: "single-slot", trials: 3, presets: both,
			shape:     func(p *scenario.Point) { p.Requests = min(p.Requests, max(p.Concurrency, 4)) },
			failShape: func(p *scenario.Point) { p.OutputTokens = 8 }},
		{id: "H2", sc: "single", points: []string{"in128"}, pass: "batching", fail: "slow-decode", trials: 3,
			presets: both[:1], acrossEngine: true},
		{id: "H3", sc: "long_context", points: []string{"in2048_c1", "in4096_c1", "in4096_c4"}, pass: "batching", fail: "batching",
			trials: 3, presets: both, failFlags: []string{"-max-model-len", "4000"},
			shape: func(p *scenario.Point) { p.Warmup, p.Requests = 0, max(p.Requests, 3) }},
		{id: "H4", sc: "prefix_cache", points: []string{"shared", "control"}, pass: "batching", fail: "batching-nocache",
			trials: 3, presets: both, shape: func(p *scenario.Point) { p.Requests = 6 }},
		{id: "H5", sc: "korean", points: []string{"en", "ko"}, pass: "batching", fail: "korean-slow", trials: 5,
			presets: both[:1], shape: func(p *scenario.Point) { p.Requests, p.OutputTokens = 8, 16 }},
	}
	// All at once, not t.Parallel's GOMAXPROCS at a time: the simulators mostly sleep, and
	// the longest case alone takes most of a minute.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, f := range flips {
		for _, preset := range f.presets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(preset+"/"+f.id, func(t *testing.T) {
					var pts, failPts []scenario.Point
					for _, name := range f.points {
						p := pick(t, f.sc, name)
						if f.shape != nil {
							f.shape(&p)
						}
						pts = append(pts, p)
						if f.failShape != nil {
							f.failShape(&p)
						}
						failPts = append(failPts, p)
					}
					good := measureAt(t, preset, f.pass, nil, f.trials, f.sc, pts...)
					bad := measureAt(t, preset, f.fail, f.failFlags, f.trials, f.sc, failPts...)
					passing, failing := Results{"sim": good}, Results{"sim": bad}
					if f.acrossEngine {
						passing = Results{"a": good, "b": measureAt(t, preset, f.pass, nil, f.trials, f.sc, pts...)}
						failing = Results{"a": good, "b": bad}
					}
					assert.Equal(t, Pass, verdict(t, f.id, passing).Verdict, "%s at %s's speed, profile %s", f.id, preset, f.pass)
					assert.Equal(t, Fail, verdict(t, f.id, failing).Verdict, "%s at %s's speed, profile %s", f.id, preset, f.fail)
				})
			}()
		}
	}
}
