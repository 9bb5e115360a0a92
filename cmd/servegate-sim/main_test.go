package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAPresetIsServedUnderItsHuggingFaceIDToo(t *testing.T) {
	assert.Equal(t, []string{"llama3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "other"}, servedNames("llama3.1-8b,other"))
	assert.Equal(t, []string{"sim-model"}, servedNames("sim-model"))
}
