// Package terminal makes text that servegate did not write safe to print on a terminal.
// A server's error body or log line can hold escape sequences that recolour, move the
// cursor, rewrite the window title, hide the lines before them or (in some terminals)
// inject input; invisible bidirectional controls can make a line read other than it is.
// Everything that quotes a server's words runs them through Text first.
package terminal

import (
	"strings"
	"unicode/utf8"
)

// Text returns s with escape sequences and other control characters removed, keeping
// newlines and tabs; invalid UTF-8 becomes U+FFFD.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b: // ESC: drop the whole sequence, not only its first byte
			i += escapeLen(s[i:])
			continue
		case r == 0x9b: // C1 CSI: as ESC [
			i += n + csiLen(s[i+n:])
			continue
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case control(r):
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clean reports whether s needs no change (the common case costs no allocation).
func clean(s string) bool {
	for i, r := range s {
		if control(r) || r == 0x1b || r == 0x9b || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
	}
	return true
}

// control reports the characters dropped on their own: C0 but newline and tab, DEL, C1,
// and the bidirectional embedding, override and isolate controls.
func control(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// escapeLen is the length of the escape sequence at the start of s (which starts with ESC):
// CSI (ESC [ … final byte), OSC, DCS and the other string commands (… BEL or ESC \), or
// ESC and one character.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[':
		return 2 + csiLen(s[2:])
	case ']', 'P', 'X', '^', '_':
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
		}
		return len(s)
	}
	_, n := utf8.DecodeRuneInString(s[1:])
	return 1 + n
}

// csiLen is the length of a control sequence's parameters and final byte (0x40-0x7e).
func csiLen(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x40 && s[i] <= 0x7e {
			return i + 1
		}
		if s[i] < 0x20 || s[i] > 0x3f { // not a parameter or intermediate byte: malformed
			return i
		}
	}
	return len(s)
}
