package tokens

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCount(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello", 2},        // "hell" "o"
		{"hello world", 4},  // "hell" "o" " wor" "ld"
		{"a, b.", 4},        // "a" "," " b" "."
		{"  x", 2},          // " " " x"
		{"한국어", 3},          // one per syllable
		{"GPU 80GB\n", 3},   // "GPU" " 80GB" "\n"
		{"tokenization", 3}, // "toke" "niza" "tion"
		{"안녕 hi", 3},        // "안" "녕" " hi": the space rides on the word
	}
	for _, tc := range tests {
		n := 0
		Each(tc.text, func(string) { n++ })
		assert.Equal(t, tc.want, Count(tc.text), "Count(%q)", tc.text)
		assert.Equal(t, tc.want, n, "Each(%q)", tc.text)
	}
	en, ko := "The model serves tokens quickly.", "모델이 토큰을 빠르게 생성합니다."
	assert.Greater(t, float64(Count(ko))/float64(len([]rune(ko))), float64(Count(en))/float64(len([]rune(en))),
		"Korean costs more tokens per character")
}

func TestPromptCountsTheTemplate(t *testing.T) {
	assert.Equal(t, BOS+AssistantHeader, Prompt())
	assert.Equal(t, BOS+AssistantHeader+2*PerMessage+Count("Be brief.")+Count("hi"), Prompt("Be brief.", "hi"))
}
