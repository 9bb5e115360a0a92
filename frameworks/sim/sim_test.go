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
