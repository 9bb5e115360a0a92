package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPromptTokensMatchesIDs(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "안녕하세요, world!"}}
	assert.Equal(t, len(promptIDs(msgs, nil)), PromptTokens(msgs))
}

func TestPrefixCache(t *testing.T) {
	c := newPrefixCache(4, 3)
	ids := func(xs ...uint64) []uint64 { return xs }
	a := ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	ka := c.blockKeys(a)
	require.Len(t, ka, 2, "two full blocks of four")
	assert.Equal(t, 0, c.match(ka, len(a)))
	c.insert(ka)
	assert.Equal(t, 8, c.match(ka, len(a)), "both blocks cached")
	// Same second block after a different first block: chained keys do not match.
	b := ids(9, 9, 9, 9, 5, 6, 7, 8, 0)
	assert.Equal(t, 0, c.match(c.blockKeys(b), len(b)))
	// A fully cached prompt still computes its last block.
	assert.Equal(t, 4, c.match(ka, 8))
	// Capacity 3: inserting two more blocks evicts the least recently used.
	c.insert(c.blockKeys(b))
	assert.Equal(t, 3, c.lru.Len())
	c.reset()
	assert.Equal(t, 0, c.match(ka, len(a)))
}

func TestStepTime(t *testing.T) {
	p := Profiles()["batching"]
	assert.Equal(t, p.DecodeBase, p.stepTime(1, 0))
	assert.Equal(t, p.DecodeBase+63*p.DecodePerSeq, p.stepTime(64, 0))
	assert.Equal(t, p.PrefillBase+1000*p.PrefillPerToken, p.stepTime(0, 1000))
	assert.Greater(t, p.stepTime(64, 0), p.stepTime(1, 0), "decode grows with batch")
}

func TestProfiles(t *testing.T) {
	for name, p := range Profiles() {
		assert.Equal(t, name, p.Name)
		assert.NoError(t, p.validate(), name)
	}
	_, err := LookupProfile("turbo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batching-nocache")
	bad := Profiles()["batching"]
	bad.MaxBatch = 0
	assert.Error(t, bad.validate())
	_, err = Start(Config{Profile: Profiles()["batching"], Mimic: "tgi"})
	assert.ErrorContains(t, err, `cannot mimic "tgi": choose one of vllm, sglang, ollama`)
}

func TestAppendJSONString(t *testing.T) {
	assert.Equal(t, `"a\"b\\c\nd\u0001é"`, string(appendJSONString(nil, "a\"b\\c\nd\x01é")))
}

func TestMonoTruthRoundTrip(t *testing.T) {
	now := time.Now()
	truth := RequestTruth{ID: "x", Arrived: now, Generated: []time.Time{now.Add(time.Millisecond)},
		Emitted: []Emit{{At: now.Add(2 * time.Millisecond), Tokens: 3}}}
	back := truth.Mono().Local()
	assert.Equal(t, time.Duration(0), back.Arrived.Sub(now))
	assert.Equal(t, 2*time.Millisecond, back.Emitted[0].At.Sub(now))
	assert.Equal(t, 3, back.Emitted[0].Tokens)
	assert.True(t, back.Admitted.IsZero(), "an unset time stays unset")
}

// Each preset's step times reproduce the published figures they were fitted to, and an
// unknown preset names those the simulator knows.
func TestPresetSpeedsReproduceTheirSources(t *testing.T) {
	perSec := func(p Profile, batch int) float64 { return float64(batch) / p.stepTime(batch, 0).Seconds() }
	oss, err := LookupProfileAt("batching", "gpt-oss-20b")
	require.NoError(t, err)
	// GPUStack: 4,620 output tok/s at a mean TPOT of 48.6 ms, about 224 sequences a step.
	assert.InDelta(t, 48.6, float64(oss.stepTime(224, 0).Microseconds())/1000, 0.5)
	assert.InDelta(t, 4620, perSec(oss, 224), 60)
	assert.InDelta(t, 16000, 1/oss.PrefillPerToken.Seconds(), 1, "prefill ~16k tokens/s")
	llama, err := LookupProfileAt("batching", "llama3.1-8b")
	require.NoError(t, err)
	// Musgrave: ~75 tok/s at concurrency 1, 6.6x that at 8.
	assert.InDelta(t, 75, perSec(llama, 1), 1)
	assert.InDelta(t, 6.6, perSec(llama, 8)/perSec(llama, 1), 0.1)
	assert.Equal(t, "llama3.1-8b", llama.Speed.Name)
	assert.Contains(t, llama.Speed.Source, "Musgrave")

	slow, err := LookupProfileAt("slow-decode", "llama3.1-8b")
	require.NoError(t, err)
	assert.Equal(t, 2*llama.DecodeBase, slow.DecodeBase, "a profile keeps its difference at every speed")
	_, err = LookupProfileAt("batching", "tiny")
	assert.ErrorContains(t, err, `no published speed for preset "tiny": choose one of fast, gpt-oss-20b, llama3.1-8b`)
}
