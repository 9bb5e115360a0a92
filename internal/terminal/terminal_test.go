package terminal

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "HTTP 500: internal error", "HTTP 500: internal error"},
		{"newlines and tabs kept", "line 1\n\tline 2", "line 1\n\tline 2"},
		{"unicode kept", "안녕하세요 ± ✓", "안녕하세요 ± ✓"},
		{"colour", "\x1b[31mERROR\x1b[0m boom", "ERROR boom"},
		{"clear screen and home", "\x1b[2J\x1b[Hfake prompt", "fake prompt"},
		{"window title (OSC, BEL)", "\x1b]0;owned\x07text", "text"},
		{"hyperlink (OSC, ST)", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"carriage return hides what came before", "real error\rfake line", "real errorfake line"},
		{"backspace and bell", "ab\bc\x07", "abc"},
		{"C1 CSI", "a\u009b31mb", "ab"},
		{"bidi override", "evil\u202egnp.exe", "evilgnp.exe"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"lone ESC at end", "a\x1b", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, Text(tc.in)) })
	}
}
