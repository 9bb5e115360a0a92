package ports

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestForListeningLiesOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := ForListening()
	assert.GreaterOrEqual(t, hi-lo, 999, "room for a thousand ports")
	assert.GreaterOrEqual(t, lo, 20000)
	assert.LessOrEqual(t, hi, 65535)
	if elo, ehi, ok := Ephemeral(); ok {
		t.Logf("ephemeral %d-%d, listening %d-%d", elo, ehi, lo, hi)
		assert.True(t, hi < elo || lo > ehi, "%d-%d overlaps the ephemeral %d-%d", lo, hi, elo, ehi)
	}
}

func TestForListeningAroundEachRange(t *testing.T) {
	for _, tc := range []struct {
		elo, ehi int
		ok       bool
		lo, hi   int
	}{
		{32768, 60999, true, 20000, 32767}, // Linux's default
		{49152, 65535, true, 20000, 32767}, // the IANA range
		{1024, 40000, true, 40001, 65535},  // widened downwards
		{1024, 65535, true, 20000, 32767},  // no room: the bind check must tell
		{0, 0, false, 20000, 32767},        // not Linux
		{25000, 30000, true, 20000, 24999},
	} {
		lo, hi := forListening(tc.elo, tc.ehi, tc.ok)
		assert.Equal(t, [2]int{tc.lo, tc.hi}, [2]int{lo, hi}, "ephemeral %d-%d (%v)", tc.elo, tc.ehi, tc.ok)
	}
}
